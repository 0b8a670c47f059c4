/*
** The st_db object's lifetime: the opener and every table hold a ref; the
** last unref frees it (after st_db_close has stopped the WAL and the
** checkpointer). Calls nothing else in storage.
*/
#include "st_int.h"

#include <stdlib.h>
#include <unistd.h>

void st_db_unref(st_db *db) {
    if (!db || atomic_fetch_sub(&db->refs, 1) != 1) return;
    st_wal_close(db->wal);
    free(db->tables);
    free(db->pending);
    free(db->dir);
    free(db->read_only);
    pthread_mutex_destroy(&db->cat_mu);
    pthread_mutex_destroy(&db->ckpt_mu);
    pthread_mutex_destroy(&db->ckq_mu);
    pthread_cond_destroy(&db->ckq_cv);
    if (db->lock_fd >= 0) close(db->lock_fd);
    free(db);
}
