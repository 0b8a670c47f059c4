/*
** The demo `trades` table: N synthetic ticks over ten tickers, a random walk
** per ticker, timestamps from 2024-01-02 14:30 UTC (the US open) about 1 ms
** apart. Deterministic (fixed seed) so demos and docs show the same numbers.
*/
#include "engine_int.h"

#include <math.h>
#include <string.h>

#define DEMO_CHUNK 65536

static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

int eng_demo_create(eng *e, int64_t n, qv_err *err) {
    static const char *tickers[] = {"AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "XOM"};
    static const double start_px[] = {185.6, 370.9, 139.6, 149.9, 481.7, 346.3, 248.4, 170.3, 260.4, 102.7};
    enum { NT = 10 };
    st_table *t;
    int rc = st_table_open(e->db, "trades", &t, err);
    if (rc == QV_OK) {
        st_table_release(t);
        QV_INFO("demo table 'trades' already exists; leaving it as it is");
        return QV_OK;
    }
    if (rc != QV_ENOTFOUND) return rc;

    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "ts", QV_T_TIMESTAMP, false);
    qv_schema_add(&s, "symbol", QV_T_SYMBOL, false);
    qv_schema_add(&s, "price", QV_T_FLOAT64, false);
    qv_schema_add(&s, "volume", QV_T_FLOAT64, false);
    if ((rc = st_table_create(e->db, "trades", &s, err))) goto out;
    if ((rc = st_table_open(e->db, "trades", &t, err))) goto out;

    st_append *a;
    if ((rc = st_append_begin(t, &a, err))) {
        st_table_release(t);
        goto out;
    }
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    double px[NT];
    memcpy(px, start_px, sizeof px);
    int64_t ts = 1704205800LL * 1000000000LL; /* 2024-01-02T14:30:00Z */
    qv_schema bs; /* what we hand storage: text for the SYMBOL column */
    qv_schema_copy(&bs, &s);
    bs.fields[1].type = QV_T_STRING;
    for (int64_t done = 0; done < n && !rc;) {
        int64_t m = n - done < DEMO_CHUNK ? n - done : DEMO_CHUNK;
        qv_builder bt, bsym, bp, bv;
        qv_builder_init(&bt, QV_T_TIMESTAMP, m);
        qv_builder_init(&bsym, QV_T_STRING, m);
        qv_builder_init(&bp, QV_T_FLOAT64, m);
        qv_builder_init(&bv, QV_T_FLOAT64, m);
        for (int64_t i = 0; i < m; i++) {
            uint64_t r = rng_next(&seed);
            int k = (int)(r % NT);
            ts += 1 + (int64_t)((r >> 8) % 2000000); /* up to 2 ms */
            double step = ((double)((r >> 24) % 2001) - 1000.0) / 1000.0 * 0.0005;
            px[k] = round(px[k] * (1.0 + step) * 100.0) / 100.0;
            if (px[k] < 1.0) px[k] = 1.0;
            qv_builder_append_i64(&bt, ts);
            qv_builder_append_str(&bsym, tickers[k], (int32_t)strlen(tickers[k]));
            qv_builder_append_f64(&bp, px[k]);
            qv_builder_append_f64(&bv, (double)(1 + (r >> 40) % 100) * 100.0);
        }
        qv_batch b;
        qv_batch_init(&b, &bs);
        b.nrows = m;
        qv_builder *bl[4] = {&bt, &bsym, &bp, &bv};
        for (int c = 0; c < 4; c++) {
            qv_array_free(&b.cols[c]);
            qv_builder_finish(bl[c], &b.cols[c]);
            qv_builder_free(bl[c]);
        }
        rc = st_append_batch(a, &b, err);
        qv_batch_free(&b);
        done += m;
    }
    qv_schema_free(&bs);
    if (rc) st_append_abort(a);
    else rc = st_append_commit(a, NULL, err);
    st_table_release(t);
    if (!rc) QV_INFO("created demo table 'trades' with %lld rows", (long long)n);
out:
    qv_schema_free(&s);
    return rc;
}
