/* The ASOF join's right side: payload rows, the partitions of their keys
   (an open-addressing table of distinct key tuples) and, once finished,
   every partition's distinct times in ascending order with the first row
   (in input order) of each. A partition already in time order (tick data
   usually is) is only checked; one that is not gets a stable LSD radix
   sort on its time keys (digits that are the same in every row skipped),
   so rows with equal times keep their input order. States and ownership
   in asof_int.h. */
#include "asof_int.h"

#include <stdlib.h>

static int charge(asof_store *s, int64_t bytes, qv_err *err) {
    s->charged += bytes;
    if (qstate_charge(s->qs, bytes, err))
        return qv_err_set(err, QV_ERESOURCE, "%s: the right side exceeded the query memory limit of %lld bytes (--query-memory)",
                          s->label ? s->label : "ASOF JOIN", (long long)s->qs->mem_limit);
    return 0;
}

void asof_store_init(asof_store *s, qstate *qs, int nr, const qv_type *rtypes, int nk, bexpr **rkeys, const char *label) {
    memset(s, 0, sizeof *s);
    s->qs = qs;
    s->label = label;
    s->nr = nr;
    s->nk = nk;
    s->cols = qv_xcalloc((size_t)nr + 1, sizeof(vec));
    for (int c = 0; c < nr; c++) {
        vec_init(&s->cols[c], rtypes[c]);
        vec_reset(&s->cols[c], rtypes[c], 16);
    }
    s->pkeys = qv_xcalloc((size_t)nk + 1, sizeof(vec));
    for (int k = 0; k < nk; k++) {
        vec_init(&s->pkeys[k], rkeys[k]->type);
        vec_reset(&s->pkeys[k], rkeys[k]->type, 16);
    }
    s->cappart = 16;
    s->smask = 31;
    s->slots = qv_xmalloc(sizeof(asof_slot) * 32);
    for (int i = 0; i < 32; i++) s->slots[i].part = -1;
}

void asof_store_free(asof_store *s) {
    for (int c = 0; c < s->nr; c++) vec_free(&s->cols[c]);
    for (int k = 0; k < s->nk; k++) vec_free(&s->pkeys[k]);
    free(s->cols);
    free(s->pkeys);
    free(s->rt);
    free(s->rpart);
    free(s->slots);
    free(s->pstart);
    free(s->plen);
    free(s->ut);
    free(s->ur);
    if (s->charged) qstate_release(s->qs, s->charged);
    memset(s, 0, sizeof *s);
}

uint64_t asof_keys_hash(const vec *keys, int nk, int r, bool *null) {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    *null = false;
    for (int k = 0; k < nk; k++) {
        const vec *v = &keys[k];
        uint64_t x;
        if (v->type == T_NULL || vec_null(v, r)) {
            *null = true;
            return 0;
        }
        x = hash_value_at(v, r);
        h = hash_mix64(h ^ (x + (uint64_t)k));
    }
    return h;
}

static bool keys_eq(const asof_store *s, const vec *keys, int r, int32_t p) {
    for (int k = 0; k < s->nk; k++) {
        const vec *a = &keys[k], *b = &s->pkeys[k];
        switch (type_pc(b->type)) {
        case PC_I: if (a->i[r] != b->i[p]) return false; break;
        case PC_F: if (!dbl_eq(a->f[r], b->f[p])) return false; break;
        case PC_S: {
            sv x = vec_str_at(a, r), y = b->s[p];
            if (x.n != y.n || (x.n && memcmp(x.p, y.p, (size_t)x.n))) return false;
            break;
        }
        }
    }
    return true;
}

int32_t asof_store_find(const asof_store *s, const vec *keys, int r, uint64_t h) {
    for (uint64_t i = h & s->smask;; i = (i + 1) & s->smask) {
        const asof_slot *e = &s->slots[i];
        if (e->part < 0) return -1;
        if (e->h == h && keys_eq(s, keys, r, e->part)) return e->part;
    }
}

static void slots_grow(asof_store *s) {
    uint64_t size = (s->smask + 1) * 2;
    asof_slot *ns = qv_xmalloc(sizeof(asof_slot) * (size_t)size);
    for (uint64_t i = 0; i < size; i++) ns[i].part = -1;
    for (uint64_t i = 0; i <= s->smask; i++) {
        if (s->slots[i].part < 0) continue;
        uint64_t j = s->slots[i].h & (size - 1);
        while (ns[j].part >= 0) j = (j + 1) & (size - 1);
        ns[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->smask = size - 1;
}

/* The partition of row r's keys, a new one when they are new. */
static int32_t part_of(asof_store *s, const vec *keys, int r, uint64_t h, qv_err *err) {
    uint64_t i = h & s->smask;
    for (;; i = (i + 1) & s->smask) {
        asof_slot *e = &s->slots[i];
        if (e->part < 0) break;
        if (e->h == h && keys_eq(s, keys, r, e->part)) return e->part;
    }
    if (s->npart == INT32_MAX - 1) return qv_err_set(err, QV_ERESOURCE, "%s: too many distinct keys", s->label), -2;
    int32_t p = s->npart++;
    if (p >= s->cappart) {
        s->cappart *= 2;
        for (int k = 0; k < s->nk; k++) vec_grow(&s->pkeys[k], s->cappart);
        if (charge(s, (int64_t)s->cappart * 16 * (s->nk + 1), err)) return -2;
    }
    for (int k = 0; k < s->nk; k++) {
        vec *d = &s->pkeys[k];
        d->n = s->npart;
        switch (type_pc(d->type)) {
        case PC_I: d->i[p] = keys[k].i[r]; break;
        case PC_F: d->f[p] = keys[k].f[r]; break;
        case PC_S: {
            sv t = vec_str_at(&keys[k], r);
            vec_set_str(d, p, t.p, t.n);
            break;
        }
        }
    }
    s->slots[i].h = h;
    s->slots[i].part = p;
    if ((uint64_t)s->npart * 2 > s->smask) slots_grow(s);
    return p;
}

int asof_store_add(asof_store *s, const chunk *c, const vec *keys, const vec *time, const vec *gate, qv_err *err) {
    int n = chunk_active(c);
    if (s->n + n > INT32_MAX - CHUNK)
        return qv_err_set(err, QV_ERESOURCE, "%s: the right side has more than 2^31 rows", s->label);
    int64_t bytes = 0;
    if (s->n + n > s->rcap) {
        int64_t nc = s->rcap ? s->rcap : 1024;
        while (nc < s->n + n) nc *= 2;
        bytes += (nc - s->rcap) * (int64_t)(12 + 9 * s->nr);
        s->rt = qv_xrealloc(s->rt, sizeof(int64_t) * (size_t)nc);
        s->rpart = qv_xrealloc(s->rpart, sizeof(int32_t) * (size_t)nc);
        for (int col = 0; col < s->nr; col++) vec_grow(&s->cols[col], (int)nc);
        s->rcap = nc;
    }
    for (int k = 0; k < n; k++) {
        int row = chunk_row(c, k);
        int64_t i = s->n + k;
        for (int col = 0; col < s->nr; col++) {
            vec_store_row(&s->cols[col], i, &c->cols[col], row);
            if (type_pc(s->cols[col].type) == PC_S) bytes += s->cols[col].s[i].n;
        }
        s->rpart[i] = -1;
        if (time->type == T_NULL || vec_null(time, k)) continue;
        if (gate && (gate->type == T_NULL || vec_null(gate, k) || !gate->i[k])) continue;
        bool null;
        uint64_t h = asof_keys_hash(keys, s->nk, k, &null);
        if (null) continue;
        int32_t p = part_of(s, keys, k, h, err);
        if (p == -2) return err->code;
        s->rpart[i] = p;
        s->rt[i] = asof_time_key(time, k);
    }
    s->n += n;
    for (int col = 0; col < s->nr; col++) s->cols[col].n = (int)s->n;
    return charge(s, bytes, err);
}

/* ---- finishing: group by partition, sort where needed, keep distinct times ---- */
typedef struct fin_task {
    asof_store *s;
    int p0, p1;
    int sorted; /* partitions that needed a sort */
    bool oom;
} fin_task;

/* Stable LSD radix sort of t[0..n) (signed keys) carrying r; false when out of memory. */
static bool radix_sort(int64_t *t, uint32_t *r, int64_t n) {
    int64_t *t2 = malloc(sizeof(int64_t) * (size_t)n);
    uint32_t *r2 = malloc(sizeof(uint32_t) * (size_t)n);
    int64_t(*cnt)[256] = calloc(8, sizeof *cnt);
    if (!t2 || !r2 || !cnt) {
        free(t2);
        free(r2);
        free(cnt);
        return false;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t u = (uint64_t)t[i] ^ (1ULL << 63);
        for (int d = 0; d < 8; d++) cnt[d][(u >> (8 * d)) & 255]++;
    }
    int64_t *a = t, *b = t2;
    uint32_t *ra = r, *rb = r2;
    for (int d = 0; d < 8; d++) {
        uint64_t first = (((uint64_t)a[0] ^ (1ULL << 63)) >> (8 * d)) & 255;
        if (cnt[d][first] == n) continue; /* this digit is the same everywhere */
        int64_t off[256], sum = 0;
        for (int v = 0; v < 256; v++) {
            off[v] = sum;
            sum += cnt[d][v];
        }
        for (int64_t i = 0; i < n; i++) {
            uint64_t v = (((uint64_t)a[i] ^ (1ULL << 63)) >> (8 * d)) & 255;
            int64_t o = off[v]++;
            b[o] = a[i];
            rb[o] = ra[i];
        }
        int64_t *tt = a;
        a = b;
        b = tt;
        uint32_t *tr = ra;
        ra = rb;
        rb = tr;
    }
    if (a != t) {
        memcpy(t, a, sizeof(int64_t) * (size_t)n);
        memcpy(r, ra, sizeof(uint32_t) * (size_t)n);
    }
    free(t2);
    free(r2);
    free(cnt);
    return true;
}

static void fin_run(void *arg) {
    fin_task *f = arg;
    asof_store *s = f->s;
    for (int p = f->p0; p < f->p1; p++) {
        int64_t lo = s->pstart[p], n = s->pstart[p + 1] - lo;
        int64_t *t = s->ut + lo;
        uint32_t *r = s->ur + lo;
        bool sorted = true;
        for (int64_t i = 1; i < n && sorted; i++) sorted = t[i - 1] <= t[i];
        if (!sorted) {
            f->sorted++;
            if (!radix_sort(t, r, n)) {
                f->oom = true;
                return;
            }
        }
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (m == 0 || t[i] != t[m - 1]) {
                t[m] = t[i];
                r[m++] = r[i];
            } else if (s->tie_last) {
                r[m - 1] = r[i];
            }
        s->plen[p] = m;
    }
}

int asof_store_finish(asof_store *s, sql_pool *pool, int threads, qv_err *err) {
    int np = s->npart;
    s->pstart = qv_xcalloc((size_t)np + 2, sizeof(int64_t));
    s->plen = qv_xcalloc((size_t)np + 1, sizeof(int64_t));
    int64_t m = 0;
    for (int64_t i = 0; i < s->n; i++)
        if (s->rpart[i] >= 0) {
            s->pstart[s->rpart[i] + 1]++;
            m++;
        }
    if (charge(s, m * 24 + (int64_t)np * 16, err)) return err->code; /* the arrays and a sort's scratch */
    for (int p = 0; p < np; p++) s->pstart[p + 1] += s->pstart[p];
    s->ut = qv_xmalloc(sizeof(int64_t) * (size_t)(m + 1));
    s->ur = qv_xmalloc(sizeof(uint32_t) * (size_t)(m + 1));
    int64_t *fill = qv_xmalloc(sizeof(int64_t) * (size_t)(np + 1));
    memcpy(fill, s->pstart, sizeof(int64_t) * (size_t)(np + 1));
    for (int64_t i = 0; i < s->n; i++) {
        int32_t p = s->rpart[i];
        if (p < 0) continue;
        int64_t o = fill[p]++;
        s->ut[o] = s->rt[i];
        s->ur[o] = (uint32_t)i;
    }
    free(fill);
    free(s->rt);
    free(s->rpart);
    s->rt = NULL;
    s->rpart = NULL;
    /* tasks of contiguous partitions with about the same number of rows each */
    int nt = (pool && threads > 1 && np > 1) ? (np < threads * 4 ? np : threads * 4) : 1;
    fin_task *tasks = qv_xcalloc((size_t)nt + 1, sizeof(fin_task));
    void **args = qv_xcalloc((size_t)nt + 1, sizeof(void *));
    int p = 0;
    for (int t = 0; t < nt; t++) {
        tasks[t].s = s;
        tasks[t].p0 = p;
        int64_t goal = m * (t + 1) / nt;
        while (p < np && (t == nt - 1 || s->pstart[p + 1] <= goal || p == tasks[t].p0)) p++;
        tasks[t].p1 = t == nt - 1 ? np : p;
        args[t] = &tasks[t];
    }
    if (nt > 1) sql_pool_run(pool, nt, fin_run, args, 0);
    else fin_run(&tasks[0]);
    bool oom = false;
    for (int t = 0; t < nt; t++) {
        s->nsorted += tasks[t].sorted;
        oom |= tasks[t].oom;
    }
    free(tasks);
    free(args);
    if (oom) return qv_err_set(err, QV_ERESOURCE, "%s: out of memory sorting the right side", s->label);
    return 0;
}
