/* placeholder until the storage module lands */
#include "storage/storage.h"
int st_db_open(const st_options *o, st_db **out, qv_err *err) { (void)o; *out = NULL; return qv_err_set(err, QV_EUNSUPPORTED, "storage not built yet"); }
void st_db_close(st_db *db) { (void)db; }
