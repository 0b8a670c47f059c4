/*
** Authentication and role checks for Flight calls (the users, tokens and
** hashes themselves live in src/auth).
**
** Every call but Handshake must carry `authorization: Bearer <token>` or
** `authorization: Basic <base64 user:password>` once --users is given;
** fl_auth_start checks it when the call arrives, before any message is
** read, and fills c->id. Handshake takes Basic credentials (as pyarrow's
** authenticate_basic_token and the ADBC/JDBC drivers send them) and
** answers with an `authorization: Bearer <token>` initial-metadata header.
** Then each RPC needs a role (table below); SQL needs the role of its
** statement kind (fl_call_authorize_query), actions theirs.
** A token is never logged: messages say what was refused, not with what.
*/
#include <grpc/support/alloc.h>
#include <stdio.h>
#include <string.h>

#include "flight_internal.h"

/* The role an RPC needs before anything it carries is looked at. DoPut then
   needs write for what it carries (flight_rpc_doput.c, flight_sql_put.c),
   except binding the parameters of a prepared query, which is a read. */
static const struct {
    const char *rpc;
    auth_role need;
} rpc_roles[] = {
    {"Handshake", AUTH_ROLE_NONE},    {"ListFlights", AUTH_ROLE_READ}, {"GetFlightInfo", AUTH_ROLE_READ},
    {"PollFlightInfo", AUTH_ROLE_READ}, {"GetSchema", AUTH_ROLE_READ}, {"DoGet", AUTH_ROLE_READ},
    {"DoPut", AUTH_ROLE_READ},        {"DoExchange", AUTH_ROLE_WRITE}, {"DoAction", AUTH_ROLE_READ},
    {"ListActions", AUTH_ROLE_READ},
};

/* Actions that need more than read (anything else needs read). */
static const struct {
    const char *action;
    auth_role need;
} action_roles[] = {
    {"drop_table", AUTH_ROLE_ADMIN},
};

static auth_role rpc_need(const char *name) {
    for (size_t i = 0; i < sizeof rpc_roles / sizeof rpc_roles[0]; i++)
        if (strcmp(rpc_roles[i].rpc, name) == 0) return rpc_roles[i].need;
    return AUTH_ROLE_ADMIN; /* an RPC nobody classified */
}

static auth_role map_access(eng_access a) {
    switch (a) {
    case ENG_ACCESS_READ: return AUTH_ROLE_READ;
    case ENG_ACCESS_WRITE: return AUTH_ROLE_WRITE;
    case ENG_ACCESS_ADMIN: return AUTH_ROLE_ADMIN;
    }
    return AUTH_ROLE_ADMIN;
}

/* "ipv4:127.0.0.1:5555" -> "127.0.0.1"; "ipv6:[::1]:5555" -> "[::1]". */
static void peer_address(grpc_call *call, char *out, size_t n) {
    char *p = grpc_call_get_peer(call);
    const char *a = p ? p : "";
    const char *colon = strchr(a, ':');
    if (colon && (strncmp(a, "ipv4:", 5) == 0 || strncmp(a, "ipv6:", 5) == 0)) a = colon + 1;
    snprintf(out, n, "%s", a);
    char *last = strrchr(out, ':');
    if (last && (out[0] != '[' || (last > out && last[-1] == ']'))) *last = 0;
    if (p) gpr_free(p);
}

static const grpc_metadata *find_header(const grpc_metadata_array *md, const char *key) {
    size_t kn = strlen(key);
    for (size_t i = 0; i < md->count; i++) {
        const grpc_slice *k = &md->metadata[i].key;
        if (GRPC_SLICE_LENGTH(*k) == kn && strncasecmp((const char *)GRPC_SLICE_START_PTR(*k), key, kn) == 0)
            return &md->metadata[i];
    }
    return NULL;
}

static void count_refusal(fl_call *c, enum eng_refusal why) {
    atomic_fetch_add(&eng_get_metrics(c->e)->refusals[why], 1);
}

int fl_auth_start(fl_call *c, qv_err *err) {
    auth_store *as = fl_call_auth(c);
    if (!as) {
        snprintf(c->id.user, sizeof c->id.user, "anonymous");
        c->id.role = AUTH_ROLE_ADMIN;
        return QV_OK;
    }
    const grpc_metadata *h = find_header(&c->req_md, "authorization");
    bool handshake = strcmp(c->rpc->name, "Handshake") == 0;
    char peer[64];
    peer_address(c->call, peer, sizeof peer);
    int64_t retry = 0;
    int rc = auth_check(as, peer, h ? (const char *)GRPC_SLICE_START_PTR(h->value) : NULL,
                        h ? GRPC_SLICE_LENGTH(h->value) : 0, &c->id, &retry, err);
    if (rc) {
        count_refusal(c, ENG_REFUSE_UNAUTHENTICATED);
        QV_INFO("flight %s from %s: refused: %s", c->rpc->name, peer, err->msg);
        return qv_err_prefix(err, "%s", c->rpc->name);
    }
    if (handshake) {
        char tok[AUTH_TOKEN_CHARS + 1], val[AUTH_TOKEN_CHARS + 8];
        auth_token_issue(as, &c->id, tok);
        snprintf(val, sizeof val, "Bearer %s", tok);
        fl_call_add_initial_metadata(c, "authorization", val);
        QV_INFO("flight: user %s logged in from %s", c->id.user, peer);
    }
    char what[80];
    snprintf(what, sizeof what, "call %s", c->rpc->name);
    return fl_call_authorize(c, rpc_need(c->rpc->name), what, err);
}

int fl_call_authorize(fl_call *c, auth_role need, const char *what, qv_err *err) {
    int rc = auth_require(fl_call_auth(c), &c->id, need, what, err);
    if (rc) count_refusal(c, ENG_REFUSE_PERMISSION);
    return rc;
}

int fl_call_authorize_query(fl_call *c, const eng_query *q, qv_err *err) {
    const char *verb = "?";
    auth_role need = map_access(eng_query_access(q, &verb));
    char what[80];
    snprintf(what, sizeof what, "run %s", verb);
    return fl_call_authorize(c, need, what, err);
}

int fl_call_authorize_action(fl_call *c, const char *type, qv_err *err) {
    auth_role need = AUTH_ROLE_READ;
    for (size_t i = 0; i < sizeof action_roles / sizeof action_roles[0]; i++)
        if (strcmp(action_roles[i].action, type) == 0) need = action_roles[i].need;
    char what[160];
    snprintf(what, sizeof what, "run action %.100s", type);
    return fl_call_authorize(c, need, what, err);
}

int fl_call_authorize_sql(fl_call *c, const char *sql, size_t len, qv_err *err) {
    if (!fl_call_auth(c) || c->id.role >= AUTH_ROLE_ADMIN) return QV_OK;
    eng_query *q = NULL;
    if (eng_query_open(c->e, sql, len, &q, err)) return err->code;
    int rc = fl_call_authorize_query(c, q, err);
    eng_query_close(q);
    return rc;
}
