/* SPDX-License-Identifier: MIT */
/*
 * report.h: what a lower module needs to report back, and nothing more:
 * the log callback, the error buffer, the keys masked in every message
 * (given to it as data by whoever holds them: the settings resolver, as it
 * resolves them), and the cancel flag. The client owns one; config,
 * settings, http and the sinks take it instead of the client handle.
 * Thread safety: csp__log may be called from any thread; csp__fail writes
 * the one error buffer, so only the thread driving an operation calls it.
 */
#ifndef CSP_REPORT_H
#define CSP_REPORT_H
#include "clawspeak.h"
#include "redact.h"

#include <stdatomic.h>

typedef struct csp_report {
    csp_log_fn log_fn;
    void *log_userdata;
    csp_log_level log_max;
    char error[1024];
    /* masked in every message; borrowed: whoever frees a key clears it here first */
    csp_secrets secrets;
    atomic_int canceled;
} csp_report;

/* Log through the callback; formatted only when the level is wanted. */
void csp__log(csp_report *report, csp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record the failure detail (redacted) and return code. */
csp_code csp__fail(csp_report *report, csp_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int csp__canceled(const csp_report *report);
#endif
