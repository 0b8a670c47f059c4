/* UNION [ALL] BY NAME (DuckDB): both sides' columns matched by name, case
   insensitively; the result has the left side's columns in order, then the
   right side's new ones, each spelled as where it first appears, and a side
   without a column gives NULL for it. Types are unified afterwards as for a
   positional UNION. */
#include "plan_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int name_find(const qv_field *f, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcasecmp(f[i].name, name)) return i;
    return -1;
}

/* A name twice on one side has no single column to match (DuckDB refuses it too). */
static int check_unique(const qv_schema *s, const char *side, qv_err *err) {
    for (int i = 1; i < s->nfields; i++)
        if (name_find(s->fields, i, s->fields[i].name) >= 0)
            return qv_err_set(err, QV_EINVAL, "UNION BY NAME: the name \"%s\" occurs more than once on the %s side",
                              s->fields[i].name, side);
    return 0;
}

/* o's columns reordered to the result's: src[i] is o's column for result column i, or -1 (NULL). */
static op *align(qstate *qs, arena *ar, op *o, const int *src, int n) {
    binder b = {.ar = ar};
    bexpr **pe = arena_alloc(ar, sizeof(bexpr *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        if (src[i] >= 0) {
            pe[i] = mk_col(ar, src[i], o->types[src[i]], NULL);
            continue;
        }
        pe[i] = bd_mk(&b, B_CONST, T_NULL, 0);
        pe[i]->cval.null = true;
    }
    return op_project_new(qs, o, n, pe);
}

int plan_setop_by_name(qstate *qs, arena *ar, op **l, const qv_schema *ls, op **r, const qv_schema *rs,
                       setop_names *out, qv_err *err) {
    if (check_unique(ls, "left", err) || check_unique(rs, "right", err)) return err->code;
    int cap = ls->nfields + rs->nfields;
    int *lsrc = arena_alloc(ar, sizeof(int) * (size_t)(cap + 1)), *rsrc = arena_alloc(ar, sizeof(int) * (size_t)(cap + 1));
    out->f = arena_alloc(ar, sizeof(const qv_field *) * (size_t)(cap + 1));
    int n = 0;
    for (int i = 0; i < ls->nfields; i++, n++) {
        out->f[n] = &ls->fields[i];
        lsrc[n] = i;
        rsrc[n] = name_find(rs->fields, rs->nfields, ls->fields[i].name);
    }
    for (int i = 0; i < rs->nfields; i++) {
        if (name_find(ls->fields, ls->nfields, rs->fields[i].name) >= 0) continue;
        out->f[n] = &rs->fields[i];
        lsrc[n] = -1;
        rsrc[n++] = i;
    }
    out->n = n;
    *l = align(qs, ar, *l, lsrc, n);
    *r = align(qs, ar, *r, rsrc, n);
    return 0;
}
