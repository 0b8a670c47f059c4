/*
** Sessions and prepared statements for the Flight SQL front end.
**
** A session is named by the front end (Flight SQL: the arrow_flight_session_id
** cookie; "" for clients that send none). It holds options set by the client
** (catalog, schema) and prepared statements. A prepared statement is the SQL
** text, checked at create time, plus the parameter rows bound last; its handle
** is random text, so one session cannot guess another's.
**
** States of a statement: created -> (bound)* -> closed | expired. It expires
** when unused for the idle time (default 30 minutes), and it dies with its
** session (eng_session_close). Lookups of a closed, expired or foreign handle
** say QV_ENOTFOUND, the same answer for all three.
**
** Ownership: the registry (one per engine, under one mutex) owns every
** statement, its SQL copy and a ref-holding copy of its bound parameters.
** eng_stmt_get hands out copies (caller frees with eng_stmt_view_free).
*/
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DEFAULT_IDLE_NS (30LL * 60 * 1000000000)
#define MAX_STMTS 4096
#define MAX_OPTIONS 32

typedef struct stmt_ent {
    char handle[ENG_HANDLE_LEN + 1];
    char *session;
    char *sql;
    size_t len;
    bool has_params;
    qv_batch params;
    int64_t used_ns;
} stmt_ent;

typedef struct sess_opt {
    char *session, *name, *value;
} sess_opt;

struct eng_sessions {
    pthread_mutex_t mu;
    stmt_ent *st;
    int n, cap;
    sess_opt *opt;
    int nopt, capopt;
    int64_t idle_ns;
};

eng_sessions *eng_sessions_new(void) {
    eng_sessions *s = qv_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->idle_ns = DEFAULT_IDLE_NS;
    return s;
}

static void ent_free(stmt_ent *x) {
    free(x->session);
    free(x->sql);
    if (x->has_params) qv_batch_free(&x->params);
}

void eng_sessions_free(eng_sessions *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) ent_free(&s->st[i]);
    for (int i = 0; i < s->nopt; i++) {
        free(s->opt[i].session);
        free(s->opt[i].name);
        free(s->opt[i].value);
    }
    free(s->st);
    free(s->opt);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void eng_stmt_set_idle_ms(eng *e, int64_t ms) {
    pthread_mutex_lock(&e->sessions->mu);
    e->sessions->idle_ns = ms > 0 ? ms * 1000000 : DEFAULT_IDLE_NS;
    pthread_mutex_unlock(&e->sessions->mu);
}

int64_t eng_stmt_idle_ms(eng *e) {
    pthread_mutex_lock(&e->sessions->mu);
    int64_t ms = e->sessions->idle_ns / 1000000;
    pthread_mutex_unlock(&e->sessions->mu);
    return ms;
}

static void remove_at(eng_sessions *s, int i) {
    ent_free(&s->st[i]);
    s->st[i] = s->st[--s->n];
}

/* Under s->mu: drop statements idle for too long. */
static void sweep(eng_sessions *s, int64_t now) {
    for (int i = s->n - 1; i >= 0; i--)
        if (now - s->st[i].used_ns > s->idle_ns) remove_at(s, i);
}

static int find(eng_sessions *s, const char *session, const uint8_t *h, size_t n) {
    if (n != ENG_HANDLE_LEN) return -1;
    for (int i = 0; i < s->n; i++)
        if (memcmp(s->st[i].handle, h, n) == 0 && strcmp(s->st[i].session, session) == 0) return i;
    return -1;
}

static void new_handle(char *out) {
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) { /* not expected; still unique per process */
        static atomic_llong ctr;
        int64_t v = qv_monotonic_ns() ^ (int64_t)atomic_fetch_add(&ctr, 1);
        memcpy(r, &v, 8);
        memcpy(r + 8, &v, 8);
    }
    memcpy(out, "qvps", 4);
    for (int i = 0; i < 16; i++) snprintf(out + 4 + 2 * i, 3, "%02x", r[i]);
}

int eng_stmt_create(eng *e, const char *session, const char *sql, size_t len, char *handle, qv_err *err) {
    eng_sessions *s = e->sessions;
    pthread_mutex_lock(&s->mu);
    sweep(s, qv_monotonic_ns());
    if (s->n >= MAX_STMTS) {
        pthread_mutex_unlock(&s->mu);
        return qv_err_set(err, QV_ERESOURCE, "too many open prepared statements (%d); close some", MAX_STMTS);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->st = qv_xrealloc(s->st, sizeof(stmt_ent) * (size_t)s->cap);
    }
    stmt_ent *x = &s->st[s->n++];
    memset(x, 0, sizeof *x);
    new_handle(x->handle);
    x->session = qv_xstrdup(session ? session : "");
    x->sql = qv_xstrndup(sql, len);
    x->len = len;
    x->used_ns = qv_monotonic_ns();
    memcpy(handle, x->handle, ENG_HANDLE_LEN + 1);
    pthread_mutex_unlock(&s->mu);
    return QV_OK;
}

static int not_found(qv_err *err) {
    return qv_err_set(err, QV_ENOTFOUND,
                      "prepared statement handle is unknown: closed, expired, or created in another session");
}

int eng_stmt_get(eng *e, const char *session, const uint8_t *h, size_t n, eng_stmt_view *out, qv_err *err) {
    eng_sessions *s = e->sessions;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    int64_t now = qv_monotonic_ns();
    sweep(s, now);
    int i = find(s, session ? session : "", h, n);
    if (i < 0) {
        pthread_mutex_unlock(&s->mu);
        return not_found(err);
    }
    stmt_ent *x = &s->st[i];
    x->used_ns = now;
    out->sql = qv_xstrndup(x->sql, x->len);
    out->len = x->len;
    if (x->has_params) {
        qv_batch_copy_ref(&out->params, &x->params);
        out->has_params = true;
    }
    pthread_mutex_unlock(&s->mu);
    return QV_OK;
}

void eng_stmt_view_free(eng_stmt_view *v) {
    free(v->sql);
    if (v->has_params) qv_batch_free(&v->params);
    memset(v, 0, sizeof *v);
}

int eng_stmt_bind(eng *e, const char *session, const uint8_t *h, size_t n, const qv_batch *params, qv_err *err) {
    eng_sessions *s = e->sessions;
    pthread_mutex_lock(&s->mu);
    int i = find(s, session ? session : "", h, n);
    if (i < 0) {
        pthread_mutex_unlock(&s->mu);
        return not_found(err);
    }
    stmt_ent *x = &s->st[i];
    if (x->has_params) qv_batch_free(&x->params);
    x->has_params = params != NULL;
    if (params) qv_batch_copy_ref(&x->params, params);
    x->used_ns = qv_monotonic_ns();
    pthread_mutex_unlock(&s->mu);
    return QV_OK;
}

int eng_stmt_close(eng *e, const char *session, const uint8_t *h, size_t n, qv_err *err) {
    eng_sessions *s = e->sessions;
    pthread_mutex_lock(&s->mu);
    int i = find(s, session ? session : "", h, n);
    if (i >= 0) remove_at(s, i);
    pthread_mutex_unlock(&s->mu);
    return i < 0 ? not_found(err) : QV_OK;
}

void eng_session_close(eng *e, const char *session) {
    eng_sessions *s = e->sessions;
    pthread_mutex_lock(&s->mu);
    for (int i = s->n - 1; i >= 0; i--)
        if (strcmp(s->st[i].session, session) == 0) remove_at(s, i);
    for (int i = s->nopt - 1; i >= 0; i--)
        if (strcmp(s->opt[i].session, session) == 0) {
            free(s->opt[i].session);
            free(s->opt[i].name);
            free(s->opt[i].value);
            s->opt[i] = s->opt[--s->nopt];
        }
    pthread_mutex_unlock(&s->mu);
}

int eng_session_set(eng *e, const char *session, const char *name, const char *value, qv_err *err) {
    eng_sessions *s = e->sessions;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nopt; i++)
        if (strcmp(s->opt[i].session, session) == 0 && strcmp(s->opt[i].name, name) == 0) {
            free(s->opt[i].value);
            s->opt[i].value = qv_xstrdup(value);
            pthread_mutex_unlock(&s->mu);
            return QV_OK;
        }
    if (s->nopt >= MAX_OPTIONS * 64) {
        pthread_mutex_unlock(&s->mu);
        return qv_err_set(err, QV_ERESOURCE, "too many session options");
    }
    if (s->nopt == s->capopt) {
        s->capopt = s->capopt ? 2 * s->capopt : 8;
        s->opt = qv_xrealloc(s->opt, sizeof(sess_opt) * (size_t)s->capopt);
    }
    s->opt[s->nopt++] = (sess_opt){qv_xstrdup(session), qv_xstrdup(name), qv_xstrdup(value)};
    pthread_mutex_unlock(&s->mu);
    return QV_OK;
}

int eng_session_options(eng *e, const char *session, char ***names, char ***values) {
    eng_sessions *s = e->sessions;
    pthread_mutex_lock(&s->mu);
    int k = 0;
    *names = qv_xcalloc((size_t)s->nopt + 1, sizeof(char *));
    *values = qv_xcalloc((size_t)s->nopt + 1, sizeof(char *));
    for (int i = 0; i < s->nopt; i++)
        if (strcmp(s->opt[i].session, session) == 0) {
            (*names)[k] = qv_xstrdup(s->opt[i].name);
            (*values)[k++] = qv_xstrdup(s->opt[i].value);
        }
    pthread_mutex_unlock(&s->mu);
    return k;
}
