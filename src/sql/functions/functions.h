/*
** The function stage's tables: one descriptor per scalar function, per
** aggregate and per type. The binder looks names up here (bind_func.c), the
** executor calls the descriptors' eval / update / merge / finalize. Adding a
** function or an aggregate is one table entry plus its implementation.
**
** Descriptors are static and read-only. A bound call may hang per-query data
** on its bexpr (aux: e.g. a compiled regular expression); such data lives in
** the query's arena and is only read while the query runs, from any thread.
*/
#ifndef QUIVER_SQL_FUNCTIONS_H
#define QUIVER_SQL_FUNCTIONS_H

#include "exec.h"

/* ---------------- scalar functions ---------------- */
/* Argument kinds in a signature (one letter per argument; the last one
   repeats for variadic functions):
     S string  I BIGINT  F DOUBLE  T TIMESTAMP  B BOOLEAN  V INTERVAL
     N numeric (kept as INT32/INT64, FLOAT32 widened to DOUBLE)  A any
   A DATE argument to a T kind arrives as its midnight (TIMESTAMP).
   Result kinds: the same letters, plus '0' = the type of argument 0,
   'i' = INT32, 'D' = DATE (int days), '-' = the NULL type (error()). A string constant next to a TIMESTAMP/INTERVAL/number kind is
   converted at bind time. */
typedef struct sfunc_def sfunc_def;
typedef bexpr *(*sfunc_bind_fn)(binder *b, ast *a, bexpr *e, const sfunc_def *fd);
typedef int (*sfunc_eval_fn)(const bexpr *e, vec *args, int n, vec *out, qv_err *err);

enum {
    SF_STRICT = 1,   /* a NULL argument makes the row NULL; eval skips such rows */
    SF_VOLATILE = 2, /* a new value per row (random): never folded to a constant at bind time */
    SF_DATE_IN_OUT = 4, /* a TIMESTAMP result is a DATE when the T argument was a DATE (time_bucket) */
    SF_TOD = 8,      /* a T argument may be a TIME (kept as is: its ns since midnight); the bind checks the part */
};

struct sfunc_def {
    const char *name;
    int minargs, maxargs;
    const char *sig;
    char ret;
    sfunc_bind_fn bind;   /* NULL: bind by sig/ret; else called after the generic coercion */
    sfunc_eval_fn eval;
    unsigned flags;
    const char *desc;
};

/* round/trunc/floor/ceil of a DECIMAL (func_decimal.c): e itself for other types. */
bexpr *bind_dec_round(binder *b, ast *a, bexpr *e, const sfunc_def *fd);

/* NULL when there is no such scalar function. */
const sfunc_def *sfunc_lookup(const char *name);
/* Writes ", did you mean 'x'?" (or "") for the nearest known name. */
void func_suggest(const char *name, char *buf, size_t cap);
/* Binds a call of a table-driven scalar function. */
bexpr *sfunc_bind(binder *b, ast *a, const sfunc_def *fd);
/* A bound call e whose arguments are all constants, evaluated now into a constant (else e). */
bexpr *sfunc_fold(binder *b, ast *a, bexpr *e);

/* Helpers for eval functions. */
void fn_set_null(vec *out, int k);
int32_t utf8_len(const char *p, int32_t n);
int32_t utf8_off(const char *p, int32_t n, int64_t cp);
/* lower()/upper()'s case mapping of one code point (func_str.c): the two-byte
   letters of Latin-1, Latin Extended-A, Greek and Cyrillic; others unchanged. */
uint32_t str_case_map(uint32_t c, bool lower);
/* Error naming the function of e: "<name>: <message>". */
int fn_err(qv_err *err, const bexpr *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* concat / concat_ws binding: arguments from `first` on cast to VARCHAR (NULL
   constants left as they are), the call typed VARCHAR (func_str.c). */
bexpr *fn_bind_args_text(binder *b, bexpr *e, int first);

/* MD5 digest of n bytes (md5.c). */
void md5_digest(const void *data, size_t n, uint8_t out[16]);

/* Tables per group (each file defines its entries). */
extern const sfunc_def sfunc_math[], sfunc_math_more[], sfunc_str[], sfunc_str_more[], sfunc_regex[], sfunc_time[],
    sfunc_misc[], sfunc_format[], sfunc_random[];

/* Compile-time pattern of regexp_* (regex.c): compiles a constant pattern once
   at bind time into the arena. NULL with err set on a bad pattern. */
bexpr *regex_bind(binder *b, ast *a, bexpr *e, const sfunc_def *fd);

/* strftime format, parsed once (strftime.c). */
int strf_format(int64_t ns, const char *fmt, int32_t fmtn, char *buf, size_t cap, qv_err *err);
int strf_check(const char *fmt, int32_t n, char *why, size_t cap);
int strp_parse(const char *s, int32_t sn, const char *fmt, int32_t fn, int64_t *out);

/* ---------------- aggregates ---------------- */
/* What update/merge/finalize may use: memory charged to the query, and
   string copies that live as long as the aggregation. */
typedef struct agg_ctx {
    qstate *qs;
    int64_t *charged;   /* the operator's running total, released when it is freed */
    char **strings;     /* the operator's list of kept string blocks */
    qv_err *err;
} agg_ctx;
int agg_charge(agg_ctx *c, int64_t bytes);
const char *agg_keep_str(agg_ctx *c, sv s);

/* State of the simple aggregates (count, sum, avg, min, max, first, last,
   variances, bool_and/or, count_if, product); the operator's fast paths for
   count/sum/avg use it directly. */
typedef struct agg_state {
    int64_t cnt;
    __int128 isum;
    double fsum, mean, m2;
    value v;     /* min/max/first/last */
    bool set;
    bool vnull;  /* first/last: the kept value is NULL */
} agg_state;

/* sum and avg: integer arguments (bound as BIGINT) add up exactly in
   agg_state.isum, avg dividing only at the end (DuckDB: avg of INT64_MAX,
   INT64_MIN and 1 is 0, not the 0.33 of a double sum). Only for AG_SUM/AG_AVG. */
/* sum and avg of BIGINT and of DECIMAL (scaled integers) are summed exactly. */
static inline bool agg_sum_exact(const agg_spec *sp) {
    qv_type t = sp->fn == AG_SUM ? sp->type : sp->in[0]->type;
    return t == QV_T_INT64 || type_is_dec(t) || t == T_INTERVAL || t == QV_T_TIME;
}
/* The mean of cnt > 0 integers summing to sum: the quotient and the
   remainder apart, so no precision is lost before the one rounding to double. */
static inline double agg_avg_exact(__int128 sum, int64_t cnt) {
    __int128 q = sum / cnt, r = sum % cnt;
    return (double)q + (double)r / (double)cnt;
}
/* avg over an exact sum: a DECIMAL's mean is its scaled mean over 10^scale. */
static inline double agg_avg_of(const agg_spec *sp, __int128 sum, int64_t cnt) {
    double m = agg_avg_exact(sum, cnt);
    qv_type t = sp->in[0]->type;
    return type_is_dec(t) ? m / (double)qv_dec_pow10(dec_scale(t)) : m;
}
/* avg of INTERVALs: the exact mean in ns, rounded half away from zero. */
static inline int64_t agg_avg_interval(__int128 sum, int64_t cnt) {
    __int128 q = sum / cnt, r = sum % cnt;
    if (r * 2 >= cnt) q++;
    else if (r * 2 <= -cnt) q--;
    return (int64_t)q; /* the mean of int64s is an int64 */
}
/* An exact sum as the BIGINT, DECIMAL(18, s) or INTERVAL result of sum(): 0,
   or an error when it does not fit. */
static inline int agg_sum_result(const agg_spec *sp, __int128 s, int64_t *out, qv_err *err) {
    if (type_is_dec(sp->type) ? (s <= -qv_dec_pow10(18) || s >= qv_dec_pow10(18)) : (s > INT64_MAX || s < INT64_MIN))
        return sp->type == T_INTERVAL ? qv_err_set(err, QV_EINVAL, "overflow in sum(): the result does not fit an INTERVAL (292 years)")
             : type_is_dec(sp->type)
                   ? qv_err_set(err, QV_EINVAL, "overflow in sum(): the result does not fit %s", type_name(sp->type))
                   : qv_err_set(err, QV_EINVAL, "integer overflow in sum(): the result does not fit in INT64");
    *out = (int64_t)s;
    return 0;
}

enum { AGN_SKIP, AGN_KEEP }; /* rows with a NULL input: skipped before update, or given to it */

typedef struct agg_def {
    const char *name;
    int minargs, maxargs;      /* arguments, not counting ORDER BY keys */
    int nulls;
    size_t state_size;         /* bytes per group; states start zeroed */
    bool ordered;              /* accepts ORDER BY inside the call */
    int (*bind)(binder *b, ast *a, agg_spec *sp, const struct agg_def *d); /* types; coerces sp->in */
    int (*update)(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k);
    /* Folds src (a later part of the table) into dst; src may be left empty. */
    int (*merge)(agg_ctx *c, const agg_spec *sp, void *dst, void *src);
    int (*finalize)(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k);
    void (*destroy)(void *st); /* NULL: nothing on the heap */
    const char *desc;
    /* Optional: m rows at once into states + gids[k] * stride (rows with a
       NULL argument skipped by it); NULL: update row by row. */
    int (*update_batch)(agg_ctx *c, const agg_spec *sp, char *states, size_t stride, const int32_t *gids,
                        const vec *const *in, int m);
} agg_def;

extern const agg_def *const agg_defs[AG__COUNT]; /* indexed by agg_id */
extern const char *const agg_func_names[]; /* every name and alias, NULL-terminated */
int agg_lookup(const char *name);          /* agg_id, or -1 */
/* Binds an aggregate call into sp (binder/bind_func.c calls it). */
int agg_bind(binder *b, ast *a, agg_spec *sp);

/* Descriptor pieces defined by the other aggregate files. */
extern const agg_def agg_def_median, agg_def_quantile_cont, agg_def_quantile_disc, agg_def_mode,
    agg_def_string_agg, agg_def_arg_min, agg_def_arg_max, agg_def_hll, agg_def_corr, agg_def_covar_pop,
    agg_def_covar_samp, agg_def_regr_slope, agg_def_regr_intercept, agg_def_skewness, agg_def_kurtosis,
    agg_def_kurtosis_pop, agg_def_entropy, agg_def_geomean, agg_def_any_value, agg_def_bit_and, agg_def_bit_or,
    agg_def_bit_xor, agg_def_fsum, agg_def_favg, agg_def_approx_quantile;

/* Where quantile_cont/quantile_disc/median read n values sorted ascending:
   the value at lo, interpolated towards hi by f (hi == lo when f is 0). */
typedef struct agg_qpos {
    int64_t lo, hi;
    double f;
} agg_qpos;
agg_qpos agg_quantile_pos(const agg_spec *sp, int64_t n);

/* quantile_cont's interpolation between neighbouring order statistics a <= b
   at fraction f (agg_holistic.c; the window operator's sliding frames use it
   too): a when f is 0 or a == b, else a weighted mean (as DuckDB: no b - a,
   so [inf, inf] gives inf and [-inf, 1] -inf, where a + f * (b - a) is NaN). */
double agg_quantile_lerp(double a, double b, double f);
int64_t agg_quantile_lerp_ts(int64_t a, int64_t b, double f);

/* approx_count_distinct's sketch for the window operator's sliding frames
   (agg_stats.c): a row's hash (never 0), its register and rank, and the
   estimate from a histogram of register values (cnt[v]: registers holding v).
   The exact phase holds up to AGG_HLL_EXACT distinct hashes. */
#define AGG_HLL_REGS (1 << 14)
#define AGG_HLL_LEVELS 52
#define AGG_HLL_EXACT 1024
uint64_t agg_hll_hash(const vec *v, int k);
void agg_hll_split(uint64_t h, uint32_t *idx, uint8_t *rho);
int64_t agg_hll_estimate(const int64_t *cnt);

/* ---------------- table functions (table_funcs.c) ---------------- */
/* FROM name(args). One descriptor per function: bind checks and types the
   bound arguments (constants, placeholders or scalar subqueries: the planner
   refuses column references first) into out, with the output columns' types
   and default names; make builds the operator that produces the rows; rows
   is the exact row count when the arguments are constants, else -1. */
#define TFUNC_MAXARGS 8
#define TFUNC_MAXCOLS 4
typedef struct tfunc_bound {
    bexpr *args[TFUNC_MAXARGS];  /* as the generator wants them (defaults filled in) */
    int nargs;
    int ncols;
    qv_type types[TFUNC_MAXCOLS];
    char tz[TFUNC_MAXCOLS][32];
    const char *names[TFUNC_MAXCOLS];
} tfunc_bound;

typedef struct tfunc_def tfunc_def;
struct tfunc_def {
    const char *name;
    int minargs, maxargs;
    int (*bind)(binder *b, const tfunc_def *d, const tfunc_call *c, bexpr **args, tfunc_bound *out);
    op *(*make)(qstate *qs, const tfunc_def *d, const tfunc_bound *bd);
    int64_t (*rows)(const tfunc_def *d, const tfunc_bound *bd);
    bool inclusive;   /* series: stop is part of the result */
    const char *usage;
    const char *desc;
};
extern const tfunc_def tfunc_defs[]; /* ends with a NULL name */
/* NULL when there is no such table function. */
const tfunc_def *tfunc_lookup(const char *name);

/* ---------------- types ---------------- */
/* One descriptor per type: DuckDB's name (what typeof prints), its Arrow
   type, the executor's vector width and physical class, and its text form
   (CAST to and from VARCHAR). format writes at most cap bytes and returns the
   length; parse reads a trimmed, NUL-terminated text, 0 or -1 if it is not a
   value of the type. */
typedef struct sql_type_def {
    const char *sql_name;
    const char *arrow;
    int width;
    phys_class pc;
    int (*format)(const vec *v, int k, char *buf, size_t cap);
    int (*parse)(const char *s, size_t n, vec *out, int j);
} sql_type_def;
const sql_type_def *sql_type_get(qv_type t);
const char *sql_type_sqlname(qv_type t, const char *tz);

#endif
