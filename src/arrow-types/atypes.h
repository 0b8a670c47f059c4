/*
** arrow-types: Quiver's column types and the in-memory batch every module
** passes around. Arrays are laid out exactly as the Arrow columnar format lays
** them out (validity bitmap LSB-first, fixed-width values, int32 offsets +
** data for strings), so storage memory can leave the server as an Arrow IPC
** body without conversion.
**
** Ownership: a qv_array holds one reference on each of its buffers. Copying
** an array means qv_array_copy_ref() (new refs), never a struct assignment.
** A qv_batch owns its schema copy and its arrays; qv_batch_free releases all.
*/
#ifndef QUIVER_ATYPES_H
#define QUIVER_ATYPES_H

#include "base/base.h"

typedef enum qv_type {
    QV_T_INVALID = 0,
    QV_T_INT32,
    QV_T_INT64,
    QV_T_FLOAT32,
    QV_T_FLOAT64,
    QV_T_BOOL,       /* bit-packed values, as Arrow */
    QV_T_STRING,     /* utf8: int32 offsets (length+1) + data */
    QV_T_SYMBOL,     /* int32 codes into dict (a QV_T_STRING array) */
    QV_T_TIMESTAMP,  /* int64 ns since the epoch, UTC */
    QV_T_DATE,       /* int32 days since 1970-01-01 (Arrow date32) */
    QV_T_DECIMAL,    /* int64 scaled by 10^scale, precision 1..18 (the field's precision/scale;
                        Arrow decimal128 on the wire) */
    QV_T_INTERVAL,   /* int64 ns, a fixed length of time (Arrow duration[ns]) */
    QV_T_TIME,       /* int64 ns since midnight, 0 .. 24:00:00 (Arrow time64[ns]); new types go last
                        so stored type ids keep */
    QV_T__COUNT
} qv_type;

const char *qv_type_name(qv_type t);          /* "INT64", ... */
/* The types whose values are plain int64s (INT64, TIMESTAMP, DECIMAL, INTERVAL, TIME). */
static inline bool qv_type_is_i64(qv_type t) {
    return t == QV_T_INT64 || t == QV_T_TIMESTAMP || t == QV_T_DECIMAL || t == QV_T_INTERVAL || t == QV_T_TIME;
}
/* Bytes per value for fixed-width types (BOOL: 0, it is bit-packed; STRING: 0). */
int qv_type_width(qv_type t);
/* Parse a type name as users write it: INT/INTEGER/INT32, BIGINT/INT64/LONG,
   REAL/FLOAT/FLOAT32, DOUBLE/FLOAT64, BOOL/BOOLEAN, VARCHAR/STRING/TEXT/UTF8,
   SYMBOL, TIMESTAMP, DATE, DECIMAL/NUMERIC (its precision and scale are the
   caller's to read). Case-insensitive. Returns QV_T_INVALID if unknown. */
qv_type qv_type_parse(const char *s, size_t n);

/* Proleptic Gregorian calendar arithmetic for TIMESTAMP values (ns since the
   epoch): days since 1970-01-01 from a date and back, for every int64 day. */
int64_t qv_days_from_civil(int64_t y, int m, int d);
void qv_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Days in month m (1-12) of proleptic Gregorian year y. */
int qv_days_in_month(int64_t y, int m);

/* A TIMESTAMP (ns since the epoch, any int64) split into its UTC calendar
   fields, rounding toward the past (-1 ns is 1969-12-31 23:59:59.999999999).
   Every text form of a timestamp starts from this; each keeps its own layout. */
typedef struct qv_ts_parts {
    int64_t days;      /* since 1970-01-01 */
    int64_t ns_of_day; /* 0 .. 86399999999999 */
    int64_t year;
    int month, day;    /* 1-based */
    int hour, minute, second;
    int64_t nanos;     /* within the second */
    int weekday;       /* Sunday = 0 */
} qv_ts_parts;
void qv_ts_split(int64_t ns, qv_ts_parts *out);

/* DATE values (int32 days since 1970-01-01) and their text form (adate.c),
   the one every module uses. Parsed and computed dates stay in DuckDB's
   range, 5877642-06-25 (BC) .. 5881580-07-10; an ingested date32 may hold
   any int32. */
#define QV_DATE_MIN (-2147483646LL)
#define QV_DATE_MAX 2147483646LL
#define QV_DATE_TEXT_MAX 24 /* "5877642-06-25 (BC)" and its NUL, with room */
/* 0, -1 when s is not a date, -2 when its fields are out of range. */
int qv_date_parse(const char *s, size_t n, int64_t *days);
/* "2024-01-02", "0044-03-15 (BC)"; the length written (at most cap - 1). */
size_t qv_date_format(int64_t days, char *buf, size_t cap);
/* The day's midnight as a TIMESTAMP; false when it is outside that range. */
bool qv_date_to_ts(int64_t days, int64_t *ns);
/* The day a TIMESTAMP falls on (rounding toward the past). */
int64_t qv_date_from_ts(int64_t ns);

/* TIME values (atime.c): int64 ns since midnight and their one text form.
   Parse: "09:30", "09:30:00.5", "2024-01-02 09:30:00" (the date dropped);
   0, or -1 when s is not a time of day. Format: "09:30:00", "09:30:00.5". */
#define QV_TIME_MAX (86400LL * 1000000000LL) /* 24:00:00 */
#define QV_TIME_TEXT_MAX 32
int qv_time_parse(const char *s, size_t n, int64_t *ns);
size_t qv_time_format(int64_t ns, char *buf, size_t cap);

/* DECIMAL values (adec.c), the one text form and the one set of scaling
   rules every module uses. A DECIMAL(p, s) value v stands for v / 10^s and
   |v| < 10^p; p is 1..18 so every value fits an int64 and the SQL executor
   computes on it as an integer. Rounding is half away from zero, as DuckDB. */
#define QV_DEC_MAX_PREC 18
#define QV_DEC_DEFAULT_PREC 18 /* DECIMAL with no (p, s): DECIMAL(18, 3), as DuckDB */
#define QV_DEC_DEFAULT_SCALE 3
#define QV_DEC_TEXT_MAX 24     /* "-0.000000000000000001" and its NUL, with room */
int64_t qv_dec_pow10(int n);   /* 10^n for n in 0..18 */
/* True when |v| < 10^prec: v is a value of a DECIMAL of that precision. */
bool qv_dec_fits(int64_t v, int prec);
/* "-1.25", "0.05", "5" (scale 0); the length written (at most cap - 1). */
size_t qv_dec_format(int64_t v, int scale, char *buf, size_t cap);
/* Text as DuckDB casts it to DECIMAL(prec, scale): blanks around, a sign,
   digits with an optional '.', an optional exponent (1e2); digits past the
   scale rounded. 0, -1 when s is not a number, -2 when it does not fit. */
int qv_dec_parse(const char *s, size_t n, int prec, int scale, int64_t *out);
/* v at scale from as a value at scale to (rounded when to < from); false
   when the result does not fit precision prec. */
bool qv_dec_rescale(int64_t v, int from, int to, int prec, int64_t *out);
/* A double as DECIMAL(prec, scale): d * 10^scale rounded; false for NaN,
   infinities and values that do not fit. */
bool qv_dec_from_double(double d, int prec, int scale, int64_t *out);
double qv_dec_to_double(int64_t v, int scale);
/* "DECIMAL(10,2)" into buf (at least 16 bytes). */
void qv_dec_type_name(int prec, int scale, char *buf, size_t cap);

/* INTERVAL values (ainterval.c): int64 nanoseconds and their one text form.
   Parse: "1 day 2 hours", "1.5 s", "-3 ms", "2 days 01:02:03.5" (units ns ..
   week; 0, or -1 when s is not an interval or overflows). Format: "00:05:00",
   "2 days 01:02:03.5", "-1 day -01:00:00", as DuckDB prints intervals. */
#define QV_INTERVAL_TEXT_MAX 64
int qv_interval_parse(const char *s, size_t n, int64_t *out);
size_t qv_interval_format(int64_t ns, char *buf, size_t cap);
/* ns in one unit (second, ms, minute, ...); -1 if unknown. */
int qv_interval_unit_ns(const char *unit, int64_t *out);
bool qv_interval_unit_calendar(const char *unit); /* month, year, ...: no fixed length */
int qv_interval_unit_months(const char *unit);    /* months in such a unit (quarter 3, year 12), else 0 */
/* An interval text that may have calendar parts ("1 year 2 months 3 days"):
   the months apart (fractions as DuckDB: 1.5 months = 1 month 15 days), the
   rest in ns; -1 when it does not parse or overflows. */
int qv_interval_parse_cal(const char *s, size_t n, int32_t *months, int64_t *ns);
/* ts plus a number of calendar months, the day clamped to the last of the
   month (2024-01-31 + 1 month = 2024-02-29); false outside the TIMESTAMP range. */
bool qv_ts_add_months(int64_t ts, int64_t months, int64_t *out);

#define QV_NAME_MAX 127

typedef struct qv_field {
    char *name;       /* owned */
    qv_type type;
    bool nullable;
    char tz[32];      /* TIMESTAMP only: "" = naive, else e.g. "UTC" (kept as given) */
    uint8_t precision, scale; /* DECIMAL only: 1..18 and 0..precision */
    bool all_null;    /* a decoded Arrow null-type column: every value NULL, no type of its own
                         (type is INT32 as a stand-in; an append fills the table column's type) */
} qv_field;

typedef struct qv_schema {
    int nfields;
    qv_field *fields; /* owned */
} qv_schema;

void qv_schema_init(qv_schema *s);
void qv_schema_free(qv_schema *s);
void qv_schema_add(qv_schema *s, const char *name, qv_type type, bool nullable);
void qv_schema_copy(qv_schema *dst, const qv_schema *src); /* dst uninitialised */
int qv_schema_find(const qv_schema *s, const char *name);  /* index or -1; exact match */
bool qv_schema_equal(const qv_schema *a, const qv_schema *b);
/* "ts TIMESTAMP, symbol STRING NOT NULL, ..." for messages; caller frees. */
char *qv_schema_to_string(const qv_schema *s);
/* A field's type as users read it: "DECIMAL(10,2)" (written into buf, at
   least 32 bytes) or the type's name. */
const char *qv_field_type_name(const qv_field *f, char *buf, size_t cap);

typedef struct qv_array {
    qv_type type;
    int64_t length;
    int64_t offset;     /* logical start within the buffers (Arrow's offset) */
    int64_t null_count; /* -1 = not computed yet */
    qv_buffer *validity;/* NULL = all valid */
    qv_buffer *values;  /* fixed-width values / bits; STRING: int32 offsets; SYMBOL: int32 codes */
    qv_buffer *data;    /* STRING: utf8 bytes */
    struct qv_array *dict; /* SYMBOL: owned STRING array of dictionary entries */
} qv_array;

void qv_array_init(qv_array *a, qv_type t);         /* empty, no buffers */
void qv_array_free(qv_array *a);                    /* unrefs, re-inits to empty */
void qv_array_copy_ref(qv_array *dst, const qv_array *src); /* dst uninitialised */
/* Zero-copy view of rows [off, off+len) of src. */
void qv_array_slice(qv_array *dst, const qv_array *src, int64_t off, int64_t len);
int64_t qv_array_null_count(qv_array *a);            /* computes and caches */

static inline bool qv_bit_get(const uint8_t *bits, int64_t i) {
    return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void qv_bit_set(uint8_t *bits, int64_t i, bool v) {
    if (v) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    else bits[i >> 3] &= (uint8_t)~(1u << (i & 7));
}
static inline bool qv_array_is_valid(const qv_array *a, int64_t i) {
    return a->validity == NULL || qv_bit_get(a->validity->data, a->offset + i);
}
/* Typed accessors by logical row i (offset applied). */
static inline const void *qv_array_values(const qv_array *a) { return a->values->data; }
static inline int64_t qv_array_get_i64(const qv_array *a, int64_t i) {
    return ((const int64_t *)a->values->data)[a->offset + i];
}
static inline int32_t qv_array_get_i32(const qv_array *a, int64_t i) {
    return ((const int32_t *)a->values->data)[a->offset + i];
}
static inline double qv_array_get_f64(const qv_array *a, int64_t i) {
    return ((const double *)a->values->data)[a->offset + i];
}
static inline float qv_array_get_f32(const qv_array *a, int64_t i) {
    return ((const float *)a->values->data)[a->offset + i];
}
static inline bool qv_array_get_bool(const qv_array *a, int64_t i) {
    return qv_bit_get(a->values->data, a->offset + i);
}
/* STRING (or SYMBOL, through its dict): pointer and length of row i. */
const char *qv_array_get_str(const qv_array *a, int64_t i, int32_t *len);

/*
** Builder: append values row by row into fresh 64-byte aligned buffers.
** Used by the SQL executor for computed columns, by decoders that must
** convert, and by tests. finish() moves the buffers into an array.
*/
typedef struct qv_builder {
    qv_type type;
    int64_t length, null_count, cap;
    qv_buffer *validity, *values, *data;
} qv_builder;
void qv_builder_init(qv_builder *b, qv_type t, int64_t capacity_hint);
void qv_builder_free(qv_builder *b);
void qv_builder_append_null(qv_builder *b);
void qv_builder_append_i32(qv_builder *b, int32_t v);
void qv_builder_append_i64(qv_builder *b, int64_t v);  /* INT64, TIMESTAMP */
void qv_builder_append_f32(qv_builder *b, float v);
void qv_builder_append_f64(qv_builder *b, double v);
void qv_builder_append_bool(qv_builder *b, bool v);
void qv_builder_append_str(qv_builder *b, const char *p, int32_t n); /* STRING */
/* Append row i of src (same type; SYMBOL src may feed a STRING builder). */
void qv_builder_append_from(qv_builder *b, const qv_array *src, int64_t i);
void qv_builder_finish(qv_builder *b, qv_array *out); /* b is re-initialised */

typedef struct qv_batch {
    qv_schema schema;  /* owned */
    int64_t nrows;
    qv_array *cols;    /* schema.nfields arrays, owned */
} qv_batch;

void qv_batch_init(qv_batch *b, const qv_schema *schema); /* copies schema, empty arrays */
void qv_batch_free(qv_batch *b);
/* Deep-structure copy with new refs (no data copy). dst uninitialised. */
void qv_batch_copy_ref(qv_batch *dst, const qv_batch *src);
/* Bytes of column memory the rows of a cover (validity, values, offsets, string data). */
int64_t qv_array_bytes(const qv_array *a);
/* Bytes of column memory the rows of b cover (for limits and stats). */
int64_t qv_batch_bytes(const qv_batch *b);
/* Check internal consistency (lengths, offsets monotone and within data,
   codes within dict). Used by tests and before trusting decoded input. */
int qv_batch_validate(const qv_batch *b, qv_err *err);

#endif
