/* The logical plan EXPLAIN prints above the physical one: the statement as
   relational operators after the rewrites (predicates where the planner put
   them, joins with their conditions, subqueries nested), one operator per
   line, children indented. Built as text while planning; a plan owns its
   logical (and logical_src) string. */
#include "plan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lg_line(qv_str *s, int depth, const char *fmt, ...) {
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    qv_str_appendf(s, "%s\n", buf);
}

void lg_nest(qv_str *s, int depth, const char *text) {
    while (text && *text) {
        const char *e = strchr(text, '\n');
        size_t n = e ? (size_t)(e - text) : strlen(text);
        for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
        qv_str_append(s, text, n);
        qv_str_appendc(s, '\n');
        text += n + (e ? 1 : 0);
    }
}

/* a1, a2, ... of asts into buf */
void lg_list(arena *ar, char *buf, size_t cap, ast *const *v, int n) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len + 8 < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", ast_to_name(ar, v[i]));
        if (w < 0) break;
        len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
    }
}

void plan_logical_select(plan *p, arena *ar, const select_stmt *s, const ast *where_rest, bool aggq, ast *const *gasts,
                         int ngroup, ast *const *aggs, int naggs, const char *const *names, int nvis) {
    qv_str L;
    qv_str_init(&L);
    char buf[900];
    int d = 0;
    if (s->limit >= 0 || s->offset) lg_line(&L, d++, "LIMIT %lld OFFSET %lld", (long long)s->limit, (long long)s->offset);
    if (s->norder) {
        size_t len = 0;
        buf[0] = 0;
        for (int i = 0; i < s->norder && len + 16 < sizeof buf; i++) {
            int w = snprintf(buf + len, sizeof buf - len, "%s%s%s%s", i ? ", " : "", ast_to_name(ar, s->order[i].e),
                             s->order[i].desc ? " DESC" : "",
                             s->order[i].nulls_first == 1 ? " NULLS FIRST" : s->order[i].nulls_first == 0 ? " NULLS LAST" : "");
            if (w < 0) break;
            len += (size_t)w < sizeof buf - len ? (size_t)w : sizeof buf - len - 1;
        }
        lg_line(&L, d++, "%s [%s]", s->limit >= 0 ? "TOP_N" : "SORT", buf);
    }
    if (s->distinct) lg_line(&L, d++, "DISTINCT");
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < nvis && len + 8 < sizeof buf; i++) {
        int w = snprintf(buf + len, sizeof buf - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        len += (size_t)w < sizeof buf - len ? (size_t)w : sizeof buf - len - 1;
    }
    lg_line(&L, d++, "PROJECT [%s]", buf);
    if (s->qualify) lg_line(&L, d++, "FILTER (QUALIFY) %s", ast_to_name(ar, s->qualify));
    bool win = s->qualify && ast_has_window(s->qualify);
    for (int i = 0; i < s->nitems && !win; i++) win = ast_has_window(s->items[i].e);
    for (int i = 0; i < s->norder && !win; i++) win = ast_has_window(s->order[i].e);
    if (win) lg_line(&L, d++, "WINDOW");
    if (s->having) lg_line(&L, d++, "FILTER %s", ast_to_name(ar, s->having));
    if (aggq) {
        char k[400];
        lg_list(ar, k, sizeof k, gasts, ngroup);
        lg_list(ar, buf, sizeof buf, aggs, naggs);
        lg_line(&L, d++, "AGGREGATE keys=[%s] aggregates=[%s]", k, buf);
    }
    if (where_rest) lg_line(&L, d++, "FILTER %s", ast_to_name(ar, where_rest));
    if (p->logical_src) lg_nest(&L, d, p->logical_src);
    else lg_line(&L, d, "VALUES (one row)");
    free(p->logical);
    p->logical = qv_str_steal(&L);
}

char *plan_logical_scan(arena *ar, const char *table, const char *alias, const ast *where) {
    qv_str L;
    qv_str_init(&L);
    if (where) lg_line(&L, 0, "SCAN %s%s%s filter=[%s]", table, alias ? " AS " : "", alias ? alias : "", ast_to_name(ar, where));
    else lg_line(&L, 0, "SCAN %s%s%s", table, alias ? " AS " : "", alias ? alias : "");
    return qv_str_steal(&L);
}
