/* Durations as people write them in flags: 500ms, 2s, 5m, 12h, 1.5s. */
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *suffix;
    int64_t ns;
} units[] = {
    {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL}, {"d", 86400000000000LL},
};

int qv_duration_parse(const char *s, int64_t bare_unit_ns, int64_t *out_ns) {
    if (!s || !*s || isspace((unsigned char)s[0]) || s[0] == '-' || s[0] == '+') return -1;
    errno = 0;
    char *end;
    double x = strtod(s, &end);
    if (errno || end == s || !isfinite(x) || x < 0 || isalpha((unsigned char)s[0])) return -1;
    int64_t unit = 0;
    if (*end == 0) {
        unit = bare_unit_ns;
    } else {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp(end, units[i].suffix) == 0) unit = units[i].ns;
    }
    if (unit <= 0) return -1;
    double ns = x * (double)unit;
    if (ns >= 9.2e18) return -1;
    *out_ns = (int64_t)llround(ns);
    return 0;
}
