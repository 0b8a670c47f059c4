/* placeholder until the engine lands */
#include "engine/engine.h"
int eng_open(const eng_options *o, eng **out, qv_err *err) { (void)o; *out = NULL; return qv_err_set(err, QV_EUNSUPPORTED, "engine not built yet"); }
void eng_close(eng *e) { (void)e; }
