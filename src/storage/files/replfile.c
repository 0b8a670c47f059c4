/*
** Column files for replication. The primary hands out the file behind a
** sealed, checkpointed row group (st_snapshot_rowgroup_file: the snapshot
** keeps it referenced; the caller opens it at once). A replica receives it
** in chunks into `t<id>-<fno>.qvc.part` (st_replica_file_chunk, in order,
** offset 0 starts over), then st_replica_file_check checks its size and
** CRC-32C over every byte and fsyncs it; st_append_add_file_replica
** (append.c) then renames it to the real name, checks its header and
** directory and makes it a row group of an open append, so the files and
** rows of one catch-up commit together as one PUT record, as a put that
** wrote those files would. Each buffer's CRC is checked again on first use,
** as for every column file. A .part file is discarded on any error and at
** the next open (st_replica_parts_remove). Stateless itself; the follower
** thread is the one caller on a replica.
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

int st_replica_file_check(st_db *db, uint64_t id, int64_t fno, int64_t size, uint32_t crc, qv_err *err) {
    char path[ST_PATH_MAX];
    part_path(db, id, fno, path, sizeof path);
    int rc = check_part(path, size, crc, err);
    if (rc) unlink(path);
    return rc;
}
