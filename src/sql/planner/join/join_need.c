/* The column names a statement mentions, for conservative projection
   pruning of join leaves; and the AST conjunct helpers the planner shares. */
#include "join_ctx.h"

#include <string.h>
#include <strings.h>

void ast_conjuncts(arena *ar, ast *a, ast ***out, int *n, int *cap) {
    if (!a) return;
    if (a->kind == A_BINARY && a->op == OP_AND) {
        ast_conjuncts(ar, a->args[0], out, n, cap);
        ast_conjuncts(ar, a->args[1], out, n, cap);
        return;
    }
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        ast **na = arena_alloc(ar, sizeof(ast *) * (size_t)nc);
        if (*n) memcpy(na, *out, sizeof(ast *) * (size_t)*n);
        *out = na;
        *cap = nc;
    }
    (*out)[(*n)++] = a;
}

ast *ast_and(arena *ar, ast **v, int n) {
    if (n == 0) return NULL;
    ast *r = v[0];
    for (int i = 1; i < n; i++) {
        ast *a = arena_alloc(ar, sizeof *a);
        a->kind = A_BINARY;
        a->op = OP_AND;
        a->args = arena_alloc(ar, sizeof(ast *) * 2);
        a->args[0] = r;
        a->args[1] = v[i];
        a->nargs = 2;
        a->line = v[i]->line;
        a->col = v[i]->col;
        a->height = (r->height > v[i]->height ? r->height : v[i]->height) + 1;
        r = a;
    }
    return r;
}

void join_ast_push(arena *ar, ast ***v, int *n, int *cap, ast *a) {
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        ast **na = arena_alloc(ar, sizeof(ast *) * (size_t)nc);
        if (*n) memcpy(na, *v, sizeof(ast *) * (size_t)*n);
        *v = na;
        *cap = nc;
    }
    (*v)[(*n)++] = a;
}

/* ---- the column names a statement mentions (conservative projection pruning) ---- */
static void need_sel(jctx *j, const select_stmt *s, bool outer);

static void need_ast(jctx *j, const ast *a);

/* f(...) OVER (PARTITION BY ... ORDER BY ... frame offsets) */
static void need_win(jctx *j, const win_spec *w) {
    if (!w) return;
    for (int i = 0; i < w->npart; i++) need_ast(j, w->part[i]);
    for (int i = 0; i < w->norder; i++) need_ast(j, w->order[i].e);
    need_ast(j, w->start_off);
    need_ast(j, w->end_off);
}

static void need_ast(jctx *j, const ast *a) {
    if (!a) return;
    if (a->kind == A_COL) {
        for (int i = 0; i < j->nneed; i++)
            if (!strcasecmp(j->need[i], a->name)) return;
        if (j->nneed == j->capneed) {
            int nc = j->capneed ? j->capneed * 2 : 32;
            char **nn = arena_alloc(j->ar, sizeof(char *) * (size_t)nc);
            if (j->nneed) memcpy(nn, j->need, sizeof(char *) * (size_t)j->nneed);
            j->need = nn;
            j->capneed = nc;
        }
        j->need[j->nneed++] = a->name;
    }
    for (int i = 0; i < a->nargs; i++) need_ast(j, a->args[i]);
    if (a->sub) need_sel(j, a->sub, false);
    need_win(j, a->over);
}

static void need_from(jctx *j, const from_item *f) {
    if (!f) return;
    need_ast(j, f->on);
    for (int i = 0; i < f->nusing; i++) {
        ast tmp = {.kind = A_COL, .name = f->using_cols[i]};
        need_ast(j, &tmp);
    }
    need_from(j, f->l);
    need_from(j, f->r);
}

static void need_sel(jctx *j, const select_stmt *s, bool outer) {
    if (!s) return;
    for (int i = 0; i < s->nitems; i++) {
        if (s->items[i].e->kind == A_STAR && outer) j->star = true;
        need_ast(j, s->items[i].e);
    }
    need_ast(j, s->where);
    for (int i = 0; i < s->ngroup; i++) need_ast(j, s->group[i]);
    need_ast(j, s->having);
    for (int i = 0; i < s->norder; i++) need_ast(j, s->order[i].e);
    need_ast(j, s->qualify);
    for (int i = 0; i < s->nwindows; i++) need_win(j, s->windows[i].spec);
    for (int i = 0; i < s->ndistinct_on; i++) need_ast(j, s->distinct_on[i]);
    if (outer) need_from(j, s->from);
    need_sel(j, s->set_l, false);
    need_sel(j, s->set_r, false);
}

void join_need_collect(jctx *j, const select_stmt *s, bool outer) { need_sel(j, s, outer); }

bool join_col_needed(const jctx *j, const char *name) {
    if (j->star) return true;
    for (int i = 0; i < j->nneed; i++)
        if (!strcasecmp(j->need[i], name)) return true;
    return false;
}

static bool in_list(char **v, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcasecmp(v[i], name)) return true;
    return false;
}

/* Names read above node n: the select list, GROUP BY, HAVING, ORDER BY, the
   caller's WHERE, and the conditions of joins not under n (n's own
   post-filters run above it). Conjuncts pushed into leaves and n's own
   conditions (its keys and residual) are not. */
static void above_names(jctx *j, const jnode *n) {
    const select_stmt *s = j->stmt;
    for (int i = 0; i < s->nitems; i++) {
        if (s->items[i].e->kind == A_STAR) j->star = true;
        need_ast(j, s->items[i].e);
    }
    for (int i = 0; i < s->ngroup; i++) need_ast(j, s->group[i]);
    need_ast(j, s->having);
    for (int i = 0; i < s->norder; i++) need_ast(j, s->order[i].e);
    for (int i = 0; i < j->nrest; i++) need_ast(j, j->rest[i]);
    for (int i = 0; i < j->nnodes; i++) {
        const jnode *o = &j->nodes[i];
        if (o->leaf >= 0) continue;
        bool below = (o->mask & ~n->mask) == 0;
        for (int k = 0; k < o->npost && (!below || o == n); k++) need_ast(j, o->post[k]);
        for (int k = 0; k < o->nconds && !below; k++) need_ast(j, o->conds[k]);
        for (int u = 0; u < o->f->nusing; u++) {
            ast tmp = {.kind = A_COL, .name = o->f->using_cols[u]};
            need_ast(j, &tmp);
        }
    }
}

bool *join_keep_cols(jctx *j, const jnode *n, const scope *cs) {
    const select_stmt *s = j->stmt;
    if (!s || j->star || s->nwindows || s->qualify || s->ndistinct_on || s->ngsets || s->set_l || s->set_r || s->group_all ||
        s->order_all)
        return NULL;
    char **need = j->need;
    int nneed = j->nneed, capneed = j->capneed;
    j->need = NULL;
    j->nneed = j->capneed = 0;
    above_names(j, n);
    bool *keep = NULL;
    if (!j->star) {
        keep = arena_alloc(j->ar, sizeof(bool) * (size_t)(cs->n + 1));
        for (int c = 0; c < cs->n; c++) keep[c] = in_list(j->need, j->nneed, cs->cols[c].name);
    }
    j->star = false;
    j->need = need;
    j->nneed = nneed;
    j->capneed = capneed;
    return keep;
}
