/* Unit tests for the hand-written flatbuffer reader/builder (src/ipc/fb.c). */
#include "fb.h"
#include "qtest.h"

/* table { a: long (0), b: string (1), c: [table{x:int}] (2), d: short (4), e: [struct 16B] (5) } */
static const uint8_t *build_sample(fb_builder *b, size_t *len) {
    fb_builder_init(b);
    fb_ref kids[3];
    for (int i = 0; i < 3; i++) {
        fb_table_start(b);
        fb_add_i32(b, 0, 100 + i);
        kids[i] = fb_table_end(b);
    }
    fb_ref vec = fb_create_vector_refs(b, kids, 3);
    fb_ref str = fb_create_string(b, "hello", 5);
    int64_t pairs[4] = {1, 2, 3, 4};
    fb_ref sv = fb_create_vector(b, pairs, 2, 16, 8);
    fb_table_start(b);
    fb_add_i64(b, 0, -5);
    fb_add_ref(b, 1, str);
    fb_add_ref(b, 2, vec);
    fb_add_i16(b, 4, 7);
    fb_add_ref(b, 5, sv);
    fb_ref root = fb_table_end(b);
    return fb_builder_finish(b, root, len);
}

QTEST(fb_round_trip) {
    fb_builder b;
    size_t len;
    const uint8_t *p = build_sample(&b, &len);
    QCHECK_EQ(len % 8, 0);
    fb_reader r;
    fb_reader_init(&r, p, len);
    fb_table t, k;
    QCHECK(fb_root(&r, &t, "root"));
    QCHECK_EQ(fb_i64(&t, 0, 0, "a"), -5);
    QCHECK_EQ(fb_i16(&t, 4, 0, "d"), 7);
    QCHECK_EQ(fb_i32(&t, 3, 42, "absent"), 42);   /* absent field: default */
    QCHECK_EQ(fb_i32(&t, 12, 43, "beyond"), 43);  /* beyond the vtable: default */
    const char *s;
    uint32_t n;
    QCHECK(fb_string(&t, 1, &s, &n, "b"));
    QCHECK_EQ(n, 5);
    QCHECK_STR(s, "hello");
    fb_vec v;
    QCHECK(fb_vector(&t, 2, 4, &v, "c"));
    QCHECK_EQ(v.n, 3);
    for (uint32_t i = 0; i < 3; i++) {
        QCHECK(fb_vec_table(&v, i, &k, "c[]"));
        QCHECK_EQ(fb_i32(&k, 0, 0, "x"), 100 + (int)i);
    }
    QCHECK(fb_vector(&t, 5, 16, &v, "e"));
    QCHECK_EQ(v.n, 2);
    QCHECK_EQ(fb_read_i64(fb_vec_at(&v, 1) + 8), 4);
    QCHECK(!fb_failed(&r));
    fb_builder_free(&b);
}

/* Every truncation and every single-byte corruption must be caught or read in
   bounds (ASan/UBSan builds verify the latter). */
QTEST(fb_malformed_never_reads_out_of_bounds) {
    fb_builder b;
    size_t len;
    const uint8_t *p = build_sample(&b, &len);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *q = malloc(cut ? cut : 1);
        memcpy(q, p, cut);
        fb_reader r;
        fb_reader_init(&r, q, cut);
        fb_table t, k;
        if (fb_root(&r, &t, "root")) {
            const char *s;
            uint32_t n;
            fb_vec v;
            fb_string(&t, 1, &s, &n, "b");
            if (fb_vector(&t, 2, 4, &v, "c"))
                for (uint32_t i = 0; i < v.n && !fb_failed(&r); i++) fb_vec_table(&v, i, &k, "c[]");
            fb_i64(&t, 0, 0, "a");
        }
        free(q);
    }
    int failures = 0;
    for (size_t at = 0; at < len; at++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *q = malloc(len);
            memcpy(q, p, len);
            q[at] ^= (uint8_t)(1u << bit);
            fb_reader r;
            fb_reader_init(&r, q, len);
            fb_table t, k;
            if (fb_root(&r, &t, "root")) {
                const char *s;
                uint32_t n;
                fb_vec v;
                fb_string(&t, 1, &s, &n, "b");
                if (fb_vector(&t, 2, 4, &v, "c"))
                    for (uint32_t i = 0; i < v.n && !fb_failed(&r); i++) fb_vec_table(&v, i, &k, "c[]");
                if (fb_vector(&t, 5, 16, &v, "e"))
                    for (uint32_t i = 0; i < v.n; i++) (void)fb_read_i64(fb_vec_at(&v, i));
            }
            failures += fb_failed(&r);
            free(q);
        }
    }
    QCHECK(failures > 0); /* corruption is noticed at least sometimes */
    fb_builder_free(&b);
}

QTEST(fb_rejects_bad_offsets_with_message) {
    uint8_t buf[16] = {0};
    uint32_t root = 1000;
    memcpy(buf, &root, 4);
    fb_reader r;
    fb_reader_init(&r, buf, sizeof buf);
    fb_table t;
    QCHECK(!fb_root(&r, &t, "Message"));
    QCHECK(strstr(r.err.msg, "Message") != NULL);
    QCHECK_EQ(r.err.code, QV_ECORRUPT);
    /* vtable pointing before the buffer start */
    root = 8;
    memcpy(buf, &root, 4);
    int32_t so = 100;
    memcpy(buf + 8, &so, 4);
    fb_reader_init(&r, buf, sizeof buf);
    QCHECK(!fb_root(&r, &t, "Message"));
    QCHECK(strstr(r.err.msg, "vtable") != NULL);
}

QTEST(fb_string_needs_terminator) {
    fb_builder b;
    fb_builder_init(&b);
    fb_ref s = fb_create_string(&b, "abc", 3);
    fb_table_start(&b);
    fb_add_ref(&b, 0, s);
    fb_ref root = fb_table_end(&b);
    size_t len;
    const uint8_t *p = fb_builder_finish(&b, root, &len);
    uint8_t *q = malloc(len);
    memcpy(q, p, len);
    /* find "abc\0" and clobber the NUL */
    for (size_t i = 0; i + 3 < len; i++)
        if (!memcmp(q + i, "abc", 4)) q[i + 3] = 'x';
    fb_reader r;
    fb_reader_init(&r, q, len);
    fb_table t;
    const char *str;
    uint32_t n;
    QCHECK(fb_root(&r, &t, "root"));
    QCHECK(!fb_string(&t, 0, &str, &n, "name"));
    QCHECK(strstr(r.err.msg, "NUL") != NULL);
    free(q);
    fb_builder_free(&b);
}
