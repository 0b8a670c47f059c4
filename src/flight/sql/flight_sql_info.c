/*
** CommandGetSqlInfo: facts about the server and its SQL dialect, one row
** per id, in the specification's schema
**   info_name uint32 not null,
**   value dense_union<string_value utf8, bool_value bool, bigint_value int64,
**                     int32_bitmask int32, string_list list<utf8>,
**                     int32_to_int32_list_map map<int32, list<int32>>> not null.
** Every id the specification defines is answered (JDBC reads most of them);
** a request for ids we do not know returns rows only for those we do.
** The table below is data: id, kind, value.
*/
#include "flight_sql.h"

#include <stdlib.h>
#include <string.h>

enum { V_STR, V_BOOL, V_I64, V_I32, V_LIST, V_MAP };

typedef struct info_row {
    uint32_t id;
    int kind;
    int64_t num;       /* bool, int64, int32 */
    const char *str;   /* string; list: comma separated */
} info_row;

#define KEYWORDS                                                                                                   \
    "ASOF,BUCKET,DESCRIBE,EXPLAIN,EXTRACT,INTERVAL,LIMIT,SHOW,SYMBOL,TABLES,TIME_BUCKET"
#define NUMERIC_FUNCS "ABS,CEIL,CEILING,FLOOR,ROUND,SQRT,POWER,LN,LOG,EXP,SIGN,MOD"
#define STRING_FUNCS "LENGTH,LOWER,UPPER,SUBSTR,SUBSTRING,TRIM,CONCAT,REPLACE,STARTS_WITH,CONTAINS"
#define SYSTEM_FUNCS "COALESCE,NULLIF"
#define DATETIME_FUNCS "DATE_TRUNC,EXTRACT,TIME_BUCKET,NOW,EPOCH"

static const info_row rows[] = {
    {0, V_STR, 0, "Quiver"},
    {1, V_STR, 0, QV_VERSION},
    {2, V_STR, 0, "1.5.0"}, /* the Arrow columnar format version Quiver writes */
    {3, V_BOOL, 0, NULL},   /* read only: no */
    {4, V_BOOL, 1, NULL},   /* SQL: yes */
    {5, V_BOOL, 0, NULL},   /* Substrait: no */
    {6, V_STR, 0, ""},
    {7, V_STR, 0, ""},
    {8, V_I32, 0, NULL},    /* transactions: SQL_SUPPORTED_TRANSACTION_NONE */
    {9, V_BOOL, 1, NULL},   /* CancelFlightInfo */
    {10, V_BOOL, 1, NULL},  /* bulk ingestion */
    {11, V_BOOL, 0, NULL},  /* ingest inside transactions */
    {100, V_I32, -1, NULL}, /* prepared handles expire after --prepared-idle (filled in below) */
    {101, V_I32, 0, NULL},
    {500, V_BOOL, 0, NULL}, /* CREATE/DROP catalog */
    {501, V_BOOL, 0, NULL}, /* CREATE/DROP schema */
    {502, V_BOOL, 1, NULL}, /* CREATE/DROP table */
    {503, V_I32, 1, NULL},  /* identifiers: case insensitive */
    {504, V_STR, 0, "\""},
    {505, V_I32, 1, NULL},
    {506, V_BOOL, 1, NULL},
    {507, V_I32, 3, NULL},  /* NULLs sorted at end */
    {508, V_LIST, 0, KEYWORDS},
    {509, V_LIST, 0, NUMERIC_FUNCS},
    {510, V_LIST, 0, STRING_FUNCS},
    {511, V_LIST, 0, SYSTEM_FUNCS},
    {512, V_LIST, 0, DATETIME_FUNCS},
    {513, V_STR, 0, "\\"},
    {514, V_STR, 0, ""},
    {515, V_BOOL, 1, NULL},
    {516, V_BOOL, 1, NULL},
    {517, V_MAP, 0, NULL},
    {518, V_BOOL, 1, NULL},
    {519, V_BOOL, 0, NULL},
    {520, V_BOOL, 1, NULL},
    {521, V_BOOL, 1, NULL},
    {522, V_I32, 0, NULL},  /* GROUP BY: plain only */
    {523, V_BOOL, 0, NULL},
    {524, V_BOOL, 1, NULL},
    {525, V_I32, 1, NULL},  /* minimum grammar */
    {526, V_I32, 1, NULL},  /* ANSI92 entry */
    {527, V_BOOL, 0, NULL},
    {528, V_I32, 0, NULL},  /* no joins yet */
    {529, V_STR, 0, "schema"},
    {530, V_STR, 0, "procedure"},
    {531, V_STR, 0, "catalog"},
    {532, V_BOOL, 1, NULL},
    {533, V_I32, 0, NULL},
    {534, V_I32, 0, NULL},
    {535, V_I32, 0, NULL},
    {536, V_BOOL, 0, NULL},
    {537, V_BOOL, 0, NULL},
    {538, V_I32, 0, NULL},  /* subqueries only in FROM */
    {539, V_BOOL, 0, NULL},
    {540, V_I32, 0, NULL},
    {541, V_I64, 0, NULL},
    {542, V_I64, 1 << 20, NULL},
    {543, V_I64, QV_NAME_MAX, NULL},
    {544, V_I64, 0, NULL},
    {545, V_I64, 0, NULL},
    {546, V_I64, 0, NULL},
    {547, V_I64, 0, NULL},
    {548, V_I64, 0, NULL},
    {549, V_I64, 0, NULL},
    {550, V_I64, 0, NULL},
    {551, V_I64, 0, NULL},
    {552, V_I64, 0, NULL},
    {553, V_I64, 0, NULL},
    {554, V_I64, 0, NULL},
    {555, V_I64, 0, NULL},
    {556, V_BOOL, 0, NULL},
    {557, V_I64, 1 << 20, NULL},
    {558, V_I64, 0, NULL},
    {559, V_I64, QV_NAME_MAX, NULL},
    {560, V_I64, 1, NULL},
    {561, V_I64, 0, NULL},
    {562, V_I32, 0, NULL},  /* SQL_TRANSACTION_NONE */
    {563, V_BOOL, 0, NULL},
    {564, V_I32, 0, NULL},
    {565, V_BOOL, 0, NULL},
    {566, V_BOOL, 0, NULL},
    {567, V_I32, 2, NULL},  /* forward only */
    {568, V_I32, 0, NULL},
    {569, V_I32, 2, NULL},  /* read only */
    {570, V_I32, 0, NULL},
    {571, V_I32, 0, NULL},
    {572, V_BOOL, 1, NULL}, /* batch updates (executemany) */
    {573, V_BOOL, 0, NULL},
    {574, V_BOOL, 0, NULL},
    {575, V_BOOL, 0, NULL},
    {576, V_BOOL, 0, NULL},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* SQL_SUPPORTS_CONVERT: CAST between the numeric types and to/from VARCHAR. */
static const int32_t convert_from[] = {0, 6, 7, 13, 19}; /* BIGINT FLOAT INTEGER REAL VARCHAR */

static void append_value(fl_call *c, ipc_mcol *u, const info_row *x) {
    ipc_mcol **ch = u->child;
    switch (x->kind) {
    case V_STR: ipc_mcol_cstr(ch[0], x->str); break;
    case V_BOOL: ipc_mcol_bool(ch[1], x->num != 0); break;
    case V_I64: ipc_mcol_int(ch[2], x->num); break;
    case V_I32: ipc_mcol_int(ch[3], x->num >= 0 || !c ? x->num : eng_stmt_idle_ms(c->e)); break;
    case V_LIST: {
        ipc_mcol *item = ch[4]->child[0];
        for (const char *p = x->str; *p;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            ipc_mcol_str(item, p, n);
            p += n + (e ? 1 : 0);
        }
        ipc_mcol_list_row(ch[4]);
        break;
    }
    case V_MAP: {
        ipc_mcol *entries = ch[5]->child[0], *key = entries->child[0], *val = entries->child[1];
        for (size_t i = 0; i < sizeof convert_from / sizeof convert_from[0]; i++) {
            ipc_mcol_int(key, convert_from[i]);
            for (size_t j = 0; j < sizeof convert_from / sizeof convert_from[0]; j++)
                ipc_mcol_int(val->child[0], convert_from[j]);
            ipc_mcol_list_row(val);
            ipc_mcol_struct_row(entries);
        }
        ipc_mcol_list_row(ch[5]);
        break;
    }
    default: return;
    }
    ipc_mcol_union_row(u, x->kind);
}

static ipc_mcol *value_column(fl_sql_result *r) {
    ipc_mcol *u = fl_sql_result_col(r, "value", IPC_MT_DENSE_UNION, false);
    ipc_mcol_add_child(u, ipc_mcol_new("string_value", IPC_MT_UTF8, true));
    ipc_mcol_add_child(u, ipc_mcol_new("bool_value", IPC_MT_BOOL, true));
    ipc_mcol_add_child(u, ipc_mcol_new("bigint_value", IPC_MT_INT64, true));
    ipc_mcol_add_child(u, ipc_mcol_new("int32_bitmask", IPC_MT_INT32, true));
    ipc_mcol *list = ipc_mcol_add_child(u, ipc_mcol_new("string_list", IPC_MT_LIST, true));
    ipc_mcol_add_child(list, ipc_mcol_new("string_data", IPC_MT_UTF8, true));
    ipc_mcol *map = ipc_mcol_add_child(u, ipc_mcol_new("int32_to_int32_list_map", IPC_MT_MAP, true));
    ipc_mcol *entries = ipc_mcol_add_child(map, ipc_mcol_new("entries", IPC_MT_STRUCT, false));
    ipc_mcol_add_child(entries, ipc_mcol_new("key", IPC_MT_INT32, false));
    ipc_mcol *vl = ipc_mcol_add_child(entries, ipc_mcol_new("value", IPC_MT_LIST, true));
    ipc_mcol_add_child(vl, ipc_mcol_new("$data$", IPC_MT_INT32, true));
    return u;
}

int fl_sql_get_sql_info(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    Arrow__Flight__Protocol__Sql__CommandGetSqlInfo *m =
        arrow__flight__protocol__sql__command_get_sql_info__unpack(NULL, in->value_len, in->value);
    if (!m) return qv_err_set(err, QV_EINVAL, "CommandGetSqlInfo: malformed message");
    ipc_mcol *name = fl_sql_result_col(r, "info_name", IPC_MT_UINT32, false);
    ipc_mcol *u = value_column(r);
    if (m->n_info == 0) {
        for (size_t i = 0; i < NROWS; i++) {
            ipc_mcol_int(name, rows[i].id);
            append_value(c, u, &rows[i]);
        }
    }
    for (size_t k = 0; k < m->n_info; k++)
        for (size_t i = 0; i < NROWS; i++)
            if (rows[i].id == m->info[k]) {
                ipc_mcol_int(name, rows[i].id);
                append_value(c, u, &rows[i]);
            }
    arrow__flight__protocol__sql__command_get_sql_info__free_unpacked(m, NULL);
    return QV_OK;
}
