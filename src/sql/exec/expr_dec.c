/* DECIMAL casts: between DECIMALs of any (p, s), from and to integers,
   doubles and BOOLEAN. Text is the type descriptors' (adec.c through
   sql_type_get), so it is not here. Every conversion either gives the exact
   value rounded half away from zero at the target scale, as DuckDB does, or
   fails naming the value and the type it does not fit. */
#include "expr_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

static int no_fit(qv_err *err, const char *val, qv_type to) {
    return qv_err_set(err, QV_EINVAL, "value %s does not fit %s", val, type_name(to));
}

/* A decimal literal (1.005, read as a double) into DECIMAL(p, s): through its
   shortest text, so it rounds as the digits written do, as DuckDB's DECIMAL
   literals do, and not as the nearest double does (1.00499999...). */
static bool lit_to_dec(double d, int p, int s, int64_t *out) {
    char t[QV_FLOAT_TEXT_MAX];
    size_t n = qv_float_format(d, false, t);
    return qv_dec_parse(t, n, p, s, out) == 0;
}

int expr_dec_cast(qv_type from, qv_type to, const vec *a, int k, vec *out, int j, bool lit, qv_err *err) {
    char buf[QV_DEC_TEXT_MAX + 8];
    if (type_is_dec(from)) {
        int64_t v = a->i[k];
        int fs = dec_scale(from);
        if (type_is_dec(to)) {
            if (qv_dec_rescale(v, fs, dec_scale(to), dec_prec(to), &out->i[j])) return 0;
            qv_dec_format(v, fs, buf, sizeof buf);
            return no_fit(err, buf, to);
        }
        if (to == QV_T_FLOAT64 || to == QV_T_FLOAT32) {
            double d = qv_dec_to_double(v, fs);
            out->f[j] = to == QV_T_FLOAT32 ? (double)(float)d : d;
            return 0;
        }
        if (to == QV_T_BOOL) {
            out->i[j] = v != 0;
            return 0;
        }
        int64_t r;
        qv_dec_rescale(v, fs, 0, QV_DEC_MAX_PREC, &r); /* scale down: always fits */
        if (to == QV_T_INT32 && (r < INT32_MIN || r > INT32_MAX)) {
            qv_dec_format(v, fs, buf, sizeof buf);
            return no_fit(err, buf, to);
        }
        out->i[j] = r;
        return 0;
    }
    int p = dec_prec(to), s = dec_scale(to);
    if (type_pc(from) == PC_F) {
        double d = a->f[k];
        if (lit ? lit_to_dec(d, p, s, &out->i[j]) : qv_dec_from_double(d, p, s, &out->i[j])) return 0;
        snprintf(buf, sizeof buf, "%.17g", d);
        return no_fit(err, buf, to);
    }
    int64_t v = a->i[k];
    if (from == QV_T_BOOL) v = v != 0;
    if (qv_dec_rescale(v, 0, s, p, &out->i[j])) return 0;
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return no_fit(err, buf, to);
}
