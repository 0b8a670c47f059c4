/*
** Private to src/http: output formats and value text (fmt.c), request body
** parsers for CSV and NDJSON with type inference (parse.c, infer.c), the
** Prometheus text builder (metrics.c). None of these touch the engine or
** libmicrohttpd, so the C unit tests drive them directly.
*/
#ifndef QUIVER_HTTP_INT_H
#define QUIVER_HTTP_INT_H

#include "arrow-types/atypes.h"

/* ---- output formats ---- */
typedef enum {
    HF_JSON = 0,
    HF_JSONEACHROW,
    HF_JSONCOMPACT,
    HF_CSV,
    HF_CSVWITHNAMES,
    HF_TSV,
    HF_TSVWITHNAMES,
    HF_ARROW,
    HF__COUNT
} http_format;

/* Case-insensitive, with the usual aliases (NDJSON, TabSeparated, ArrowStream). 0 ok, -1 unknown. */
int http_format_parse(const char *s, size_t n, http_format *out);
const char *http_format_name(http_format f);
const char *http_format_content_type(http_format f);

/* If sql ends with `FORMAT <word>` (then optional ';' and blanks), shorten
   *len to drop it and point *name and *name_len at the word. Returns 1 if found. */
int http_sql_split_format(const char *sql, size_t *len, const char **name, size_t *name_len);

/* Value text. Buffers must hold at least 40 bytes. Return the length written. */
size_t http_fmt_i64(int64_t v, char *buf);
size_t http_fmt_f64(double v, char *buf);  /* shortest round trip; "nan", "inf", "-inf" */
size_t http_fmt_f32(float v, char *buf);
size_t http_fmt_timestamp(int64_t ns, char *buf); /* 2024-01-02T03:04:05.000000001Z */

/* Text -> value parsers (whole string must match). 0 ok, -1 not that type. */
int http_parse_i64(const char *p, size_t n, int64_t *out);
int http_parse_f64(const char *p, size_t n, double *out);
int http_parse_bool(const char *p, size_t n, bool strict, bool *out);
/* ISO-8601: YYYY-MM-DD[(T| )HH:MM[:SS[.f{1,9}]]][Z|(+|-)HH[:MM]] -> ns since epoch UTC. */
int http_parse_timestamp(const char *p, size_t n, int64_t *out);

/*
** Row writer: turns batches into the text formats. begin() writes what comes
** before the first row (JSON meta, CSV names); rows() appends rows [from,to)
** of a batch; end() closes the document (JSON rows and statistics).
** Owns copies of the escaped column names.
*/
typedef struct http_writer {
    http_format fmt;
    int ncols;
    qv_type *types;
    uint8_t *scales;   /* DECIMAL columns: the scale their values are printed at */
    char **keys;       /* JSON: "name": ; CSV: quoted name */
    size_t *keylens;
    int64_t rows;
} http_writer;

typedef struct http_stats {
    double elapsed_s;
    int64_t rows_read, bytes_read;
} http_stats;

void http_writer_init(http_writer *w, http_format fmt, const qv_schema *schema);
void http_writer_free(http_writer *w);
void http_writer_begin(http_writer *w, const qv_schema *schema, qv_str *out);
void http_writer_rows(http_writer *w, const qv_batch *b, int64_t from, int64_t to, qv_str *out);
void http_writer_end(http_writer *w, const http_stats *st, qv_str *out);

/* ---- input: CSV and NDJSON bodies as rows of cells ---- */
typedef enum {
    HC_NULL = 0,  /* CSV empty unquoted field, JSON null or missing key */
    HC_TEXT,      /* CSV field: type decided by the column */
    HC_STR,       /* JSON string (unescaped) */
    HC_NUM,       /* JSON number literal */
    HC_BOOL       /* JSON true/false */
} http_cell_kind;

typedef struct http_cell {
    http_cell_kind kind;
    bool b;
    const char *p;
    size_t n;
} http_cell;

/* CSV reader over a body held in memory (RFC 4180: ',' separator, '"'
   quotes doubled inside quotes, LF or CRLF ends a record; blank lines skipped). */
typedef struct http_csv {
    const char *p, *end;
    int64_t line;       /* line where the last returned record started (1-based) */
    int64_t next_line;
    qv_str scratch;     /* unescaped quoted fields */
    http_cell *cells;
    size_t *offs;       /* scratch offsets while a record is built */
    int ncells, cap;
} http_csv;

void http_csv_init(http_csv *c, const char *p, size_t n);
void http_csv_free(http_csv *c);
/* 1 = a record in c->cells[0..c->ncells), 0 = end of input, -1 = error. */
int http_csv_next(http_csv *c, qv_err *err);

/* NDJSON: one flat JSON object per line (no nested objects or arrays). */
typedef struct http_ndjson {
    const char *p, *end;
    int64_t line;
    qv_str scratch;     /* unescaped keys and strings */
    http_cell *cells;   /* values */
    size_t *key_off, *key_len, *val_off; /* scratch offsets (val_off SIZE_MAX = not in scratch) */
    const char **keys;
    int nkeys, cap;
} http_ndjson;

void http_ndjson_init(http_ndjson *j, const char *p, size_t n);
void http_ndjson_free(http_ndjson *j);
/* 1 = an object in keys/cells [0..nkeys), 0 = end, -1 = error naming the line. */
int http_ndjson_next(http_ndjson *j, qv_err *err);

/* Column type inference from cells. */
typedef struct http_infer {
    bool any_text, t_int, t_float, t_bool, t_ts;   /* CSV text */
    bool s_str, s_num, s_bool, n_float, s_ts;       /* JSON kinds seen */
    bool date;    /* every timestamp seen so far is a bare YYYY-MM-DD: a DATE column */
} http_infer;
void http_infer_init(http_infer *f);
void http_infer_cell(http_infer *f, const http_cell *c);
qv_type http_infer_result(const http_infer *f);

/* Append one cell to a builder of type t (SYMBOL columns use a STRING builder).
   Errors say line and column. */
int http_cell_append(qv_builder *b, qv_type t, bool nullable, const http_cell *c, int64_t line,
                     const char *col, qv_err *err);
/* The same for a cell of field f (its name, type, nullability), and the only
   one for DECIMAL, which needs f's precision and scale: text that is not a
   number is "not a DECIMAL", one too large "does not fit DECIMAL(p,s)". */
int http_cell_append_field(qv_builder *b, const qv_field *f, const http_cell *c, int64_t line, qv_err *err);

/* ---- Prometheus text helpers ---- */
void http_prom_header(qv_str *out, const char *name, const char *type, const char *help);
/* Label values escaped as the exposition format asks (\\, \", \n). */
void http_prom_label_value(qv_str *out, const char *v);

#endif
