/* SPDX-License-Identifier: MIT */
/*
 * report.c: logging and error details. Everything that leaves the
 * library as text is formatted whole, then masked against every key the
 * report was given (report.h) and scrubbed of control characters, and only then cut to
 * its buffer: a key can never straddle a cut.
 */
#include "report.h"

#include "redact.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Format into a large stack buffer (no allocation: logging must work when
 * memory is short), then redact and cut. A message longer than the buffer
 * is cut first, and the 8-character rule still masks a key at that cut.
 */
static void format_clean(const csp_report *report, char *out, size_t size, const char *fmt,
                         va_list ap)
{
    char raw[16384];
    vsnprintf(raw, sizeof raw, fmt, ap);
    csp__redact_text(raw, strlen(raw), &report->secrets, 0, out, size);
}

void csp__log(csp_report *report, csp_log_level level, const char *fmt, ...)
{
    if (!report || !report->log_fn || level > report->log_max)
        return;
    char clean[2048];
    va_list ap;
    va_start(ap, fmt);
    format_clean(report, clean, sizeof clean, fmt, ap);
    va_end(ap);
    report->log_fn(report->log_userdata, level, clean);
}

csp_code csp__fail(csp_report *report, csp_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_clean(report, report->error, sizeof report->error, fmt, ap);
    va_end(ap);
    return code;
}

int csp__canceled(const csp_report *report)
{
    return atomic_load(&((csp_report *)report)->canceled);
}
