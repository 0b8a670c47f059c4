/* placeholder until the sql module lands */
#include "sql/sql.h"
int sql_ctx_new(st_db *db, int t, int64_t m, sql_ctx **out, qv_err *err) { (void)db; (void)t; (void)m; *out = NULL; return qv_err_set(err, QV_EUNSUPPORTED, "sql not built yet"); }
