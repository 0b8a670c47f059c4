/*
** What every stage of the SQL module shares: the statement arena, the
** executor's internal types beyond qv_type, values, and time arithmetic
** (functions/scalar/time.c). Everything a statement allocates while being parsed,
** bound and planned lives in one arena owned by its sql_query (or by the
** caller of sql_explain) and goes away with it; run-time buffers (vectors,
** hash tables, sort buffers) are owned by the operator that fills them.
**
** Headers of the module, each including only the ones before it (the
** pipeline's order; docs/architecture.md):
**   sql/sql.h (public) <- sql_base.h <- parser/parser.h <- binder/bind.h
**   <- exec/exec.h <- functions/functions.h <- planner/planner.h
**   <- query_int.h (the public API's files); planner.h also includes
**   planner/logical.h (the logical plan's nodes, over parser.h).
** Stage-private headers sit beside their stage: parser/parser_int.h,
** exec/hashjoin.h, exec/asof.h, exec/window/window.h, planner/plan_int.h.
*/
#ifndef QUIVER_SQL_BASE_H
#define QUIVER_SQL_BASE_H

#include "sql/sql.h"

#include <pthread.h>
#include <string.h>

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

/* ---------------- types and values ---------------- */
/* Internal types beyond qv_type. */
#define T_NULL ((qv_type)(QV_T__COUNT + 1))
#define T_INTERVAL ((qv_type)(QV_T__COUNT + 2))
/* T_INTERVAL is QV_T_INTERVAL at the module's edges, as below.
   DECIMAL(p, s) inside the SQL module: one internal type per (p, s), so the
   scale travels with every expression, column and vector the way any type
   does (a value is its int64 scaled integer, physical class PC_I). At the
   module's edges (table schemas, result schemas) it is QV_T_DECIMAL with the
   field's precision and scale: sql_field_type / sql_field_set_type. */
#define T_DEC_BASE ((int)QV_T__COUNT + 8)
static inline qv_type type_dec(int p, int s) { return (qv_type)(T_DEC_BASE + p * 32 + s); }
static inline bool type_is_dec(qv_type t) {
    return (int)t >= T_DEC_BASE + 32 && (int)t < T_DEC_BASE + (QV_DEC_MAX_PREC + 1) * 32;
}
static inline int dec_prec(qv_type t) { return ((int)t - T_DEC_BASE) / 32; }
static inline int dec_scale(qv_type t) { return ((int)t - T_DEC_BASE) % 32; }

/* Physical class of a logical type inside the executor. */
typedef enum { PC_I, PC_F, PC_S } phys_class;
static inline phys_class type_pc(qv_type t) {
    if (t == QV_T_FLOAT32 || t == QV_T_FLOAT64) return PC_F;
    if (t == QV_T_STRING || t == QV_T_SYMBOL) return PC_S;
    return PC_I;
}
static inline bool type_is_int(qv_type t) { return t == QV_T_INT32 || t == QV_T_INT64; }
static inline bool type_is_num(qv_type t) {
    return t == QV_T_INT32 || t == QV_T_INT64 || t == QV_T_FLOAT32 || t == QV_T_FLOAT64 || type_is_dec(t);
}
/* The SQL type of a stored column (DECIMAL with its precision and scale) and
   back: every schema the module reads or writes goes through these two. */
qv_type sql_field_type(const qv_field *f);
void sql_field_set_type(qv_field *f, qv_type t);
void sql_schema_add(qv_schema *s, const char *name, qv_type t, bool nullable);
const char *type_name(qv_type t);

typedef struct sv { const char *p; int32_t n; } sv;

/* Doubles in DuckDB's total order, the one every comparison, sort, window
   peer and frame, top-N, min/max, grouping and join of ours uses: NaN is
   greater than every other number (+inf too) and equal to every NaN; -0.0
   equals 0.0. Branch free (x != x is isnan) so compare kernels stay
   vectorized. Against a number k (not NaN) each operator is one IEEE
   comparison, as a NaN row must fail <, <=, = and pass >, >=, <>:
   a < k, a <= k, a == k, !(a <= k) for a > k, !(a < k) for a >= k. */
static inline bool dbl_lt(double a, double b) { return (a == a) & !(a >= b); }
static inline bool dbl_eq(double a, double b) { return (a == b) | ((a != a) & (b != b)); }
static inline int dbl_cmp(double a, double b) { return (int)dbl_lt(b, a) - (int)dbl_lt(a, b); }
/* The bits a double is hashed or grouped by: equal under dbl_eq, equal bits
   (every NaN one NaN, -0.0 as 0.0). */
static inline uint64_t dbl_key_bits(double d) {
    if (d != d) return 0x7ff8000000000000ULL;
    if (d == 0) d = 0.0;
    uint64_t x;
    memcpy(&x, &d, sizeof x);
    return x;
}

typedef struct value {
    bool null;
    int64_t i;
    double f;
    sv s;
} value;

/* ---------------- time helpers ---------------- */
int ts_parse(const char *s, size_t n, int64_t *out);   /* 0 ok, -1 bad, -2 outside int64 ns */
void ts_format(int64_t ns, char *buf, size_t cap);
int64_t ts_extract(int64_t ns, int field);
/* ns rounded down to field into *out; false when that is before the smallest
   TIMESTAMP (ts_trunc_fail then sets the error). */
bool ts_trunc(int64_t ns, int field, int64_t *out);
int ts_trunc_fail(int64_t ns, int field, qv_err *err);
/* Field names for extract/date_trunc; -1 unknown. */
typedef enum ts_field { TF_YEAR, TF_QUARTER, TF_MONTH, TF_WEEK, TF_DAY, TF_HOUR, TF_MINUTE, TF_SECOND,
       TF_MILLISECOND, TF_MICROSECOND, TF_NANOSECOND, TF_DOW, TF_DOY, TF_EPOCH,
       TF_ISODOW, TF_ISOYEAR, TF_YEARWEEK, TF_DECADE, TF_CENTURY, TF_MILLENNIUM, TF_ERA,
       TF_JULIAN, TF_TIMEZONE, TF_TIMEZONE_HOUR, TF_TIMEZONE_MINUTE, TF__COUNT } ts_field;
int ts_field_parse(const char *s);
bool ts_field_truncates(int f);   /* date_trunc accepts it */
bool ts_field_is_double(int f);   /* epoch, julian: date_part gives DOUBLE */
const char *ts_field_name(int f);
/* A field a TIME has (hour .. nanosecond, epoch): extracted from its ns since midnight as from a TIMESTAMP. */
static inline bool ts_field_of_day(int f) { return (f >= TF_HOUR && f <= TF_NANOSECOND) || f == TF_EPOCH; }
double ts_extract_f(int64_t ns, int field);

#endif
