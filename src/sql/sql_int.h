/*
** Private header of the SQL module: tokens, AST, bound expressions, vectors,
** chunks and operators. Everything a statement allocates while being parsed,
** bound and planned lives in one arena owned by its sql_query (or by the
** caller of sql_explain) and goes away with it; run-time buffers (vectors,
** hash tables, sort buffers) are owned by the operator that fills them.
*/
#ifndef QUIVER_SQL_INT_H
#define QUIVER_SQL_INT_H

#include "sql/sql.h"

#include <pthread.h>

/* ---------------- arena ---------------- */
typedef struct arena_blk arena_blk;
typedef struct arena {
    arena_blk *head;
    size_t used, cap;
} arena;
void arena_init(arena *a);
void arena_free(arena *a);
void *arena_alloc(arena *a, size_t n); /* zeroed, 16-aligned */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);

/* ---------------- lexer ---------------- */
typedef enum {
    TK_EOF, TK_IDENT, TK_QIDENT, TK_INT, TK_FLOAT, TK_STRING, TK_OP, TK_ERROR, TK_PARAM /* $N */
} tk_kind;

typedef struct token {
    tk_kind kind;
    const char *p;   /* points into the statement text */
    int len;
    int line, col;
    char *text;      /* IDENT/QIDENT/STRING: unescaped, NUL-terminated (arena) */
} token;

/* Tokenizes all of text; the last token is TK_EOF. Error: QV_EINVAL with line:column. */
int lex_all(arena *ar, const char *text, size_t len, token **out, int *n, qv_err *err);
bool tok_is_kw(const token *t, const char *kw);
bool tok_is_op(const token *t, const char *op);

/* ---------------- AST ---------------- */
typedef enum {
    A_INT, A_FLOAT, A_STR, A_BOOL, A_NULL, A_TSLIT, A_INTERVAL,
    A_COL, A_STAR, A_UNARY, A_BINARY, A_FUNC, A_CASE, A_CAST, A_IN,
    A_BETWEEN, A_LIKE, A_ISNULL, A_EXTRACT, A_PARAM /* ? or $N: ival = N */,
    A_SUBQ /* (SELECT ...) as a value */, A_EXISTS /* EXISTS (SELECT ...) */
} ast_kind;

typedef struct select_stmt select_stmt;
typedef struct win_spec win_spec;

typedef enum {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_IDIV, OP_MOD, OP_CONCAT,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_AND, OP_OR, OP_NOT, OP_NEG
} op_kind;

typedef struct ast {
    ast_kind kind;
    int op;
    char *name;       /* column / function / literal text / extract field */
    char *qual;       /* table qualifier of a column or star */
    int64_t ival;     /* A_INT, A_BOOL, A_INTERVAL (ns), A_TSLIT (ns) */
    double fval;
    bool neg;         /* NOT IN / NOT BETWEEN / NOT LIKE / IS NOT NULL */
    bool distinct;    /* count(DISTINCT x) */
    bool star;        /* count(*) */
    bool has_operand; /* CASE x WHEN ... */
    bool has_else;
    bool ilike;
    qv_type cast_type;
    struct ast **args;
    int nargs;
    select_stmt *sub; /* A_SUBQ, A_EXISTS, A_IN with a subquery (then nargs == 1) */
    char **names;     /* A_STAR: EXCLUDE names, then REPLACE target names (of args) */
    int nexcl;
    int line, col;
    int height;       /* 1 + tallest child; bounded so binding/evaluation recursion is too */
    int norder;       /* A_FUNC: the last norder args are ORDER BY keys (string_agg(x, s ORDER BY y)) */
    uint32_t order_desc; /* A_FUNC: bit i set = ORDER BY key i is DESC */
    win_spec *over;   /* A_FUNC: f(...) OVER (...) / OVER w (parser/parse_window.c) */
    bool ignore_nulls; /* A_FUNC: first_value(x IGNORE NULLS) */
} ast;

typedef struct sel_item {
    ast *e;
    char *alias;
} sel_item;

typedef struct order_item {
    ast *e;
    bool desc;
    int nulls_first; /* -1 default */
} order_item;

/* A window: OVER ([base] [PARTITION BY ...] [ORDER BY ...] [frame]) or OVER base. */
typedef enum { WB_NONE, WB_UNB_PREC, WB_PREC, WB_CURRENT, WB_FOLL, WB_UNB_FOLL } win_bound;
typedef enum { WF_DEFAULT, WF_ROWS, WF_RANGE, WF_GROUPS } win_frame;
struct win_spec {
    char *base;           /* a named window this one refers to or extends, NULL none */
    ast **part;
    int npart;
    order_item *order;
    int norder;
    win_frame frame;      /* WF_DEFAULT: no frame clause */
    win_bound start, end;
    ast *start_off, *end_off; /* WB_PREC / WB_FOLL offsets */
    int line, col;
};
typedef struct win_named {
    char *name;
    win_spec *spec;
} win_named;
bool win_spec_equal(const win_spec *a, const win_spec *b);

/* FROM name(args) [[AS] alias [(column, ...)]]: a table function call
   (functions/table_funcs.c). The parser wraps it as the subquery
   `SELECT * FROM name(args)` (a select_stmt with tfunc set), so every place
   that takes a subquery takes a table function. */
typedef struct tfunc_call {
    char *name;
    ast **args;
    int nargs;
    char *alias;          /* names the single output column when no column list */
    char **colnames;      /* column aliases (NULL when none) */
    int ncolnames;
    int line, col;
} tfunc_call;

/* FROM clause with joins: a tree of tables, subqueries and joins. */
typedef enum { FR_TABLE, FR_SUB, FR_JOIN } from_kind;
typedef enum { JT_INNER, JT_LEFT, JT_RIGHT, JT_FULL, JT_CROSS, JT_SEMI, JT_ANTI } join_type;
typedef struct from_item from_item;
struct from_item {
    from_kind kind;
    char *table;          /* FR_TABLE */
    select_stmt *sub;     /* FR_SUB (a CTE reference too) */
    char *alias;
    int line, col;
    join_type jt;         /* FR_JOIN */
    from_item *l, *r;
    ast *on;
    char **using_cols;
    int nusing;
    bool asof;            /* ASOF [LEFT|RIGHT|FULL] JOIN (planner/asof_plan.c) */
};

/* Set operations: setop != 0 makes the statement set_l <op> set_r, with
   order/limit/offset over the whole and no select list of its own. */
enum { SET_NONE, SET_UNION, SET_INTERSECT, SET_EXCEPT };

struct select_stmt {
    bool distinct;
    sel_item *items;
    int nitems;
    bool has_from;
    char *table;          /* FROM table, or NULL when a subquery */
    int table_line, table_col;
    select_stmt *sub;
    char *alias;
    ast *where;
    ast **group;
    int ngroup;
    ast *having;
    order_item *order;
    int norder;
    int64_t limit;  /* -1 none */
    int64_t offset;
    from_item *from;      /* joins (table/sub/alias above are unset then) */
    int setop;
    bool set_all;
    select_stmt *set_l, *set_r;
    bool group_all;       /* GROUP BY ALL */
    bool order_all;       /* ORDER BY ALL [ASC|DESC]: order[0] holds the direction, e NULL */
    ast **distinct_on;    /* SELECT DISTINCT ON (...) */
    int ndistinct_on;
    ast ***gsets;         /* GROUPING SETS / ROLLUP / CUBE: each set's keys (group holds them all) */
    int *gset_n, ngsets;
    ast *qualify;         /* QUALIFY predicate over window results */
    win_named *windows;   /* WINDOW w AS (...), ... */
    int nwindows;
    tfunc_call *tfunc;    /* FROM a table function (the parser's wrapper; table/sub unset) */
};

typedef enum { S_SELECT, S_CREATE, S_DROP, S_INSERT, S_SHOW, S_DESCRIBE, S_EXPLAIN, S_TRUNCATE, S_RETENTION, S_DELETE } stmt_kind;

typedef struct stmt stmt;
struct stmt {
    stmt_kind kind;
    select_stmt *sel;     /* SELECT, INSERT ... SELECT */
    char *table;
    bool if_flag;         /* IF NOT EXISTS / IF EXISTS */
    qv_schema schema;     /* CREATE (freed by stmt_free) */
    bool has_schema;
    char **cols;          /* INSERT column list */
    int ncols;
    ast ***rows;          /* INSERT VALUES */
    int nrows, rowlen;
    stmt *inner;          /* EXPLAIN */
    int nparams;          /* highest placeholder number ($N, or the count of ?) */
    int64_t interval_ns;  /* ALTER TABLE .. SET RETENTION (0: NONE) */
    char *column;         /* ALTER TABLE .. SET RETENTION .. ON column (NULL: first TIMESTAMP) */
};

int parse_stmt(arena *ar, const char *text, size_t len, stmt **out, qv_err *err);
void stmt_free(stmt *s);
bool ast_equal(const ast *a, const ast *b);

/* ---------------- types and values ---------------- */
/* Internal types beyond qv_type. */
#define T_NULL ((qv_type)(QV_T__COUNT + 1))
#define T_INTERVAL ((qv_type)(QV_T__COUNT + 2))

/* Physical class of a logical type inside the executor. */
typedef enum { PC_I, PC_F, PC_S } phys_class;
static inline phys_class type_pc(qv_type t) {
    if (t == QV_T_FLOAT32 || t == QV_T_FLOAT64) return PC_F;
    if (t == QV_T_STRING || t == QV_T_SYMBOL) return PC_S;
    return PC_I;
}
static inline bool type_is_int(qv_type t) { return t == QV_T_INT32 || t == QV_T_INT64; }
static inline bool type_is_num(qv_type t) {
    return t == QV_T_INT32 || t == QV_T_INT64 || t == QV_T_FLOAT32 || t == QV_T_FLOAT64;
}
const char *type_name(qv_type t);

typedef struct sv { const char *p; int32_t n; } sv;

typedef struct value {
    bool null;
    int64_t i;
    double f;
    sv s;
} value;

/* ---------------- time helpers ---------------- */
int ts_parse(const char *s, size_t n, int64_t *out);   /* 0 ok, -1 bad */
int interval_parse(const char *s, size_t n, int64_t *out);
int interval_unit_ns(const char *unit, int64_t *out);
bool interval_unit_calendar(const char *unit); /* month, year, ...: no fixed length, so no INTERVAL */
void ts_format(int64_t ns, char *buf, size_t cap);
int64_t ts_extract(int64_t ns, int field);
int64_t ts_trunc(int64_t ns, int field);
/* Field names for extract/date_trunc; -1 unknown. */
typedef enum ts_field { TF_YEAR, TF_QUARTER, TF_MONTH, TF_WEEK, TF_DAY, TF_HOUR, TF_MINUTE, TF_SECOND,
       TF_MILLISECOND, TF_MICROSECOND, TF_NANOSECOND, TF_DOW, TF_DOY, TF_EPOCH,
       TF_ISODOW, TF_ISOYEAR, TF_YEARWEEK, TF_DECADE, TF_CENTURY, TF_MILLENNIUM, TF_ERA,
       TF_JULIAN, TF_TIMEZONE, TF_TIMEZONE_HOUR, TF_TIMEZONE_MINUTE, TF__COUNT } ts_field;
int ts_field_parse(const char *s);
bool ts_field_truncates(int f);   /* date_trunc accepts it */
bool ts_field_is_double(int f);   /* epoch, julian: date_part gives DOUBLE */
const char *ts_field_name(int f);
double ts_extract_f(int64_t ns, int field);

/* ---------------- vectors and chunks ---------------- */
#define CHUNK 2048

typedef struct vec {
    qv_type type;   /* logical type */
    int n;
    bool has_nulls;
    uint8_t *nulls; /* 1 = null; cap entries */
    int64_t *i;
    double *f;
    sv *s;
    int cap;
    void *heap;     /* owned blocks holding computed strings; never moved */
    bool borrowed;  /* arrays belong to another vec (valid while that one is unchanged) */
    /* A scan's SYMBOL column arrives as dictionary codes (s is not filled):
       codes[k] indexes dict; symc remembers constants' codes per dictionary. */
    const int32_t *codes;
    const qv_array *dict;
    struct sym_cache *symc;
} vec;

/* Codes of string constants in one dictionary, owned by the scan that reads
   it. The dictionary is append-only, so an entry stays valid while the
   dictionary's buffer and length are the ones it was found in. */
typedef struct sym_cache {
    const void *buf;
    int64_t len;
    int n;
    struct { const char *p; int32_t n, code; } ent[16];
} sym_cache;
/* Code of s in v's dictionary, or -1 when absent. */
int32_t vec_sym_code(const vec *v, sv s);
/* String of row r of a code vector. */
static inline sv vec_sym_str(const vec *v, int r) {
    const int32_t *o = (const int32_t *)v->dict->values->data + v->dict->offset;
    const char *d = v->dict->data ? (const char *)v->dict->data->data : "";
    int32_t c = v->codes[r];
    return (sv){d + o[c], o[c + 1] - o[c]};
}

void vec_init(vec *v, qv_type t);
void vec_free(vec *v);
void vec_reset(vec *v, qv_type t, int n); /* n rows, all valid, heap emptied */
static inline bool vec_null(const vec *v, int k) { return v->has_nulls && v->nulls[k]; }
static inline void vec_set_null(vec *v, int k) { v->has_nulls = true; v->nulls[k] = 1; }
/* String of row r of a string vector, plain or dictionary codes. */
static inline sv vec_str_at(const vec *v, int64_t r) { return v->codes ? vec_sym_str(v, (int)r) : v->s[r]; }
/* Row r of src into row i of a store vector (a join's or ASOF join's build
   side): NULL (a T_NULL source too) or the value, strings copied into dst's
   heap, dictionary codes resolved. */
void vec_store_row(vec *dst, int64_t i, const vec *src, int r);
/* Copy bytes into v's heap and point row k at them. */
void vec_set_str(vec *v, int k, const char *p, int32_t n);
char *vec_heap_alloc(vec *v, size_t n);
/* Append row k of src to dst's row j (same class); strings copied to dst's heap. */
void vec_copy_row(vec *dst, int j, const vec *src, int k);
void vec_grow(vec *v, int cap); /* keeps contents */
/* Make dst a read-only view of src's arrays (no copy). */
void vec_borrow(vec *dst, const vec *src);

typedef struct chunk {
    int ncols;
    vec *cols;
    int n;        /* rows in the vectors */
    int *sel;     /* active rows (indices < n) when has_sel */
    int nsel;
    bool has_sel;
    bool all_pass; /* a scan's chunk whose row group's min/max prove every pruning predicate true */
} chunk;

void chunk_init(chunk *c, int ncols, const qv_type *types);
void chunk_free(chunk *c);
static inline int chunk_active(const chunk *c) { return c->has_sel ? c->nsel : c->n; }
static inline int chunk_row(const chunk *c, int k) { return c->has_sel ? c->sel[k] : k; }

/* ---------------- bound expressions ---------------- */
typedef enum {
    B_CONST, B_COL, B_UNARY, B_BINARY, B_FUNC, B_CASE, B_CAST, B_IN, B_LIKE,
    B_ISNULL, B_COALESCE, B_EXTRACT, B_TRUNC,
    B_PARAM /* placeholder op = N (1-based); evaluates like B_CONST with cval set by sql_query_bind */,
    B_SUBQ  /* scalar subquery or EXISTS: cval set by its init plan before the main plan runs */,
    B_INSUB /* args[0] [NOT] IN (subquery): aux is the init plan's value set */
} bexpr_kind;

typedef struct bexpr bexpr;
struct bexpr {
    bexpr_kind kind;
    qv_type type;
    char tz[32];
    int op;        /* op_kind or func_id or ts field */
    int col;       /* B_COL */
    value cval;    /* B_CONST */
    bool neg, has_operand, has_else, ilike;
    bexpr **args;
    int nargs;
    const struct sfunc_def *fn; /* B_FUNC: its descriptor (functions/functions.h) */
    void *aux;     /* B_FUNC: per-query data of the call (arena), e.g. a compiled pattern; B_INSUB: struct value_set */
};

/* B_CONST op: the constant was written as a decimal literal (1.25), which
   DuckDB reads as a DECIMAL: rounding and casts treat it as its decimal text. */
#define BC_DECIMAL_LIT 1
static inline bool bexpr_is_decimal_lit(const bexpr *e) {
    if (e->kind == B_UNARY && e->op == OP_NEG) e = e->args[0];
    return e->kind == B_CONST && e->op == BC_DECIMAL_LIT;
}
int expr_eval(const bexpr *e, const chunk *in, vec *out, qv_err *err);
/* Rows of in's active rows for which e is true (not NULL), as chunk row
   indices in sel (CHUNK entries); returns their count, or -1 with err set.
   tmp is scratch for the general case. */
int expr_select(const bexpr *e, const chunk *in, vec *tmp, int *sel, qv_err *err);
/* B_FUNC over already evaluated arguments (func.c). */
int func_eval(const bexpr *e, vec *args, int n, vec *out, qv_err *err);
/* Evaluate on one constant row (no input): for VALUES and folding. */
int expr_eval_const(const bexpr *e, vec *out, qv_err *err);

/* ---------------- aggregates ---------------- */
/* Aggregate ids index the descriptor table agg_defs (functions/functions.h). */
typedef enum { AG_COUNT_STAR, AG_COUNT, AG_SUM, AG_AVG, AG_MIN, AG_MAX, AG_FIRST,
               AG_LAST, AG_STDDEV, AG_VARIANCE, AG_STDDEV_POP, AG_VAR_POP,
               AG_MEDIAN, AG_QUANTILE_CONT, AG_QUANTILE_DISC, AG_MODE, AG_ARG_MIN, AG_ARG_MAX,
               AG_STRING_AGG, AG_BOOL_AND, AG_BOOL_OR, AG_APPROX_COUNT_DISTINCT, AG_COUNT_IF,
               AG_PRODUCT, AG_CORR, AG_COVAR_POP, AG_COVAR_SAMP, AG_REGR_SLOPE, AG_REGR_INTERCEPT,
               AG__COUNT } agg_id;

#define AGG_MAXIN 8
typedef struct agg_spec {
    agg_id fn;
    bool distinct;
    bexpr *arg;       /* NULL for count(*); else in[0] */
    bexpr *in[AGG_MAXIN]; /* every input: the arguments, then ORDER BY keys */
    int nin, norder;  /* the last norder inputs are ORDER BY keys */
    bool order_desc[AGG_MAXIN];
    double param;     /* quantile fraction */
    sv sep;           /* string_agg separator */
    qv_type type;     /* result type */
    char tz[32];
} agg_spec;

/* ---------------- window functions ---------------- */
/* Window function ids index the executor's table (exec/window/win_funcs.c). */
typedef enum { WFN_ROW_NUMBER, WFN_RANK, WFN_DENSE_RANK, WFN_PERCENT_RANK, WFN_CUME_DIST, WFN_NTILE,
               WFN_LAG, WFN_LEAD, WFN_FIRST_VALUE, WFN_LAST_VALUE, WFN_NTH_VALUE, WFN_EMA, WFN_AGG,
               WFN__COUNT } win_fn;
/* win_fn of a window-only function name (row_number, lag, ema, ...), or -1. */
int win_fn_lookup(const char *name);
const char *win_fn_name(win_fn f);

/* One bound window call: expressions over the window operator's input. */
typedef struct win_call {
    win_fn fn;
    agg_spec agg;         /* WFN_AGG */
    bexpr *arg, *dflt;    /* the value argument; lag/lead's default (NULL: NULL) */
    int64_t n;            /* lag/lead offset, nth_value's n, ntile's buckets */
    double alpha;         /* ema */
    bool ignore_nulls;
    bexpr **part;
    int npart;
    bexpr **order;
    bool *desc, *nulls_first;
    int norder;
    win_frame frame;      /* WF_ROWS, WF_RANGE or WF_GROUPS after defaults */
    win_bound start, end;
    value start_off, end_off; /* ROWS: .i rows; RANGE: in the key's class (.i ns/ints or .f) */
    int spec;             /* calls with equal PARTITION BY and ORDER BY share one number */
    qv_type type;
    char tz[32];
} win_call;


/* ---------------- context and query ---------------- */
typedef struct sql_pool sql_pool;
struct sql_ctx {
    st_db *db;
    int threads;
    int64_t query_memory;
    sql_pool *pool;
};

sql_pool *sql_pool_new(int n);
void sql_pool_free(sql_pool *p);
/* Runs fn(args[i]) for i < n on the pool and waits for all of them. */
void sql_pool_run(sql_pool *p, int n, void (*fn)(void *), void **args, size_t unused);
/* True on a pool worker thread (which must not call sql_pool_run). */
bool sql_pool_in_task(void);

/* Placeholders of one statement. The binder types each B_PARAM node from its
   context (bind_coerce); types[i] is $i+1's type (T_NULL until inferred, then
   utf8 when nothing constrained it). sql_query_bind sets every node's cval. */
typedef struct sql_params {
    int n;
    qv_type *types;     /* n entries (arena) */
    bexpr **nodes;      /* every B_PARAM node (heap) */
    int nnodes, cap;
    bool bound;
} sql_params;

/* A scoped scan: scans of `table` see only storage rows [row_from, row_to). */
typedef struct scan_scope {
    const char *table;
    int64_t row_from, row_to;
} scan_scope;

/* Subqueries run once before the main plan (planner/subquery.c). */
typedef struct init_plan init_plan;
/* B_INSUB over evaluated x (n rows) into out (BOOL, SQL NULL semantics). */
void value_set_eval(const bexpr *e, const vec *x, int n, vec *out);

/* Per-query run-time state every operator sees. */
typedef struct qstate {
    atomic_int cancelled;
    atomic_llong mem;   /* bytes held by blocking operators */
    atomic_llong rows_read, bytes_read; /* storage rows and column bytes scanned (after pruning) */
    int64_t mem_limit;
    sql_ctx *ctx;
    sql_params *params; /* placeholders, or NULL where none are allowed */
    const scan_scope *scope; /* NULL: whole tables */
    init_plan **inits;  /* heap array, in the order they must run */
    int ninits;
    bool inits_done;
} qstate;
/* Runs the init plans not yet run; frees them all. */
int qstate_run_inits(qstate *qs, qv_err *err);
void qstate_free_inits(qstate *qs);
void qstate_explain_inits(qstate *qs, qv_str *s);
int qstate_charge(qstate *qs, int64_t bytes, qv_err *err); /* QV_ERESOURCE past the limit */
void qstate_release(qstate *qs, int64_t bytes);
int qstate_check(qstate *qs, qv_err *err);                /* QV_ECANCELLED when cancelled */

/* ---------------- physical operators ---------------- */
typedef struct op op;
struct op {
    const char *name;
    int ncols;
    qv_type *types;
    /* Set *out to a chunk owned by the operator (valid until the next call)
       holding at least one active row, or to NULL at the end. */
    int (*next)(op *o, chunk **out, qv_err *err);
    void (*free)(op *o);
    void (*explain)(op *o, qv_str *s, int depth);
    qstate *qs;
};

typedef struct scan_pred {  /* col <op> constant, for row-group pruning */
    int col;
    int op;
    value v;
    qv_type vtype;
} scan_pred;

op *op_scan_new(qstate *qs, st_table *t, st_snapshot *snap, int ncols, const int *cols,
                const scan_pred *preds, int npreds);
op *op_values_new(qstate *qs); /* one row, zero columns */
/* range / generate_series (exec/series.c): one column of type t, start..stop
   by step (three constant expressions, evaluated when it first runs so that
   placeholders have their values); stop included when inclusive. Streams
   CHUNK rows per call. name labels errors and EXPLAIN. */
op *op_series_new(qstate *qs, const char *name, bexpr *const args[3], qv_type t, bool inclusive);
/* Rows of start..stop by step (step != 0), saturated at UINT64_MAX. */
uint64_t series_count(int64_t start, int64_t stop, int64_t step, bool inclusive);
op *op_filter_new(qstate *qs, op *child, bexpr *pred);
/* The filter's predicate is exactly its scan's pruning predicates: chunks
   marked all_pass go through without evaluating it. */
void op_filter_set_covered(op *filter);
op *op_project_new(qstate *qs, op *child, int n, bexpr **exprs);
op *op_agg_new(qstate *qs, op *child, int nkeys, bexpr **keys, int naggs, agg_spec *aggs);
/* Final aggregation over partial ones (each an op_agg_new over its share of
   the row groups, in table order), run in parallel on the pool and merged. */
op *op_agg_parallel_new(qstate *qs, op **parts, int nparts, int nkeys, bexpr **keys, int naggs, agg_spec *aggs);
/* Streams each child to its end, in order (UNION ALL); children have the same types. */
op *op_concat_new(qstate *qs, op **kids, int n);
/* Runs each child to completion in parallel, then emits their rows in child order. */
op *op_gather_new(qstate *qs, op **children, int n);
/* Ordered parallel streaming: in each round, child w (a pipeline over scan
   scans[w]) processes row group round*n + w; results come out in table order. */
op *op_gather_rounds_new(qstate *qs, op **children, op **scans, int n, int nrg);
/* Restrict a scan to row groups [lo, hi). */
void op_scan_set_range(op *scan, int lo, int hi);
/* The scan's last chunk (as the operators above left its selection), its row group and first row. */
chunk *op_scan_last(op *scan, int *rg, int64_t *row);
/* Scan another snapshot of the same table from the start (DELETE: the state under the writer slot). */
void op_scan_set_snapshot(op *scan, st_snapshot *snap);
/* Restrict a scan to storage rows [from, to) of its snapshot (whole row
   groups outside are skipped, partial ones sliced). */
void op_scan_set_rows(op *scan, int64_t from, int64_t to);
op *op_sort_new(qstate *qs, op *child, int nkeys, const int *cols, const bool *desc,
                const bool *nulls_first, int64_t limit);
op *op_limit_new(qstate *qs, op *child, int64_t limit, int64_t offset);
/* Pre-filter for a top-N: drops input rows whose column col (the first sort
   key, a plain column) cannot beat the sort's current N-th row. Link it to
   the top-N it feeds with op_sort_set_guard (until then it passes all rows). */
/* A condition `col op v` that a scan also checks each row group's min/max
   against; its owner (a top-N guard on the same thread) tightens it while the
   scan runs. keep_nulls: NULL rows satisfy it (NULLS FIRST). */
typedef struct scan_bound {
    bool active, keep_nulls;
    int col, op;
    value v;
    qv_type vtype;
} scan_bound;
void op_scan_set_bound(op *scan, const scan_bound *b);
/* scan (may be NULL): the scan under child, which then skips row groups
   that cannot hold a row beating the N-th. */
op *op_topn_guard_new(qstate *qs, op *child, int col, op *scan);
void op_sort_set_guard(op *sort, op *guard);
void op_free(op *o);
void op_explain(op *o, qv_str *s, int depth);
/* Window operator: appends one column per call to child's columns. Rows come
   out in input order. topk > 0: every call is row_number() of one spec and
   only rows numbered <= topk are needed (QUALIFY row_number() ... <= k).
   keep (heap, taken over): the input columns read above; the others come out empty. */
op *op_window_new(qstate *qs, op *child, bool *keep, int ncalls, win_call *calls, int64_t topk);

/* Value helpers shared by aggregates and sorting. */
int value_cmp(phys_class pc, const value *a, const value *b);
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);
/* The 64-bit finalizer every hash of ours ends in (murmur3's fmix64 constants). */
static inline uint64_t hash_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}
/* The hash of row r's non-null value in v: integers mixed, floats with -0 as 0,
   strings through hash_bytes; join and ASOF keys hash alike through it. */
uint64_t hash_value_at(const vec *v, int64_t r);

/* Binder/planner: builds the operator tree and the result schema. */
typedef struct plan {
    op *root;
    qv_schema schema;
    int64_t total_rows;   /* -1 unknown */
    st_table **tables;    /* opened tables, released by plan_free */
    st_snapshot **snaps;
    int ntables;
    bool passthrough;     /* zero-copy SELECT of plain columns */
    int *pt_cols;
    st_snapshot *pt_snap;
    int64_t pt_limit, pt_offset;
    int64_t pt_row_from, pt_row_to; /* scoped pass-through: storage rows [from, to) */
    char *logical;        /* EXPLAIN's logical plan (heap) */
    char *logical_src;    /* the FROM part of it while planning (heap) */
    op *scan_op;          /* the serial scan of the FROM table (NULL: none, or parallel) */
    bool is_scan;         /* only scan + filter + projection of one base table */
    const char *scan_table;
} plan;

/* top: the statement's own SELECT (may become a zero-copy pass-through). */
/* st_table_open, falling back to the one table whose name matches case-insensitively. */
int sql_table_open(st_db *db, const char *name, st_table **out, qv_err *err);
int plan_select(sql_ctx *c, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err);
void plan_free(plan *p);
int bind_const_expr(arena *ar, ast *a, qv_type want, value *out, bool *is_null, vec *scratch,
                    qv_err *err);

#endif
