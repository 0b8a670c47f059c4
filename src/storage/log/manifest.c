/*
** The MANIFEST: what the last completed checkpoint made durable. Per table
** its id, row group size, name, schema and, per row group in a column file,
** its size and per-column stats, so opening a database reads no column
** file at all. Written as MANIFEST.tmp, fsynced, renamed (the commit point
** of a checkpoint), directory fsynced.
**
**   "QVMANIF3" | u64 wal seq | u64 next table id | u32 tables
**   | per table: u64 id, u64 rowgroup_rows, u64 next file number,
**     i32 retention column (-1 none), i64 retention ns, i64 rows removed
**     from the front (the trim count: row numbers start there), name,
**     schema, u32 row groups, per row group: u64 file number, u64 file
**     bytes, per column: stats, u32 n + n bytes of deletion vector (bit set:
**     row deleted; 0: none)
**   | u32 crc(everything before)
** stats: u8 flags (st_stats_flags), u64 null count, u64 min, u64 max (doubles as bits).
** A "QVMANIF2" file (before trim counts and deletion vectors) reads with a
** trim count of 0 and no deleted rows.
** Stateless: callers own the st_manifest.
*/
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char man_magic[8] = {'Q', 'V', 'M', 'A', 'N', 'I', 'F', '3'};
/* read: no trim count, no deletion vectors */
static const char man_magic_v2[8] = {'Q', 'V', 'M', 'A', 'N', 'I', 'F', '2'};

int st_manifest_write(const char *dir, const st_manifest *m, qv_err *err) {
    qv_str s;
    qv_str_init(&s);
    qv_str_append(&s, man_magic, 8);
    st_put_u64(&s, m->wal_seq);
    st_put_u64(&s, m->next_id);
    st_put_u32(&s, (uint32_t)m->ntables);
    for (int i = 0; i < m->ntables; i++) {
        const st_man_table *t = &m->tables[i];
        st_put_u64(&s, t->id);
        st_put_u64(&s, (uint64_t)t->rg_cap);
        st_put_u64(&s, (uint64_t)t->next_fno);
        st_put_u32(&s, (uint32_t)t->ret_col);
        st_put_u64(&s, (uint64_t)t->ret_ns);
        st_put_u64(&s, (uint64_t)t->removed);
        st_put_name(&s, t->name);
        st_encode_schema(&s, &t->schema);
        st_put_u32(&s, (uint32_t)t->nrgs);
        for (int g = 0; g < t->nrgs; g++) {
            st_put_u64(&s, (uint64_t)t->rgs[g].fno);
            st_put_u64(&s, (uint64_t)t->rgs[g].bytes);
            for (int c = 0; c < t->schema.nfields; c++) st_encode_stats(&s, &t->rgs[g].stats[c]);
            st_put_u32(&s, t->rgs[g].del_len);
            qv_str_append(&s, t->rgs[g].del, t->rgs[g].del_len);
        }
    }
    st_put_u32(&s, qv_crc32c(0, s.data, s.len));
    char tmp[ST_PATH_MAX], path[ST_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/MANIFEST.tmp", dir);
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    int rc = QV_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) rc = qv_err_set(err, QV_EIO, "cannot create %s: %m", tmp);
    else {
        if (st_write_all(fd, s.data, s.len) != 0 || fsync(fd) != 0)
            rc = qv_err_set(err, QV_EIO, "cannot write %s: %m", tmp);
        close(fd);
    }
    qv_str_free(&s);
    if (rc) return rc;
    if (rename(tmp, path) != 0) return qv_err_set(err, QV_EIO, "cannot rename %s: %m", tmp);
    return st_fsync_dir(dir, err);
}

void st_manifest_free(st_manifest *m) {
    for (int i = 0; i < m->ntables; i++) {
        st_man_table *t = &m->tables[i];
        for (int g = 0; g < t->nrgs; g++) {
            free(t->rgs[g].stats);
            free(t->rgs[g].del);
        }
        free(t->rgs);
        free(t->name);
        qv_schema_free(&t->schema);
    }
    free(m->tables);
    memset(m, 0, sizeof *m);
}


static int read_table(st_rd *r, st_man_table *t, bool v2, const char *path, qv_err *err) {
    t->id = st_get_u64(r);
    t->rg_cap = (int64_t)st_get_u64(r);
    t->next_fno = (int64_t)st_get_u64(r);
    t->ret_col = (int32_t)st_get_u32(r);
    t->ret_ns = (int64_t)st_get_u64(r);
    t->removed = v2 ? 0 : (int64_t)st_get_u64(r);
    if (t->removed < 0) return qv_err_set(err, QV_ECORRUPT, "manifest %s: negative trim count", path);
    t->name = st_get_name(r);
    if (!t->name || r->bad) return qv_err_set(err, QV_ECORRUPT, "manifest %s is truncated", path);
    if (st_decode_schema(r, &t->schema, err)) {
        qv_schema_init(&t->schema);
        return qv_err_prefix(err, "manifest %s", path);
    }
    uint32_t nrgs = st_get_u32(r);
    size_t per = 16 + (v2 ? 0 : 4) + (size_t)t->schema.nfields * 25;
    if (r->bad || nrgs > (r->n - r->pos) / per) return qv_err_set(err, QV_ECORRUPT, "manifest %s is truncated", path);
    t->rgs = qv_xcalloc(nrgs ? nrgs : 1, sizeof *t->rgs);
    t->nrgs = (int)nrgs;
    for (uint32_t g = 0; g < nrgs; g++) {
        t->rgs[g].fno = (int64_t)st_get_u64(r);
        t->rgs[g].bytes = (int64_t)st_get_u64(r);
        t->rgs[g].stats = qv_xcalloc((size_t)t->schema.nfields, sizeof(st_stats));
        for (int c = 0; c < t->schema.nfields; c++) st_decode_stats(r, &t->rgs[g].stats[c]);
        uint32_t dl = v2 ? 0 : st_get_u32(r);
        const uint8_t *db = dl && !r->bad ? st_get_bytes(r, dl) : NULL;
        if (dl && (!db || dl > (uint32_t)((t->rg_cap + 7) / 8)))
            return qv_err_set(err, QV_ECORRUPT, "manifest %s: bad deletion vector", path);
        if (db) {
            t->rgs[g].del = qv_xmalloc(dl);
            memcpy(t->rgs[g].del, db, dl);
            t->rgs[g].del_len = dl;
        }
    }
    return r->bad ? qv_err_set(err, QV_ECORRUPT, "manifest %s is truncated", path) : QV_OK;
}

int st_manifest_read(const char *dir, st_manifest *m, bool *have, qv_err *err) {
    memset(m, 0, sizeof *m);
    *have = false;
    char path[ST_PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    if (access(path, F_OK) != 0) return QV_OK;
    uint8_t *buf = NULL;
    size_t n = 0;
    if (qv_file_read_all(path, &buf, &n, err)) return err->code;
    bool v2 = n >= 8 && memcmp(buf, man_magic_v2, 8) == 0;
    if (n < 32 || (memcmp(buf, man_magic, 8) && !v2) || st_rd_u32(buf + n - 4) != qv_crc32c(0, buf, n - 4)) {
        free(buf);
        return qv_err_set(err, QV_ECORRUPT, "manifest %s is damaged (bad magic or checksum)", path);
    }
    st_rd r = {buf + 8, n - 12, 0, false};
    m->wal_seq = st_get_u64(&r);
    m->next_id = st_get_u64(&r);
    uint32_t nt = st_get_u32(&r);
    int rc = QV_OK;
    if (nt > r.n) rc = qv_err_set(err, QV_ECORRUPT, "manifest %s is truncated", path);
    else m->tables = qv_xcalloc(nt ? nt : 1, sizeof *m->tables);
    for (uint32_t i = 0; rc == QV_OK && i < nt; i++) {
        m->ntables++;
        rc = read_table(&r, &m->tables[i], v2, path, err);
    }
    if (rc == QV_OK && r.pos != r.n) rc = qv_err_set(err, QV_ECORRUPT, "manifest %s has trailing bytes", path);
    free(buf);
    if (rc) {
        st_manifest_free(m);
        return rc;
    }
    *have = true;
    return QV_OK;
}
