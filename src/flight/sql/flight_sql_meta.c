/*
** Flight SQL catalog metadata: catalogs, database schemas, tables, table
** types, keys and the XDBC type list, each with the result schema the
** Flight SQL specification fixes (names, types, nullability, order), since
** clients read these columns by name. Quiver has one catalog ("quiver") with
** one schema ("main") holding every table; it has no keys. Stateless: each
** call builds its table from the current catalog and returns it.
*/
#include "flight_sql.h"

#include <stdlib.h>
#include <string.h>

typedef ipc_mcol col;

#define UNPACK(type, fn, in, what, err)                                                                            \
    type *m = fn##__unpack(NULL, (in)->value_len, (in)->value);                                                    \
    if (!m) return qv_err_set(err, QV_EINVAL, "%s: malformed message", what)

static bool catalog_matches(const char *catalog) { return !catalog || strcmp(catalog, FL_SQL_CATALOG) == 0; }
static bool schema_matches(const char *pattern) { return !pattern || fl_sql_like(pattern, FL_SQL_SCHEMA); }

int fl_sql_get_catalogs(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    (void)in;
    (void)err;
    col *name = fl_sql_result_col(r, "catalog_name", IPC_MT_UTF8, false);
    ipc_mcol_cstr(name, FL_SQL_CATALOG);
    return QV_OK;
}

int fl_sql_get_db_schemas(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    UNPACK(Arrow__Flight__Protocol__Sql__CommandGetDbSchemas, arrow__flight__protocol__sql__command_get_db_schemas,
           in, "CommandGetDbSchemas", err);
    col *cat = fl_sql_result_col(r, "catalog_name", IPC_MT_UTF8, true);
    col *name = fl_sql_result_col(r, "db_schema_name", IPC_MT_UTF8, false);
    if (catalog_matches(m->catalog) && schema_matches(m->db_schema_filter_pattern)) {
        ipc_mcol_cstr(cat, FL_SQL_CATALOG);
        ipc_mcol_cstr(name, FL_SQL_SCHEMA);
    }
    arrow__flight__protocol__sql__command_get_db_schemas__free_unpacked(m, NULL);
    return QV_OK;
}

static int cmp_info(const void *a, const void *b) {
    return strcmp(((const st_table_info *)a)->name, ((const st_table_info *)b)->name);
}

static bool type_wanted(char **types, size_t n) {
    if (n == 0) return true;
    for (size_t i = 0; i < n; i++)
        if (types[i] && strcmp(types[i], "TABLE") == 0) return true;
    return false;
}

static const ipc_write_options schema_opts; /* as DoGet streams a table */

int fl_sql_get_tables(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    UNPACK(Arrow__Flight__Protocol__Sql__CommandGetTables, arrow__flight__protocol__sql__command_get_tables, in,
           "CommandGetTables", err);
    bool with_schema = m->has_include_schema && m->include_schema;
    col *cat = fl_sql_result_col(r, "catalog_name", IPC_MT_UTF8, true);
    col *sch = fl_sql_result_col(r, "db_schema_name", IPC_MT_UTF8, true);
    col *name = fl_sql_result_col(r, "table_name", IPC_MT_UTF8, false);
    col *type = fl_sql_result_col(r, "table_type", IPC_MT_UTF8, false);
    col *ts = with_schema ? fl_sql_result_col(r, "table_schema", IPC_MT_BINARY, false) : NULL;
    st_table_info *tabs = NULL;
    int n = 0, rc = QV_OK;
    if (catalog_matches(m->catalog) && schema_matches(m->db_schema_filter_pattern) &&
        type_wanted(m->table_types, m->n_table_types))
        rc = eng_tables(c->e, &tabs, &n, err);
    if (tabs) qsort(tabs, (size_t)n, sizeof *tabs, cmp_info);
    for (int i = 0; rc == QV_OK && i < n; i++) {
        if (m->table_name_filter_pattern && !fl_sql_like(m->table_name_filter_pattern, tabs[i].name)) continue;
        ipc_mcol_cstr(cat, FL_SQL_CATALOG);
        ipc_mcol_cstr(sch, FL_SQL_SCHEMA);
        ipc_mcol_cstr(name, tabs[i].name);
        ipc_mcol_cstr(type, "TABLE");
        if (ts) {
            qv_str b;
            qv_str_init(&b);
            rc = ipc_schema_to_bytes(&tabs[i].schema, &schema_opts, &b, err);
            ipc_mcol_str(ts, b.data ? b.data : "", b.len);
            qv_str_free(&b);
        }
    }
    if (tabs) st_table_info_free_all(tabs, n);
    arrow__flight__protocol__sql__command_get_tables__free_unpacked(m, NULL);
    return rc;
}

int fl_sql_get_table_types(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    (void)in;
    (void)err;
    ipc_mcol_cstr(fl_sql_result_col(r, "table_type", IPC_MT_UTF8, false), "TABLE");
    return QV_OK;
}

int fl_sql_get_primary_keys(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    UNPACK(Arrow__Flight__Protocol__Sql__CommandGetPrimaryKeys, arrow__flight__protocol__sql__command_get_primary_keys,
           in, "CommandGetPrimaryKeys", err);
    arrow__flight__protocol__sql__command_get_primary_keys__free_unpacked(m, NULL);
    fl_sql_result_col(r, "catalog_name", IPC_MT_UTF8, true);
    fl_sql_result_col(r, "db_schema_name", IPC_MT_UTF8, true);
    fl_sql_result_col(r, "table_name", IPC_MT_UTF8, false);
    fl_sql_result_col(r, "column_name", IPC_MT_UTF8, false);
    fl_sql_result_col(r, "key_name", IPC_MT_UTF8, true);
    fl_sql_result_col(r, "key_sequence", IPC_MT_INT32, false);
    return QV_OK;
}

/* The foreign key listing shared by exported, imported and cross reference. */
static void key_columns(fl_sql_result *r) {
    static const struct {
        const char *name;
        ipc_mtype t;
        bool nullable;
    } k[] = {
        {"pk_catalog_name", IPC_MT_UTF8, true},  {"pk_db_schema_name", IPC_MT_UTF8, true},
        {"pk_table_name", IPC_MT_UTF8, false},   {"pk_column_name", IPC_MT_UTF8, false},
        {"fk_catalog_name", IPC_MT_UTF8, true},  {"fk_db_schema_name", IPC_MT_UTF8, true},
        {"fk_table_name", IPC_MT_UTF8, false},   {"fk_column_name", IPC_MT_UTF8, false},
        {"key_sequence", IPC_MT_INT32, false},   {"fk_key_name", IPC_MT_UTF8, true},
        {"pk_key_name", IPC_MT_UTF8, true},      {"update_rule", IPC_MT_UINT8, false},
        {"delete_rule", IPC_MT_UINT8, false},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) fl_sql_result_col(r, k[i].name, k[i].t, k[i].nullable);
}

int fl_sql_get_exported_keys(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    UNPACK(Arrow__Flight__Protocol__Sql__CommandGetExportedKeys,
           arrow__flight__protocol__sql__command_get_exported_keys, in, "CommandGetExportedKeys", err);
    arrow__flight__protocol__sql__command_get_exported_keys__free_unpacked(m, NULL);
    key_columns(r);
    return QV_OK;
}

int fl_sql_get_imported_keys(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    UNPACK(Arrow__Flight__Protocol__Sql__CommandGetImportedKeys,
           arrow__flight__protocol__sql__command_get_imported_keys, in, "CommandGetImportedKeys", err);
    arrow__flight__protocol__sql__command_get_imported_keys__free_unpacked(m, NULL);
    key_columns(r);
    return QV_OK;
}

int fl_sql_get_cross_reference(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    UNPACK(Arrow__Flight__Protocol__Sql__CommandGetCrossReference,
           arrow__flight__protocol__sql__command_get_cross_reference, in, "CommandGetCrossReference", err);
    arrow__flight__protocol__sql__command_get_cross_reference__free_unpacked(m, NULL);
    key_columns(r);
    return QV_OK;
}

/* ---- XDBC type info: one row per SQL type name Quiver accepts ---- */

typedef struct xdbc_row {
    const char *name;
    int32_t data_type;   /* XdbcDataType */
    int32_t column_size; /* 0: NULL */
    const char *prefix, *suffix;
    bool case_sensitive;
    int32_t searchable;  /* Searchable */
    int signedness;      /* -1 NULL, 0 signed, 1 unsigned */
    int32_t radix;       /* 0: NULL */
    int32_t subcode;     /* -1: NULL */
} xdbc_row;

/* Ordered by data_type, then type_name, as the specification asks. */
static const xdbc_row xdbc_rows[] = {
    {"BOOLEAN", -7, 1, NULL, NULL, false, 2, -1, 0, -1},
    {"BIGINT", -5, 19, NULL, NULL, false, 2, 0, 10, -1},
    {"NUMERIC", 2, QV_DEC_MAX_PREC, NULL, NULL, false, 2, 0, 10, -1}, /* DECIMAL's other name */
    {"DECIMAL", 3, QV_DEC_MAX_PREC, NULL, NULL, false, 2, 0, 10, -1},
    {"INTEGER", 4, 10, NULL, NULL, false, 2, 0, 10, -1},
    {"REAL", 7, 24, NULL, NULL, false, 2, 0, 2, -1},
    {"DOUBLE", 8, 53, NULL, NULL, false, 2, 0, 2, -1},
    {"INTERVAL", 10, 0, "INTERVAL '", "'", false, 2, -1, 0, 110}, /* XDBC_SUBCODE_INTERVAL_DAY_TO_SECOND */
    {"SYMBOL", 12, 0, "'", "'", true, 3, -1, 0, -1},
    {"VARCHAR", 12, 0, "'", "'", true, 3, -1, 0, -1},
    {"DATE", 91, 10, "DATE '", "'", false, 2, -1, 0, 1},
    {"TIME", 92, 18, "TIME '", "'", false, 2, -1, 0, 2}, /* XDBC_SUBCODE_TIME; HH:MM:SS.fffffffff */
    {"TIMESTAMP", 93, 29, "TIMESTAMP '", "'", false, 2, -1, 0, 3},
};

static void opt_int(col *c, int64_t v, bool present) {
    if (present)
        ipc_mcol_int(c, v);
    else
        ipc_mcol_null(c);
}

int fl_sql_get_xdbc_type_info(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    (void)c;
    UNPACK(Arrow__Flight__Protocol__Sql__CommandGetXdbcTypeInfo,
           arrow__flight__protocol__sql__command_get_xdbc_type_info, in, "CommandGetXdbcTypeInfo", err);
    col *type_name = fl_sql_result_col(r, "type_name", IPC_MT_UTF8, false);
    col *data_type = fl_sql_result_col(r, "data_type", IPC_MT_INT32, false);
    col *column_size = fl_sql_result_col(r, "column_size", IPC_MT_INT32, true);
    col *prefix = fl_sql_result_col(r, "literal_prefix", IPC_MT_UTF8, true);
    col *suffix = fl_sql_result_col(r, "literal_suffix", IPC_MT_UTF8, true);
    col *params = fl_sql_result_col(r, "create_params", IPC_MT_LIST, true);
    ipc_mcol_add_child(params, ipc_mcol_new("item", IPC_MT_UTF8, false));
    col *nullable = fl_sql_result_col(r, "nullable", IPC_MT_INT32, false);
    col *case_sens = fl_sql_result_col(r, "case_sensitive", IPC_MT_BOOL, false);
    col *searchable = fl_sql_result_col(r, "searchable", IPC_MT_INT32, false);
    col *unsig = fl_sql_result_col(r, "unsigned_attribute", IPC_MT_BOOL, true);
    col *fixed = fl_sql_result_col(r, "fixed_prec_scale", IPC_MT_BOOL, false);
    col *autoinc = fl_sql_result_col(r, "auto_increment", IPC_MT_BOOL, true);
    col *local = fl_sql_result_col(r, "local_type_name", IPC_MT_UTF8, true);
    col *min_scale = fl_sql_result_col(r, "minimum_scale", IPC_MT_INT32, true);
    col *max_scale = fl_sql_result_col(r, "maximum_scale", IPC_MT_INT32, true);
    col *sql_type = fl_sql_result_col(r, "sql_data_type", IPC_MT_INT32, false);
    col *subcode = fl_sql_result_col(r, "datetime_subcode", IPC_MT_INT32, true);
    col *radix = fl_sql_result_col(r, "num_prec_radix", IPC_MT_INT32, true);
    col *interval = fl_sql_result_col(r, "interval_precision", IPC_MT_INT32, true);
    for (size_t i = 0; i < sizeof xdbc_rows / sizeof xdbc_rows[0]; i++) {
        const xdbc_row *x = &xdbc_rows[i];
        if (m->has_data_type && m->data_type != x->data_type) continue;
        bool ts = x->data_type == 93 || x->data_type == 92, dt = ts || x->data_type == 91, iv = x->data_type == 10;
        bool dec = x->data_type == 2 || x->data_type == 3; /* DECIMAL(p, s): p up to 18, s 0..p */
        ipc_mcol_cstr(type_name, x->name);
        ipc_mcol_int(data_type, x->data_type);
        opt_int(column_size, x->column_size, x->column_size != 0);
        ipc_mcol_cstr(prefix, x->prefix);
        ipc_mcol_cstr(suffix, x->suffix);
        if (dec) {
            ipc_mcol_cstr(params->child[0], "precision");
            ipc_mcol_cstr(params->child[0], "scale");
            ipc_mcol_list_row(params);
        } else {
            ipc_mcol_null(params);
        }
        ipc_mcol_int(nullable, 1); /* NULLABILITY_NULLABLE */
        ipc_mcol_bool(case_sens, x->case_sensitive);
        ipc_mcol_int(searchable, x->searchable);
        if (x->signedness < 0)
            ipc_mcol_null(unsig);
        else
            ipc_mcol_bool(unsig, x->signedness == 1);
        ipc_mcol_bool(fixed, false);
        if (x->signedness < 0)
            ipc_mcol_null(autoinc);
        else
            ipc_mcol_bool(autoinc, false);
        ipc_mcol_cstr(local, x->name);
        opt_int(min_scale, ts || iv ? 9 : 0, ts || iv || dec); /* INTERVAL: nanoseconds, as TIMESTAMP */
        opt_int(max_scale, ts || iv ? 9 : QV_DEC_MAX_PREC, ts || iv || dec);
        ipc_mcol_int(sql_type, dt ? 9 : x->data_type); /* datetime types use the generic XDBC_DATETIME */
        opt_int(subcode, x->subcode, dt || iv); /* XDBC_SUBCODE_DATE 1, _TIME 2, _TIMESTAMP 3, _INTERVAL_DAY_TO_SECOND 110 */
        opt_int(radix, x->radix, x->radix != 0);
        opt_int(interval, 9, iv); /* fractional-second digits of an INTERVAL */
    }
    arrow__flight__protocol__sql__command_get_xdbc_type_info__free_unpacked(m, NULL);
    return QV_OK;
}
