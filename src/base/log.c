/* One line per event on stderr: "2026-11-25T11:14:41.123Z INFO message". */
#include "base/base.h"

#include <stdio.h>
#include <strings.h>
#include <time.h>

static _Atomic int g_level = QV_LOG_INFO;

void qv_log_set_level(qv_log_level lvl) { g_level = (int)lvl; }

int qv_log_level_parse(const char *s, qv_log_level *out) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (qv_log_level)i;
            return 0;
        }
    if (strcasecmp(s, "warning") == 0) {
        *out = QV_LOG_WARN;
        return 0;
    }
    return -1;
}

void qv_log(qv_log_level lvl, const char *fmt, ...) {
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if ((int)lvl < g_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Keep the one-line promise even if a message carries newlines. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    /* A single fprintf is one write on a line-buffered/unbuffered stderr. */
    fprintf(stderr, "%s.%03ldZ %s %s\n", when, ts.tv_nsec / 1000000, names[lvl], msg);
}
