/*
** qtest: the C unit test runner. Include once per test binary; write tests
** with QTEST(name) { ... } and check with QCHECK/QCHECK_EQ. The binary runs
** every test (or those whose name contains argv[1]) and ends with the line
** "N passed, M failed"; exit status is 1 if any failed.
*/
#ifndef QTEST_H
#define QTEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*qtest_fn)(void);
typedef struct { const char *name; qtest_fn fn; } qtest_case;

static qtest_case qtest_cases[512];
static int qtest_ncases;
static int qtest_failed_now;

#define QTEST(tname)                                                              \
    static void qtest_##tname(void);                                              \
    __attribute__((constructor)) static void qtest_reg_##tname(void) {            \
        qtest_cases[qtest_ncases].name = #tname;                                  \
        qtest_cases[qtest_ncases++].fn = qtest_##tname;                           \
    }                                                                             \
    static void qtest_##tname(void)

#define QCHECK(cond)                                                              \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            qtest_failed_now = 1;                                                 \
            return;                                                               \
        }                                                                         \
    } while (0)

#define QCHECK_EQ(a, b)                                                           \
    do {                                                                          \
        long long qa_ = (long long)(a), qb_ = (long long)(b);                     \
        if (qa_ != qb_) {                                                         \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,  \
                    __LINE__, #a, #b, qa_, qb_);                                  \
            qtest_failed_now = 1;                                                 \
            return;                                                               \
        }                                                                         \
    } while (0)

#define QCHECK_STR(a, b)                                                          \
    do {                                                                          \
        const char *qa_ = (a), *qb_ = (b);                                        \
        if (!qa_ || !qb_ || strcmp(qa_, qb_) != 0) {                              \
            fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n",       \
                    __FILE__, __LINE__, #a, #b, qa_ ? qa_ : "(null)",             \
                    qb_ ? qb_ : "(null)");                                        \
            qtest_failed_now = 1;                                                 \
            return;                                                               \
        }                                                                         \
    } while (0)

/* Check a status-returning call succeeded; prints err.msg if not. */
#define QCHECK_OK(call, errp)                                                     \
    do {                                                                          \
        int qrc_ = (call);                                                        \
        if (qrc_ != 0) {                                                          \
            fprintf(stderr, "  %s:%d: %s returned %d: %s\n", __FILE__, __LINE__,  \
                    #call, qrc_, (errp)->msg);                                    \
            qtest_failed_now = 1;                                                 \
            return;                                                               \
        }                                                                         \
    } while (0)

int main(int argc, char **argv) {
    int passed = 0, failed = 0;
    for (int i = 0; i < qtest_ncases; i++) {
        if (argc > 1 && !strstr(qtest_cases[i].name, argv[1])) continue;
        qtest_failed_now = 0;
        qtest_cases[i].fn();
        if (qtest_failed_now) {
            failed++;
            fprintf(stderr, "FAIL %s\n", qtest_cases[i].name);
        } else {
            passed++;
            if (getenv("QTEST_VERBOSE")) fprintf(stderr, "ok   %s\n", qtest_cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
