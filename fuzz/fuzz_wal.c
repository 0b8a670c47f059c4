/*
** libFuzzer target: the input is the record area of a WAL file (a valid
** 20-byte file header is put in front, and the CRC of every complete record
** is recomputed, so mutations reach the record decoders instead of dying
** at the checksum; the unit tests cover checksum failures).
** Recovery must cut whatever is bad and never crash; whatever it recovers
** must be consistent Arrow data with consistent deletion vectors, and a
** DELETE on it must commit.
*/
#include "storage/storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

/* Empties the scratch directory (files only; recovery makes no subdirectories). */
static void clean_dir(void) {
    DIR *d = opendir(g_dir);
    if (!d) abort();
    struct dirent *e;
    char p[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_dir[0]) {
        strcpy(g_dir, "/tmp/qv-fuzz-wal-XXXXXX");
        if (!mkdtemp(g_dir)) abort();
        qv_log_set_level(QV_LOG_ERROR);
    }
    clean_dir();
    uint8_t hdr[20] = {'Q', 'V', 'W', 'A', 'L', '0', '0', '1', 1, 0, 0, 0, 0, 0, 0, 0};
    uint32_t crc = qv_crc32c(0, hdr, 16);
    for (int i = 0; i < 4; i++) hdr[16 + i] = (uint8_t)(crc >> (8 * i));
    char path[256];
    snprintf(path, sizeof path, "%s/wal-%016d.log", g_dir, 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) abort();
    uint8_t *rec = malloc(size ? size : 1);
    memcpy(rec, data, size);
    for (size_t pos = 0; size - pos >= 9;) {
        uint32_t len = rec[pos] | rec[pos + 1] << 8 | rec[pos + 2] << 16 | (uint32_t)rec[pos + 3] << 24;
        if (len > size - pos - 9) break;
        uint32_t c = qv_crc32c(0, rec + pos, 4);
        c = qv_crc32c(c, rec + pos + 8, 1);
        c = qv_crc32c(c, rec + pos + 9, len);
        for (int i = 0; i < 4; i++) rec[pos + 4 + i] = (uint8_t)(c >> (8 * i));
        pos += 9 + (size_t)len;
    }
    if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr || write(fd, rec, size) != (ssize_t)size) abort();
    free(rec);
    close(fd);

    st_options o = {.data_dir = g_dir, .rowgroup_rows = 16};
    st_db *db = NULL;
    qv_err err;
    if (st_db_open(&o, &db, &err) != QV_OK) return 0;
    st_table_info *inf;
    int n;
    if (st_db_list(db, &inf, &n, &err) == QV_OK) {
        for (int i = 0; i < n; i++) {
            st_table *t;
            if (st_table_open(db, inf[i].name, &t, &err)) abort();
            st_snapshot *s;
            st_snapshot_open(t, &s);
            const qv_schema *sch = st_table_schema(t);
            for (int rg = 0; rg < st_snapshot_rowgroups(s); rg++) {
                qv_batch b;
                qv_batch_init(&b, sch);
                b.nrows = st_snapshot_rowgroup_rows(s, rg);
                for (int c = 0; c < sch->nfields; c++) {
                    qv_array_free(&b.cols[c]);
                    st_snapshot_column(s, rg, c, &b.cols[c]);
                }
                if (qv_batch_validate(&b, &err)) abort();
                qv_batch_free(&b);
                const uint8_t *bits;
                int64_t nd = st_snapshot_rowgroup_deleted(s, rg, &bits), cnt = 0;
                for (int64_t r = 0; bits && r < st_snapshot_rowgroup_rows(s, rg); r++) cnt += qv_bit_get(bits, r);
                if (nd < 0 || nd > st_snapshot_rowgroup_rows(s, rg) || (bits && cnt != nd) || (!bits && nd)) abort();
            }
            int64_t rows = st_snapshot_rows(s);
            if (st_snapshot_live_in(s, 0, rows) != rows - st_snapshot_deleted_rows(s)) abort();
            st_snapshot_close(s);
            /* A DELETE on what was recovered (every third row of the first row group) commits. */
            st_delete *d;
            if (st_delete_begin(t, &d, &err) == QV_OK) {
                st_snapshot_open(t, &s);
                for (int64_t r = 0; r < st_snapshot_rowgroup_rows(s, 0); r += 3) st_delete_mark(d, 0, r);
                st_snapshot_close(s);
                int64_t del = 0;
                if (st_delete_commit(d, &del, &err) != QV_OK) abort();
            }
            st_table_release(t);
        }
        st_table_info_free_all(inf, n);
    }
    st_db_close(db);
    return 0;
}
