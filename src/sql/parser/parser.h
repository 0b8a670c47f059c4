/*
** The parser stage (parser/): tokens and the AST of a statement, all in the
** statement's arena. Includes only sql_base.h; the binder includes this.
*/
#ifndef QUIVER_SQL_PARSER_H
#define QUIVER_SQL_PARSER_H

#include "sql_base.h"

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
typedef struct pivot_spec pivot_spec;
/* A CTE of WITH RECURSIVE whose body is anchor UNION [ALL] step and whose
   step reads it (planner/rewrite/recursive.c materializes it while planning). */
typedef struct rec_cte {
    char *name;
    char **cols;          /* column aliases (else the anchor's names) */
    int ncols;
    select_stmt *anchor, *step;
    bool all;             /* UNION ALL (else UNION: rows already produced are dropped) */
    bool referenced;      /* the body read the name (else it is a plain CTE) */
    void *work;           /* planning: the rows of the last round (a rowset), what the step reads */
    char **names;         /* planning: the columns' names (aliases, else the anchor's) */
    int line, col;
} rec_cte;
typedef struct win_spec win_spec;

typedef enum {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_IDIV, OP_MOD, OP_CONCAT,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_AND, OP_OR, OP_NOT, OP_NEG,
    /* past OP_GE on purpose: the `OP_EQ..OP_GE` range tests (pruning,
       selection vectors, join keys) mean NULL-propagating comparisons */
    OP_DISTINCT, OP_NOT_DISTINCT,                 /* IS [NOT] DISTINCT FROM */
    OP_BAND, OP_BOR, OP_BXOR, OP_SHL, OP_SHR, OP_BNOT, /* & | xor() << >> ~ on integers */
    OP_POW                                        /* ^: bound as a call of power() */
} op_kind;

typedef struct ast {
    ast_kind kind;
    int op;
    char *name;       /* column / function / literal text / extract field */
    char *qual;       /* table qualifier of a column or star */
    int64_t ival;     /* A_INT, A_BOOL, A_INTERVAL (ns), A_TSLIT (ns, or days when cast_type is DATE) */
    int32_t months;   /* A_INTERVAL: calendar months beside ival (INTERVAL '1 month'; binder/bind_cal.c) */
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
   (functions/scalar/table_funcs.c). The parser wraps it as the subquery
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
    /* FROM (VALUES (...), ...): the rows, each rowlen expressions, planned by
       planner/values.c instead of a table function (nrows > 0) */
    ast ***rows;
    int nrows, rowlen;
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
    bool asof;            /* ASOF [LEFT|RIGHT|FULL] JOIN (planner/join/asof_plan.c) */
    bool natural;         /* NATURAL [LEFT|...] JOIN: using_cols filled by the planner from the sides'
                             common names (planner/join/join_keys.c) */
    bool hide_cols;       /* FR_SUB: its columns are not in SELECT * (a decorrelated subquery's, planner/rewrite/scalar_corr.c) */
    bool inner_scope;     /* SEMI / ANTI from [NOT] EXISTS (planner/rewrite/exists.c): in ON, a name
                             the right side has means its column, as in the subquery */
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
    const char *where_clause; /* statements the planner makes: the clause `where` came from, for messages (NULL: WHERE) */
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
    bool set_by_name;     /* UNION [ALL] BY NAME: columns matched by name (planner/setop_name.c) */
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
    char **out_names;     /* column aliases: `(...) v(a, b)`, `t AS x(a)`, `WITH c(a, b) AS`: the first
                             outputs renamed after planning (planner/plan.c); the parser puts them on a
                             `SELECT *` wrapper so a CTE planned twice keeps its own names */
    int nout_names;
    pivot_spec *pivot;    /* PIVOT ... (the statement is only that, with ORDER BY / LIMIT) */
    rec_cte *rec;         /* the recursive CTE itself (a reference to it after its WITH) */
    rec_cte *rec_ref;     /* its name read inside its own step: the last round's rows */
};

/* PIVOT <dataset> ON <expr> [IN (<values>)] [USING <agg> [AS alias], ...]
   [GROUP BY ...] (DuckDB's statement; planner/rewrite/pivot.c rewrites it into a
   grouped SELECT with one filtered aggregate per value and aggregate), and
   UNPIVOT <dataset> ON <col>, ... [INTO NAME <n> VALUE <v>] (a UNION ALL of
   one SELECT per column; the columns in `in`). */
struct pivot_spec {
    select_stmt *src;     /* SELECT * FROM <dataset> */
    ast *on;
    ast **in;             /* the values (NULL: on's distinct values, sorted, found when planning) */
    int nin;
    sel_item *aggs;       /* USING (none: count(*)) */
    int naggs;
    ast **group;          /* GROUP BY (none: every column of the dataset the ON and USING do not name) */
    int ngroup;
    bool unpivot;
    bool summarize;       /* SUMMARIZE <dataset> (planner/rewrite/summarize.c): only src is set */
    char *name_col, *value_col; /* UNPIVOT ... INTO NAME n VALUE v (default name, value) */
    int line, col;
};

/* S_DELETE stays last: sql.c checks its table of runners against it. */
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

#endif
