/*
** The binder stage (binder/): bound expressions (names, types and functions
** resolved), aggregate and window calls, placeholders, and the binder that
** makes them from the AST. Includes parser.h; the executor evaluates what
** this declares (exec/exec.h includes it). bind.c folds constants through the
** executor (expr_eval_const); bind_expr.c binds each kind of expression and
** looks functions up in functions/.
*/
#ifndef QUIVER_SQL_BIND_H
#define QUIVER_SQL_BIND_H

#include "parser.h"

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
    int32_t months; /* B_CONST of INTERVAL type: calendar months beside cval.i; made only for a
                       generate_series/range step (planner/table_func.c), read by exec/series.c */
    bool neg, has_operand, has_else, ilike;
    bexpr **args;
    int nargs;
    const struct sfunc_def *fn; /* B_FUNC: its descriptor (functions/functions.h) */
    void *aux;     /* B_FUNC: per-query data of the call (arena), e.g. a compiled pattern; B_INSUB: struct value_set */
};

/* B_CONST op: the constant was written as a decimal literal (1.25), which
   DuckDB reads as a DECIMAL: rounding and casts treat it as its decimal text.
   cval.s keeps the text as written when the parser had it. */
#define BC_DECIMAL_LIT 1
static inline bool bexpr_is_decimal_lit(const bexpr *e) {
    if (e->kind == B_UNARY && e->op == OP_NEG) e = e->args[0];
    return e->kind == B_CONST && e->op == BC_DECIMAL_LIT;
}

/* ---------------- aggregates ---------------- */
/* Aggregate ids index the descriptor table agg_defs (functions/functions.h). */
typedef enum { AG_COUNT_STAR, AG_COUNT, AG_SUM, AG_AVG, AG_MIN, AG_MAX, AG_FIRST,
               AG_LAST, AG_STDDEV, AG_VARIANCE, AG_STDDEV_POP, AG_VAR_POP,
               AG_MEDIAN, AG_QUANTILE_CONT, AG_QUANTILE_DISC, AG_MODE, AG_ARG_MIN, AG_ARG_MAX,
               AG_STRING_AGG, AG_BOOL_AND, AG_BOOL_OR, AG_APPROX_COUNT_DISTINCT, AG_COUNT_IF,
               AG_PRODUCT, AG_CORR, AG_COVAR_POP, AG_COVAR_SAMP, AG_REGR_SLOPE, AG_REGR_INTERCEPT,
               AG_SKEWNESS, AG_KURTOSIS, AG_KURTOSIS_POP, AG_ENTROPY, AG_GEOMEAN, AG_ANY_VALUE,
               AG_BIT_AND, AG_BIT_OR, AG_BIT_XOR, AG_FSUM, AG_FAVG, AG_APPROX_QUANTILE,
               AG__COUNT } agg_id;

#define AGG_MAXIN 8
typedef struct agg_spec {
    agg_id fn;
    bool distinct;
    bexpr *arg;       /* NULL for count(*); else in[0] */
    bexpr *in[AGG_MAXIN]; /* every input: the arguments, then ORDER BY keys */
    int nin, norder;  /* the last norder inputs are ORDER BY keys */
    bool order_desc[AGG_MAXIN];
    double param;     /* quantile fraction, in [0, 1] */
    bool from_top;    /* quantile_cont/disc: param counts from the largest value (a negative q, as DuckDB) */
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
    int32_t start_months, end_months; /* RANGE over a TIMESTAMP or DATE key: calendar months of the
                                         offset, applied before start_off / end_off (ns, or days) */
    int spec;             /* calls with equal PARTITION BY and ORDER BY share one number */
    qv_type type;
    char tz[32];
} win_call;

/* Placeholders of one statement. The binder types each B_PARAM node from its
   context (bind_coerce); types[i] is $i+1's type (T_NULL until inferred, then
   utf8 when nothing constrained it). sql_query_bind sets every node's cval. */
typedef struct sql_params {
    int n;
    qv_type *types;     /* n entries (arena) */
    bexpr **nodes;      /* every B_PARAM node (heap) */
    int nnodes, cap;
    bool bound;
    int64_t now_ns;     /* the statement's start (now(), current_timestamp): one value for all its parts */
} sql_params;

typedef struct scope_col {
    const char *name;
    const char *qual;
    qv_type type;
    char tz[32];
    bool hidden;      /* the right column of JOIN ... USING: only reachable qualified */
    uint8_t depth;    /* how deep in [NOT] EXISTS it comes from: the deepest match of a name wins */
} scope_col;

typedef struct scope {
    int n;
    scope_col *cols;
} scope;

typedef struct binder {
    arena *ar;
    qv_err *err;
    const scope *in;
    /* aggregate context: expressions above the aggregation see keys then aggs */
    bool agg_mode;
    int ngroup;
    ast **group;
    bexpr **gkeys;
    int naggs, capaggs;
    agg_spec *aggs;
    ast **agg_asts;
    bool in_agg_arg;
    const char *clause; /* "WHERE", ... for messages */
    sql_params *params; /* NULL: placeholders are not allowed here */
    /* subquery expressions ((SELECT ...), EXISTS, IN (SELECT ...)) are planned by the planner */
    bexpr *(*subquery)(struct binder *b, ast *a);
    void *planner;
    /* window calls (f(...) OVER ...) are bound by the planner; NULL: not allowed in this clause */
    bexpr *(*window)(struct binder *b, ast *a);
    void *wctx;
    bool in_window;    /* binding a window call's arguments, PARTITION BY or ORDER BY */
} binder;

bexpr *bind_expr(binder *b, ast *a);
/* A filter (WHERE, ON, HAVING, QUALIFY) must be BOOLEAN or untyped NULL:
   0 when e is, else QV_EINVAL in b->err naming b->clause ("ON" reads as
   "JOIN condition"), the type found, and where the expression `at` starts. */
int bind_need_bool(binder *b, const bexpr *e, const ast *at);
/* Placeholders (bind_param.c): a B_PARAM node for $N, typed from the slot
   when an earlier use inferred it; bind_param_type gives an untyped one type t. */
bexpr *bind_param(binder *b, ast *a);
bexpr *bind_param_type(binder *b, bexpr *e, qv_type t);
/* Untyped placeholders left after binding become utf8. */
void bind_params_finish(sql_params *ps);
bexpr *bind_coerce(binder *b, bexpr *e, qv_type t);
/* Aggregates a copy of b registered (binding window arguments) go back to b. */
static inline void bd_sync_aggs(binder *b, const binder *copy) {
    b->naggs = copy->naggs;
    b->capaggs = copy->capaggs;
    b->aggs = copy->aggs;
    b->agg_asts = copy->agg_asts;
}
/* An aggregate call used as a window function (functions/agg/agg_table.c). */
int agg_bind_window(binder *b, ast *a, agg_spec *sp);
bool ast_has_agg(const ast *a);
bool ast_has_window(const ast *a);
/* Window results are B_COL nodes numbered from WIN_COL_BASE until the planner
   knows the window operator's input width. */
#define WIN_COL_BASE (1 << 24)
bool is_agg_name(const char *name);
char *ast_to_name(arena *ar, const ast *a);
bool castable_to(qv_type from, qv_type to);
bexpr *mk_col(arena *ar, int col, qv_type t, const char *tz);

/* The operators after OP_NEG (bind_ops.c): an A_BINARY / A_UNARY of one of
   them, and a bitwise op over bound operands (xor() binds through it). */
bexpr *bind_op_binary(binder *b, ast *a);
bexpr *bind_op_unary(binder *b, ast *a);
bexpr *bind_op_bitwise(binder *b, const ast *a, int op, bexpr *x, bexpr *y);
/* now() / current_timestamp: the statement's start time, a TIMESTAMP (UTC) constant. */
bexpr *bind_now(binder *b);
bexpr *bind_today(binder *b); /* current_date: the day of bind_now (DATE) */

/* Shared by bind.c, bind_expr.c and bind_func.c. */
bexpr *bind_func(binder *b, ast *a);
/* Calendar intervals (functions/scalar/func_months.c). bind_cal_const: 1 when
   a is an interval constant (INTERVAL '...', its negation, a product with an
   integer literal, a sum of such; with str_ok also a string that reads as
   one), its months and the rest in ns; 0 when it is not; -1 on overflow.
   bind_cal_binary / bind_cal_call bind `ts ± INTERVAL '1 month'`,
   date_add(ts, ...) and time_bucket(INTERVAL '3 months', ts) when the
   interval has months (*handled true; NULL then means an error) and leave
   every other expression to the caller (*handled false). */
int bind_cal_const(const ast *a, bool str_ok, int32_t *months, int64_t *ns);
/* TIME arithmetic (functions/scalar/func_time.c): TIME ± INTERVAL (a TIME,
   around the clock), DATE + TIME (a TIMESTAMP); x and y bound. */
bexpr *bind_time_arith(binder *b, ast *a, int op, bexpr *x, bexpr *y);
bexpr *bind_cal_binary(binder *b, ast *a, bool *handled);
bexpr *bind_cal_call(binder *b, ast *a, bool *handled);
bexpr *bd_mk(binder *b, bexpr_kind k, qv_type t, int nargs);
/* x AND y (y alone when x is NULL): how conditions are gathered into one. */
bexpr *bd_and(binder *b, bexpr *x, bexpr *y);
bexpr *bd_fail(binder *b, const ast *a, qv_status code, const char *fmt, const char *x, const char *y);
qv_type bd_common_type(qv_type a, qv_type c, bool *ok);
bexpr *bd_need_type(binder *b, const ast *a, bexpr *e, const char *what, bool (*ok)(qv_type));
bool bd_is_bool(qv_type t);
bool bd_is_num(qv_type t);
bool bd_is_int(qv_type t);
bool bd_is_str(qv_type t);
bool bd_is_ts(qv_type t);
bool bd_is_time(qv_type t); /* TIMESTAMP or DATE */
int bd_unify(binder *b, const ast *a, bexpr **x, bexpr **y, const char *what);
const char *bd_pick_tz(bexpr *x, bexpr *y);

/* DECIMAL typing (bind_dec.c). bd_dec_of: the DECIMAL an integer type widens
   to (the type itself for a DECIMAL, T_NULL for others); bd_dec_common: the
   common type of two numeric types one of which is a DECIMAL (DOUBLE with a
   float); bd_dec_literals: a decimal literal beside a DECIMAL becomes the
   DECIMAL its digits spell; bind_dec_arith: the operands' and result's types
   of x op y over DECIMALs and integers, 1 when it applied, 0 when the
   operation is not DECIMAL arithmetic, -1 on error. */
qv_type bd_dec_of(qv_type t);
qv_type bd_dec_common(qv_type a, qv_type c);
void bd_dec_literals(binder *b, bexpr **x, bexpr **y);
int bind_dec_arith(binder *b, const ast *a, int op, bexpr **x, bexpr **y, qv_type *rt);

#endif
