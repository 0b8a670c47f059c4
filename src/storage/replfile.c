/*
** Column files for replication. The primary hands out the file behind a
** sealed, checkpointed row group (st_snapshot_rowgroup_file: the snapshot
** keeps it referenced; the caller opens it at once). A replica receives it
** in chunks into `t<id>-<fno>.qvc.part` (st_replica_file_chunk, in order,
** offset 0 starts over), then st_replica_file_adopt checks its size and
** CRC-32C over every byte, fsyncs it, renames it to the real name, checks its
** header and directory (st_colfile_stats: this table, this file number, the
** row group size, the column types) and commits it like a put that wrote
** that file: a PUT record naming it, durable before the row group is
** visible. Each buffer's CRC is checked again on first use, as for every
** column file. A .part file is discarded on any error and at the next open
** (st_replica_parts_remove). Stateless itself; the follower thread is the one
** caller on a replica.
*/
#include "st_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool st_snapshot_rowgroup_file(const st_snapshot *s, int rg, char *path, size_t n, int64_t *fno) {
    if (rg < 0 || rg >= s->pub->nrgs || !s->pub->rgs[rg]->map) return false;
    const char *p = st_map_path(s->pub->rgs[rg]->map);
    const char *base = strrchr(p, '/');
    unsigned long long id;
    long long no;
    int used = 0;
    base = base ? base + 1 : p;
    if (sscanf(base, "t%llu-%lld.qvc%n", &id, &no, &used) != 2 || base[used] || id != s->t->id) return false;
    snprintf(path, n, "%s", p);
    *fno = no;
    return true;
}

int64_t st_db_replica_file_rows(st_db *db) { return db->in_memory ? 0 : db->rg_rows; }

static void part_path(st_db *db, uint64_t id, int64_t fno, char *buf, size_t n) {
    st_col_path(db->dir, id, fno, buf, n - 8);
    strcat(buf, ".part");
}

void st_replica_parts_remove(st_db *db) {
    DIR *d = opendir(db->dir);
    if (!d) return;
    struct dirent *e;
    char path[ST_PATH_MAX];
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 10 || e->d_name[0] != 't' || strcmp(e->d_name + len - 9, ".qvc.part") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", db->dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

void st_replica_file_discard(st_db *db, uint64_t id, int64_t fno) {
    char path[ST_PATH_MAX];
    part_path(db, id, fno, path, sizeof path);
    unlink(path);
}

int st_replica_file_chunk(st_db *db, uint64_t id, int64_t fno, int64_t off, const void *p, size_t n, qv_err *err) {
    if (db->in_memory) return qv_err_set(err, QV_EINVAL, "an in-memory replica takes no column files");
    if (fno < 0 || off < 0) return qv_err_set(err, QV_ECORRUPT, "replication: bad file chunk position");
    char path[ST_PATH_MAX];
    part_path(db, id, fno, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (off == 0 ? O_TRUNC : 0), 0644);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot open %s: %m", path);
    struct stat st;
    int rc = QV_OK;
    if (fstat(fd, &st) != 0 || st.st_size != off)
        rc = qv_err_set(err, QV_ECORRUPT, "replication: chunk at %lld of %s, which has %lld bytes", (long long)off,
                        path, (long long)st.st_size);
    else if (lseek(fd, off, SEEK_SET) != off || st_write_all(fd, p, n) != 0)
        rc = qv_err_set(err, QV_EIO, "cannot write %s: %m", path);
    close(fd);
    if (rc) unlink(path);
    return rc;
}

/* The whole .part file checks out: size and CRC-32C; then fsynced. */
static int check_part(const char *path, int64_t size, uint32_t crc, qv_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot open %s: %m", path);
    uint8_t *buf = qv_xmalloc(1 << 20);
    uint32_t got = 0;
    int64_t total = 0;
    ssize_t k;
    while ((k = read(fd, buf, 1 << 20)) > 0) {
        got = qv_crc32c(got, buf, (size_t)k);
        total += k;
    }
    free(buf);
    int rc = QV_OK;
    if (k < 0) rc = qv_err_set(err, QV_EIO, "cannot read %s: %m", path);
    else if (total != size || got != crc)
        rc = qv_err_set(err, QV_ECORRUPT,
                        "replication: column file %s arrived damaged (%lld of %lld bytes, crc %08x, sent %08x)", path,
                        (long long)total, (long long)size, got, crc);
    else if (fdatasync(fd) != 0)
        rc = qv_err_set(err, QV_EIO, "cannot fsync %s: %m", path);
    close(fd);
    return rc;
}

/* Writer slot, ckpt_mu and commit_mu held: install the checked file. */
static int install(st_table *t, const char *path, int64_t row_from, int64_t fno, qv_err *err) {
    st_db *db = t->db;
    if (atomic_load(&t->dropped)) return qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    if (t->rows != row_from || t->rows % t->rg_cap != 0)
        return qv_err_set(err, QV_ECORRUPT, "replication: table %s has %lld rows here, the file starts at row %lld",
                          t->name, (long long)t->rows, (long long)row_from);
    if (fno < t->next_fno)
        return qv_err_set(err, QV_ECORRUPT, "replication: file number %lld of table %s is taken here",
                          (long long)fno, t->name);
    char final[ST_PATH_MAX];
    st_col_path(db->dir, t->id, fno, final, sizeof final);
    if (rename(path, final) != 0) return qv_err_set(err, QV_EIO, "cannot rename %s: %m", path);
    st_stats *stats = qv_xcalloc((size_t)t->schema.nfields, sizeof *stats);
    int64_t bytes = 0;
    int rc = st_fsync_dir(db->dir, err);
    if (rc == QV_OK) rc = st_colfile_stats(final, t->id, fno, t->rg_cap, &t->schema, stats, &bytes, err);
    qv_str rec;
    qv_str_init(&rec);
    st_put_u64(&rec, t->id);
    st_put_u32(&rec, 1);
    st_put_u64(&rec, (uint64_t)fno);
    st_put_u32(&rec, 0);
    if (rc == QV_OK && (rc = st_wal_log(db->wal, ST_REC_PUT, &rec, err)) == QV_OK) atomic_fetch_add(&db->wal_files, 1);
    qv_str_free(&rec);
    if (rc == QV_OK) {
        int64_t bytes0 = t->pub ? t->pub->bytes : 0;
        st_table_add_file_rg(t, fno, st_map_new(final, t->id, fno, t->rg_cap, &t->schema, false), stats, bytes);
        st_publish(t);
        atomic_fetch_add(&db->st_commits, 1);
        if (db->hooks.committed)
            db->hooks.committed(db->hooks.arg, t, row_from, row_from + t->rg_cap, t->pub->bytes - bytes0);
    } else {
        unlink(final); /* nothing names it */
    }
    free(stats);
    return rc;
}

int st_replica_file_adopt(st_db *db, const char *name, int64_t row_from, int64_t fno, int64_t size, uint32_t crc,
                          qv_err *err) {
    st_table *t = NULL;
    char path[ST_PATH_MAX];
    int rc = st_table_open(db, name, &t, err);
    if (rc == QV_OK) {
        part_path(db, t->id, fno, path, sizeof path);
        rc = check_part(path, size, crc, err);
    }
    if (rc == QV_OK) {
        pthread_mutex_lock(&t->append_mu);
        while (t->appending) pthread_cond_wait(&t->append_cv, &t->append_mu);
        t->appending = true;
        pthread_mutex_unlock(&t->append_mu);
        pthread_mutex_lock(&db->ckpt_mu);
        pthread_mutex_lock(&t->commit_mu);
        rc = install(t, path, row_from, fno, err);
        pthread_mutex_unlock(&t->commit_mu);
        pthread_mutex_unlock(&db->ckpt_mu);
        pthread_mutex_lock(&t->append_mu);
        t->appending = false;
        pthread_cond_signal(&t->append_cv);
        pthread_mutex_unlock(&t->append_mu);
    }
    if (t) {
        unlink(path); /* gone when renamed; a failed one is not kept */
        st_table_release(t);
    }
    if (rc == QV_OK) st_checkpoint_poke(db);
    return rc;
}
