/* Subquery expressions that do not depend on the outer row: a scalar
   (SELECT ...), EXISTS (SELECT ...) and x [NOT] IN (SELECT ...). Each is
   planned on its own as an init plan owned by the query state; before the
   main plan runs, qstate_run_inits runs them in order (inner ones first)
   and stores the result in the node that reads it: a constant for scalar
   and EXISTS, a hash set of values for IN. Correlated EXISTS in WHERE never
   gets here: it becomes a semi/anti join (join_plan.c). */
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IP_SCALAR, IP_EXISTS, IP_IN };

typedef struct value_set {
    phys_class pc;
    int64_t n, cap;
    value *slots;
    uint8_t *used;
    bool has_null;
    arena strs;
} value_set;

struct init_plan {
    plan pl;
    bexpr *node;
    int kind, line, col;
    value_set *set;
    arena strs;
};

static uint64_t value_hash(phys_class pc, const value *v) {
    switch (pc) {
    case PC_I: return hash_bytes(&v->i, sizeof v->i, 7);
    case PC_F: {
        uint64_t d = dbl_key_bits(v->f);
        return hash_bytes(&d, sizeof d, 7);
    }
    case PC_S: return hash_bytes(v->s.p, (size_t)v->s.n, 7);
    }
    return 0;
}

static bool set_find(const value_set *s, const value *v, int64_t *slot) {
    uint64_t m = (uint64_t)s->cap - 1, h = value_hash(s->pc, v) & m;
    for (;; h = (h + 1) & m) {
        if (!s->used[h]) {
            *slot = (int64_t)h;
            return false;
        }
        if (value_cmp(s->pc, &s->slots[h], v) == 0) {
            *slot = (int64_t)h;
            return true;
        }
    }
}

static int set_add(value_set *s, qstate *qs, const value *v, qv_err *err) {
    if ((s->n + 1) * 2 > s->cap) {
        int64_t oc = s->cap, nc = oc ? oc * 2 : 64;
        if (qstate_charge(qs, (nc - oc) * (int64_t)(sizeof(value) + 1), err)) return err->code;
        value *os = s->slots;
        uint8_t *ou = s->used;
        s->slots = qv_xcalloc((size_t)nc, sizeof(value));
        s->used = qv_xcalloc((size_t)nc, 1);
        s->cap = nc;
        for (int64_t i = 0; i < oc; i++)
            if (ou[i]) {
                int64_t sl;
                set_find(s, &os[i], &sl);
                s->slots[sl] = os[i];
                s->used[sl] = 1;
            }
        free(os);
        free(ou);
    }
    int64_t sl;
    if (set_find(s, v, &sl)) return 0;
    s->slots[sl] = *v;
    if (s->pc == PC_S) s->slots[sl].s.p = arena_strndup(&s->strs, v->s.p, (size_t)v->s.n);
    s->used[sl] = 1;
    s->n++;
    return 0;
}

void value_set_eval(const bexpr *e, const vec *x, int n, vec *out) {
    const value_set *s = e->aux;
    vec_reset(out, QV_T_BOOL, n);
    for (int k = 0; k < n; k++) {
        if (s->n == 0 && !s->has_null) { /* x [NOT] IN (empty): false / true, even for NULL x */
            out->i[k] = e->neg;
            continue;
        }
        if (vec_null(x, k)) {
            vec_set_null(out, k);
            out->i[k] = 0;
            continue;
        }
        value v = {0};
        if (s->pc == PC_I) v.i = x->i[k];
        else if (s->pc == PC_F) v.f = x->f[k];
        else v.s = x->codes ? vec_sym_str(x, k) : x->s[k];
        int64_t sl;
        if (s->cap && set_find(s, &v, &sl)) out->i[k] = !e->neg;
        else if (s->has_null) {
            vec_set_null(out, k);
            out->i[k] = 0;
        } else out->i[k] = e->neg;
    }
}

static void register_init(qstate *qs, init_plan *ip) {
    qs->inits = qv_xrealloc(qs->inits, sizeof(init_plan *) * (size_t)(qs->ninits + 1));
    qs->inits[qs->ninits++] = ip;
}

/* Only WHERE [NOT] EXISTS becomes a join (exists.c); a subquery planned on
   its own cannot see the outer row, so one that uses it is refused, saying
   why rather than that the outer name is unknown. */
static void correlated_error(binder *b, const ast *a, int kind, const char *ref, bool nested) {
    char what[80];
    const char *why = kind == IP_EXISTS ? plan_exists_obstacle(a->sub) : NULL;
    if (nested) snprintf(what, sizeof what, "subquery inside a [NOT] EXISTS subquery");
    else if (kind == IP_SCALAR) snprintf(what, sizeof what, "scalar subquery");
    else if (kind == IP_IN) snprintf(what, sizeof what, "IN subquery");
    else if (why) snprintf(what, sizeof what, "subquery with %s", why);
    else snprintf(what, sizeof what, "EXISTS outside WHERE's AND-ed conditions");
    if (nested)
        qv_err_set(b->err, QV_EUNSUPPORTED, "correlated %s is not supported (line %d, column %d): it uses %s of the "
                   "enclosing subquery", what, a->line, a->col, ref);
    else
        qv_err_set(b->err, QV_EUNSUPPORTED, "correlated %s is not supported (line %d, column %d): it uses %s of the "
                   "outer query; only [NOT] EXISTS (SELECT ... FROM ... WHERE ...) AND-ed into WHERE may", what,
                   a->line, a->col, ref);
}

bexpr *plan_subquery_expr(binder *b, ast *a) {
    planner_env *env = b->planner;
    init_plan *ip = qv_xcalloc(1, sizeof *ip);
    arena_init(&ip->strs);
    ip->line = a->line;
    ip->col = a->col;
    ip->kind = a->kind == A_SUBQ ? IP_SCALAR : a->kind == A_EXISTS ? IP_EXISTS : IP_IN;
    if (plan_select(env->ctx, env->qs, env->ar, a->sub, false, &ip->pl, b->err)) {
        char ref[300];
        bool nested;
        if (b->err->code == QV_EINVAL && plan_subquery_outer_ref(a->sub, b->in, b->err->msg, ref, sizeof ref, &nested))
            correlated_error(b, a, ip->kind, ref, nested);
        free(ip);
        return NULL;
    }
    register_init(env->qs, ip); /* owned by the query state from here on */
    if (ip->kind != IP_EXISTS && ip->pl.schema.nfields != 1) {
        char n[16];
        snprintf(n, sizeof n, "%d", ip->pl.schema.nfields);
        return bd_fail(b, a, QV_EINVAL, "subquery returns %s columns, expected 1", n, NULL);
    }
    bexpr *e;
    if (ip->kind == IP_EXISTS) {
        e = bd_mk(b, B_SUBQ, QV_T_BOOL, 0);
        e->cval.null = true;
    } else if (ip->kind == IP_SCALAR) {
        qv_type t = ip->pl.root->types[0];
        e = bd_mk(b, B_SUBQ, t == T_NULL ? QV_T_INT32 : t, 0);
        memcpy(e->tz, ip->pl.schema.fields[0].tz, sizeof e->tz);
        e->cval.null = true;
    } else {
        bexpr *x = bind_expr(b, a->args[0]);
        if (!x) return NULL;
        qv_type ct = ip->pl.root->types[0];
        bool ok;
        qv_type t = bd_common_type(x->type, ct, &ok);
        if (!ok) {
            char m[200];
            snprintf(m, sizeof m, "cannot compare %s and %s in IN (SELECT ...)", type_name(x->type), type_name(ct));
            return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        }
        if (t == T_NULL) t = QV_T_INT32;
        if (!(x = bind_coerce(b, x, t))) return NULL;
        if (ct != t) {
            bexpr **pe = arena_alloc(b->ar, sizeof(bexpr *));
            if (!(pe[0] = bind_coerce(b, mk_col(b->ar, 0, ct, NULL), t))) return NULL;
            ip->pl.root = op_project_new(env->qs, ip->pl.root, 1, pe);
        }
        e = bd_mk(b, B_INSUB, QV_T_BOOL, 1);
        e->args[0] = x;
        e->neg = a->neg;
        ip->set = qv_xcalloc(1, sizeof(value_set));
        ip->set->pc = type_pc(t);
        arena_init(&ip->set->strs);
        e->aux = ip->set;
    }
    ip->node = e;
    return e;
}

static value vec_value(const vec *v, int r, arena *strs) {
    value x = {0};
    if (vec_null(v, r) || v->type == T_NULL) {
        x.null = true;
        return x;
    }
    switch (type_pc(v->type)) {
    case PC_I: x.i = v->i[r]; break;
    case PC_F: x.f = v->f[r]; break;
    case PC_S:
        x.s = v->codes ? vec_sym_str(v, r) : v->s[r];
        if (strs) x.s.p = arena_strndup(strs, x.s.p, (size_t)x.s.n);
        break;
    }
    return x;
}

static int run_one(qstate *qs, init_plan *ip, qv_err *err) {
    op *root = ip->pl.root;
    int64_t rows = 0;
    for (;;) {
        chunk *c;
        if (root->next(root, &c, err)) return err->code;
        if (!c) break;
        int m = chunk_active(c);
        if (ip->kind == IP_EXISTS) {
            rows += m;
            break;
        }
        if (ip->kind == IP_SCALAR) {
            if (rows + m > 1)
                return qv_err_set(err, QV_EINVAL, "scalar subquery at line %d, column %d returned more than one row; "
                                  "use LIMIT 1 or an aggregate", ip->line, ip->col);
            ip->node->cval = vec_value(&c->cols[0], chunk_row(c, 0), &ip->strs);
            rows += m;
            continue;
        }
        for (int k = 0; k < m; k++) {
            value v = vec_value(&c->cols[0], chunk_row(c, k), NULL);
            if (v.null) ip->set->has_null = true;
            else if (set_add(ip->set, qs, &v, err)) return err->code;
        }
    }
    if (ip->kind == IP_EXISTS) {
        ip->node->cval.null = false;
        ip->node->cval.i = rows > 0;
    }
    if (ip->kind == IP_SCALAR && rows == 0) ip->node->cval.null = true;
    return 0;
}

int qstate_run_inits(qstate *qs, qv_err *err) {
    if (qs->inits_done) return 0;
    qs->inits_done = true;
    for (int i = 0; i < qs->ninits; i++)
        if (run_one(qs, qs->inits[i], err)) return err->code;
    return 0;
}

void qstate_explain_inits(qstate *qs, qv_str *s) {
    static const char *nm[] = {"scalar subquery", "EXISTS subquery", "IN subquery"};
    for (int i = 0; i < qs->ninits; i++) {
        init_plan *ip = qs->inits[i];
        qv_str_appendf(s, "INIT PLAN %d: %s at line %d, column %d\n", i + 1, nm[ip->kind], ip->line, ip->col);
        op_explain(ip->pl.root, s, 1);
    }
}

void qstate_free_inits(qstate *qs) {
    for (int i = 0; i < qs->ninits; i++) {
        init_plan *ip = qs->inits[i];
        plan_free(&ip->pl);
        if (ip->set) {
            free(ip->set->slots);
            free(ip->set->used);
            arena_free(&ip->set->strs);
            free(ip->set);
        }
        arena_free(&ip->strs);
        free(ip);
    }
    free(qs->inits);
    qs->inits = NULL;
    qs->ninits = 0;
}
