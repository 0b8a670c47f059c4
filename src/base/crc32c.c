/*
** CRC-32C (Castagnoli). WAL records and column files use it.
** Three implementations, chosen once at run time: the SSE4.2 crc32
** instruction (x86-64), the ARMv8 CRC32C instructions (aarch64), and a
** slicing-by-8 table for everything else. All give the same result; the
** tests compare them. Stateless apart from the table and the choice, both
** set up once (pthread_once).
*/
#include "base/base.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__aarch64__)
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

static uint32_t table[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint32_t (*impl)(uint32_t, const uint8_t *, size_t);
static const char *impl_name = "software";

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n >= 8) { /* slicing-by-8 */
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
/* The crc32 instruction takes three cycles but starts one per cycle, so a
   single chain of it runs at a third of the unit's rate. Long buffers are cut
   into three lanes of LANE bytes, each lane's CRC computed from zero in its own
   chain, interleaved; the lanes are then joined using the CRC's linearity:
   the register after lane A then lane B is shift(regA, LANE) ^ regB, where
   shift advances a register over LANE zero bytes. shift is a fixed linear map
   on 32 bits, kept as four byte tables (lane_shift) built once at init. */
#define LANE 2048
static uint32_t lane_shift[4][256];

__attribute__((target("sse4.2"))) static uint32_t zeros_hw(uint32_t reg, size_t n) {
    uint64_t c = reg;
    for (size_t i = 0; i < n; i += 8) c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

static void lane_shift_init(void) {
    uint32_t basis[32];
    for (int b = 0; b < 32; b++) basis[b] = zeros_hw(1u << b, LANE);
    for (int k = 0; k < 4; k++)
        for (uint32_t v = 0; v < 256; v++) {
            uint32_t r = 0;
            for (int b = 0; b < 8; b++)
                if (v >> b & 1) r ^= basis[8 * k + b];
            lane_shift[k][v] = r;
        }
}

static inline uint32_t shift_lane(uint32_t r) {
    return lane_shift[0][r & 0xff] ^ lane_shift[1][(r >> 8) & 0xff] ^ lane_shift[2][(r >> 16) & 0xff] ^
           lane_shift[3][r >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    while (n >= 3 * LANE) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < LANE; i += 8) {
            uint64_t a, b, d;
            memcpy(&a, p + i, 8);
            memcpy(&b, p + LANE + i, 8);
            memcpy(&d, p + 2 * LANE + i, 8);
            c = _mm_crc32_u64(c, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, d);
        }
        c = shift_lane(shift_lane((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * LANE;
        n -= 3 * LANE;
    }
    while (n >= 8) {
        uint64_t a;
        memcpy(&a, p, 8);
        c = _mm_crc32_u64(c, a);
        p += 8;
        n -= 8;
    }
    while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
static bool hw_ok(void) { return __builtin_cpu_supports("sse4.2"); }
#define HW_NAME "sse4.2"
#elif defined(__aarch64__)
__attribute__((target("+crc"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n) {
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = __crc32cb(c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t a;
        memcpy(&a, p, 8);
        c = __crc32cd(c, a);
        p += 8;
        n -= 8;
    }
    while (n--) c = __crc32cb(c, *p++);
    return ~c;
}
static bool hw_ok(void) { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#define HW_NAME "armv8-crc"
#else
#define crc_hw NULL
static bool hw_ok(void) { return false; }
#define HW_NAME "none"
#endif

static void init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    impl = crc_sw;
    if (hw_ok()) {
#if defined(__x86_64__)
        lane_shift_init();
#endif
        impl = crc_hw;
        impl_name = HW_NAME;
    }
}

uint32_t qv_crc32c(uint32_t crc, const void *data, size_t n) {
    pthread_once(&once, init);
    return impl(crc, data, n);
}

uint32_t qv_crc32c_sw(uint32_t crc, const void *data, size_t n) {
    pthread_once(&once, init);
    return crc_sw(crc, data, n);
}

bool qv_crc32c_hw(uint32_t crc, const void *data, size_t n, uint32_t *out) {
    pthread_once(&once, init);
    if (!hw_ok()) return false;
    *out = crc_hw(crc, data, n);
    return true;
}

const char *qv_crc32c_impl(void) {
    pthread_once(&once, init);
    return impl_name;
}
