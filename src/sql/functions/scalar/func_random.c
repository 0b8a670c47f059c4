/* random() and uuid() / gen_random_uuid(): a fresh value per row. They carry
   SF_VOLATILE, so a call is never folded to one constant at bind time (they
   have no arguments, which would otherwise make them "all constant").
   Each thread has its own generator (xoshiro256**), seeded once from the
   kernel's entropy, so parallel scans need no lock and two threads never
   share a sequence. Not for cryptography; DuckDB's are not either. */
#include "functions.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct rng { uint64_t s[4]; bool seeded; } rng;
static _Thread_local rng tl_rng;

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Seeds from getrandom; should it fail (no entropy source), from the clock
   and the state's address, which still differs per thread and per start. */
static void rng_seed(rng *r) {
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^ (uint64_t)(uintptr_t)r;
    }
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
    r->seeded = true;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(void) {
    rng *r = &tl_rng;
    if (!r->seeded) rng_seed(r);
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return out;
}

/* The top 53 bits as a fraction: uniform over [0, 1), never 1. */
static int ev_random(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)a, (void)err;
    for (int k = 0; k < n; k++) out->f[k] = (double)(rng_next() >> 11) * 0x1p-53;
    return 0;
}

/* Version 4 (random) UUID in its canonical text: 122 random bits, the
   version nibble 4 and the variant bits 10. */
static int ev_uuid(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)a, (void)err;
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < n; k++) {
        uint8_t b[16];
        uint64_t h = rng_next(), l = rng_next();
        memcpy(b, &h, 8);
        memcpy(b + 8, &l, 8);
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
        char *d = vec_heap_alloc(out, 36);
        int o = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) d[o++] = '-';
            d[o++] = hex[b[i] >> 4];
            d[o++] = hex[b[i] & 15];
        }
        out->s[k] = (sv){d, 36};
    }
    return 0;
}

const sfunc_def sfunc_random[] = {
    {"random", 0, 0, "", 'F', NULL, ev_random, SF_VOLATILE, "random(): a DOUBLE in [0, 1), a new one per row"},
    {"uuid", 0, 0, "", 'S', NULL, ev_uuid, SF_VOLATILE, "uuid(): a random (version 4) UUID as text, a new one per row"},
    {"gen_random_uuid", 0, 0, "", 'S', NULL, ev_uuid, SF_VOLATILE, "gen_random_uuid(): the same as uuid()"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
