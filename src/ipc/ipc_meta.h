/*
** ipc_meta: small result tables of Arrow types beyond Quiver's column types
** (uint8/uint32, binary, list, map, struct, dense union), built row by row
** and encoded as IPC Schema and RecordBatch messages. Flight SQL's metadata
** replies (GetSqlInfo, GetTables, GetXdbcTypeInfo, ...) have fixed schemas
** of such types. Not for bulk data: every value is copied into the column.
**
** Ownership: a column owns its children (ipc_mcol_add_child hands them
** over) and its value bytes; ipc_mcol_free frees the whole tree. Encoded
** messages own copies of the bytes, so columns may be freed right after.
**
** Appending: a leaf takes one value (or a null) per row. A list or map row
** is closed with ipc_mcol_list_row after appending its elements to the
** child (a map's child is its "entries" struct). A struct row is closed with
** ipc_mcol_struct_row after one value went to every child. A dense union
** row names the child that just got its value (ipc_mcol_union_row).
*/
#ifndef QUIVER_IPC_META_H
#define QUIVER_IPC_META_H

#include "ipc/ipc.h"

typedef enum ipc_mtype {
    IPC_MT_UTF8 = 1,
    IPC_MT_BINARY,
    IPC_MT_BOOL,
    IPC_MT_UINT8,
    IPC_MT_INT32,
    IPC_MT_UINT32,
    IPC_MT_INT64,
    IPC_MT_LIST,
    IPC_MT_MAP,
    IPC_MT_STRUCT,
    IPC_MT_DENSE_UNION,
} ipc_mtype;

typedef struct ipc_mcol ipc_mcol;
struct ipc_mcol {
    char *name;
    ipc_mtype type;
    bool nullable;
    ipc_mcol **child;
    int nchild;
    int64_t length, nulls;
    qv_str valid;   /* one byte per row (packed at encode time) */
    qv_str vals;    /* fixed values; list/map/utf8/binary: int32 offsets; union: int8 type ids */
    qv_str data;    /* utf8/binary bytes; union: int32 offsets */
};

ipc_mcol *ipc_mcol_new(const char *name, ipc_mtype type, bool nullable);
/* Takes ownership of child; returns it for chaining. */
ipc_mcol *ipc_mcol_add_child(ipc_mcol *parent, ipc_mcol *child);
void ipc_mcol_free(ipc_mcol *c);

void ipc_mcol_null(ipc_mcol *c);                            /* any type but union */
void ipc_mcol_str(ipc_mcol *c, const char *s, size_t n);    /* UTF8, BINARY */
void ipc_mcol_cstr(ipc_mcol *c, const char *s);             /* UTF8; NULL appends a null */
void ipc_mcol_int(ipc_mcol *c, int64_t v);                  /* UINT8, INT32, UINT32, INT64 */
void ipc_mcol_bool(ipc_mcol *c, bool v);
void ipc_mcol_list_row(ipc_mcol *c);                        /* LIST, MAP */
void ipc_mcol_struct_row(ipc_mcol *c);
void ipc_mcol_union_row(ipc_mcol *c, int type_id);          /* type_id = child index */

/* Schema message for the columns (what DoGet sends first). */
int ipc_mcols_schema(ipc_mcol *const *cols, int n, ipc_message *out, qv_err *err);
/* The same, framed for FlightInfo.schema / SchemaResult. */
int ipc_mcols_schema_bytes(ipc_mcol *const *cols, int n, qv_str *out, qv_err *err);
/* One RecordBatch of every row appended so far (columns must agree in length). */
int ipc_mcols_batch(ipc_mcol *const *cols, int n, ipc_message *out, qv_err *err);

#endif
