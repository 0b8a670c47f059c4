/* placeholder until the http module lands */
#include "http/http.h"
int http_server_start(eng *e, const http_options *o, http_server **out, int *port, qv_err *err) { (void)e; (void)o; *out = NULL; *port = 0; return qv_err_set(err, QV_EUNSUPPORTED, "http not built yet"); }
void http_server_shutdown(http_server *s, int g) { (void)s; (void)g; }
void http_server_free(http_server *s) { (void)s; }
