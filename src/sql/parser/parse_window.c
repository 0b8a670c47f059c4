/* Window syntax: `f(...) [IGNORE NULLS | RESPECT NULLS] OVER (...)` or
   `OVER name`, the WINDOW clause (`WINDOW w AS (...), ...`) and window
   equality (ast_equal). A window spec is
   `[base] [PARTITION BY e, ...] [ORDER BY e [ASC|DESC] [NULLS FIRST|LAST], ...]
    [ROWS|RANGE|GROUPS {bound | BETWEEN bound AND bound}]` with bounds
   `UNBOUNDED PRECEDING|FOLLOWING`, `CURRENT ROW`, `expr PRECEDING|FOLLOWING`.
   Named windows are resolved by the binder (binder/bind_window.c). */
#include "parser_int.h"

#include <string.h>
#include <strings.h>

static int frame_bound(parser *p, win_bound *b, ast **off) {
    token *t = CUR(p);
    if (ps_kw(p, "unbounded")) {
        if (ps_kw(p, "preceding")) *b = WB_UNB_PREC;
        else if (ps_kw(p, "following")) *b = WB_UNB_FOLL;
        else return ps_syntax(p, "PRECEDING or FOLLOWING");
        return 0;
    }
    if (tok_is_kw(t, "current") && tok_is_kw(&p->t[p->pos + 1], "row")) {
        p->pos += 2;
        *b = WB_CURRENT;
        return 0;
    }
    if (!(*off = ps_expr(p))) return -1;
    if (ps_kw(p, "preceding")) *b = WB_PREC;
    else if (ps_kw(p, "following")) *b = WB_FOLL;
    else return ps_syntax(p, "PRECEDING or FOLLOWING");
    return 0;
}

static int frame_clause(parser *p, win_spec *w) {
    if (ps_kw(p, "rows")) w->frame = WF_ROWS;
    else if (ps_kw(p, "range")) w->frame = WF_RANGE;
    else if (ps_kw(p, "groups")) w->frame = WF_GROUPS;
    else return 0;
    if (ps_kw(p, "between")) {
        if (frame_bound(p, &w->start, &w->start_off) || ps_expect_kw(p, "and") ||
            frame_bound(p, &w->end, &w->end_off))
            return -1;
    } else {
        if (frame_bound(p, &w->start, &w->start_off)) return -1;
        w->end = WB_CURRENT;
    }
    if (tok_is_kw(CUR(p), "exclude"))
        return qv_err_set(p->err, QV_EUNSUPPORTED, "EXCLUDE in a window frame is not supported (line %d, column %d)",
                          CUR(p)->line, CUR(p)->col);
    return 0;
}

static int order_list(parser *p, win_spec *w) { return ps_order_list(p, &w->order, &w->norder); }

/* The inside of ( ... ) of a window spec; the "(" is consumed, the ")" too. */
static win_spec *spec_body_in(parser *p, token *at);
static win_spec *spec_body(parser *p, token *at) {
    if (++p->depth > 50) { /* OVER inside PARTITION BY inside OVER ...: bounded like subqueries */
        qv_err_set(p->err, QV_EINVAL, "window definitions nested too deeply at line %d, column %d", at->line, at->col);
        return NULL;
    }
    win_spec *w = spec_body_in(p, at);
    p->depth--;
    return w;
}

static win_spec *spec_body_in(parser *p, token *at) {
    win_spec *w = arena_alloc(p->ar, sizeof *w);
    w->line = at->line;
    w->col = at->col;
    token *t = CUR(p);
    if ((t->kind == TK_IDENT || t->kind == TK_QIDENT) && !ps_is_reserved(t) &&
        !(t->kind == TK_IDENT && (tok_is_kw(t, "partition") || tok_is_kw(t, "rows") || tok_is_kw(t, "range") ||
                                   tok_is_kw(t, "groups"))))
        w->base = ps_ident(p, "a window name");
    if (ps_kw(p, "partition")) {
        if (ps_expect_kw(p, "by")) return NULL;
        int cap = 0;
        do {
            ast *e = ps_expr(p);
            if (!e) return NULL;
            w->part = ps_list_push(p, w->part, &w->npart, &cap, e);
        } while (ps_opt(p, ","));
    }
    if (ps_kw(p, "order")) {
        if (ps_expect_kw(p, "by") || order_list(p, w)) return NULL;
    }
    if (frame_clause(p, w) || ps_expect_op(p, ")")) return NULL;
    return w;
}

bool ps_null_treatment(parser *p, ast *f) {
    token *t = CUR(p);
    if ((tok_is_kw(t, "ignore") || tok_is_kw(t, "respect")) && tok_is_kw(&p->t[p->pos + 1], "nulls")) {
        f->ignore_nulls = tok_is_kw(t, "ignore");
        p->pos += 2;
        return true;
    }
    return false;
}

ast *ps_over(parser *p, ast *f) {
    if (!f) return NULL;
    ps_null_treatment(p, f);
    token *t = CUR(p);
    if (!ps_kw(p, "over")) {
        if (f->ignore_nulls) {
            ps_syntax(p, "OVER after IGNORE NULLS");
            return NULL;
        }
        return f;
    }
    if (ps_opt(p, "(")) {
        if (!(f->over = spec_body(p, t))) return NULL;
        return f;
    }
    win_spec *w = arena_alloc(p->ar, sizeof *w);
    w->line = CUR(p)->line;
    w->col = CUR(p)->col;
    if (!(w->base = ps_ident(p, "a window name or '('"))) return NULL;
    f->over = w;
    return f;
}

int ps_window_clause(parser *p, select_stmt *s) {
    int cap = s->nwindows;
    do {
        token *at = CUR(p);
        char *name = ps_ident(p, "a window name");
        if (!name || ps_expect_kw(p, "as") || ps_expect_op(p, "(")) return -1;
        for (int i = 0; i < s->nwindows; i++)
            if (!strcasecmp(s->windows[i].name, name))
                return qv_err_set(p->err, QV_EINVAL, "window '%s' is defined twice (line %d, column %d)", name,
                                  at->line, at->col);
        win_spec *w = spec_body(p, at);
        if (!w) return -1;
        if (s->nwindows == cap) {
            cap = cap ? cap * 2 : 4;
            win_named *nw = arena_alloc(p->ar, sizeof(win_named) * (size_t)cap);
            if (s->nwindows) memcpy(nw, s->windows, sizeof(win_named) * (size_t)s->nwindows);
            s->windows = nw;
        }
        s->windows[s->nwindows].name = name;
        s->windows[s->nwindows++].spec = w;
    } while (ps_opt(p, ","));
    return 0;
}

static bool name_eq(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return !strcasecmp(a, b);
}

bool win_spec_equal(const win_spec *a, const win_spec *b) {
    if (a == b) return true;
    if (!a || !b) return false;
    if (!name_eq(a->base, b->base) || a->npart != b->npart || a->norder != b->norder || a->frame != b->frame ||
        a->start != b->start || a->end != b->end)
        return false;
    if (!ast_equal(a->start_off, b->start_off) || !ast_equal(a->end_off, b->end_off)) return false;
    for (int i = 0; i < a->npart; i++)
        if (!ast_equal(a->part[i], b->part[i])) return false;
    for (int i = 0; i < a->norder; i++)
        if (a->order[i].desc != b->order[i].desc || a->order[i].nulls_first != b->order[i].nulls_first ||
            !ast_equal(a->order[i].e, b->order[i].e))
            return false;
    return true;
}
