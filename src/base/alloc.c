/* SPDX-License-Identifier: MIT */
/*
 * alloc.c: the allocation wrappers and the capped growable buffer.
 * The countdown lets tests fail every allocation in turn; it is process-wide
 * and atomic because transfers run on a worker thread.
 */
#define _GNU_SOURCE /* dladdr, in the countdown build */
#include "alloc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong alloc_count;
static atomic_ulong alloc_fail_at;

void csp__alloc_fail_at(unsigned long n)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&alloc_fail_at, n);
}

unsigned long csp__alloc_count(void) { return atomic_load(&alloc_count); }

#ifdef CSP_ALLOC_COUNTDOWN
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

void __sanitizer_print_stack_trace(void); /* the countdown build is a sanitizer build */

static int sites_fd = -1;
static pthread_once_t sites_once = PTHREAD_ONCE_INIT;

static void open_sites_file(void)
{
    const char *path = getenv("CLAWSPEAK_ALLOC_SITES");
    if (path)
        sites_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
}

/*
 * CLAWSPEAK_ALLOC_SITES=FILE writes "N PATH" for each allocation, PATH a hash
 * of the call stack that asked for it, each frame as its object's name and
 * offset there (the same in every run despite address randomisation). The
 * countdown test then fails each call path once rather than each repeat of
 * it: the same loop growing the same buffer fails the same way every time.
 */
static void note_site(unsigned long n)
{
    pthread_once(&sites_once, open_sites_file);
    if (sites_fd < 0)
        return;
    void *frames[32];
    int depth = backtrace(frames, 32);
    unsigned long long hash = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < depth; i++) {
        Dl_info info;
        unsigned long long offset = (unsigned long long)(uintptr_t)frames[i];
        const char *object = "?";
        if (dladdr(frames[i], &info) && info.dli_fname) {
            offset -= (unsigned long long)(uintptr_t)info.dli_fbase;
            object = info.dli_fname;
        }
        for (const char *c = object; *c; c++)
            hash = (hash ^ (unsigned char)*c) * 1099511628211ull;
        for (int byte = 0; byte < 8; byte++)
            hash = (hash ^ ((offset >> (8 * byte)) & 0xff)) * 1099511628211ull;
    }
    char line[64];
    int len = snprintf(line, sizeof line, "%lu %016llx\n", n, hash);
    if (write(sites_fd, line, (size_t)len) < 0) {
        /* a test's bookkeeping: a lost line only means that path is tried again */
    }
}
#endif

static int should_fail(void)
{
    unsigned long n = atomic_fetch_add(&alloc_count, 1) + 1;
    unsigned long at = atomic_load(&alloc_fail_at);
#ifdef CSP_ALLOC_COUNTDOWN
    note_site(n);
    if (at != 0 && n == at && getenv("CLAWSPEAK_ALLOC_TRACE")) {
        __sanitizer_print_stack_trace();
    }
#endif
    return at != 0 && n == at;
}

#ifdef CSP_ALLOC_COUNTDOWN
/*
 * Test builds: CLAWSPEAK_FAIL_ALLOC_AT=N makes the Nth library allocation
 * fail; CLAWSPEAK_ALLOC_REPORT=1 prints the count at exit, so a test can
 * walk N = 1..total. Exported for the CLI only; never in release builds.
 */
#include <stdlib.h>
__attribute__((visibility("default"))) void csp_test_alloc_countdown_from_env(void);
__attribute__((visibility("default"))) void csp_test_alloc_report(void);

void csp_test_alloc_countdown_from_env(void)
{
    const char *at = getenv("CLAWSPEAK_FAIL_ALLOC_AT");
    csp__alloc_fail_at(at ? strtoul(at, NULL, 10) : 0);
}

void csp_test_alloc_report(void)
{
    if (getenv("CLAWSPEAK_ALLOC_REPORT"))
        fprintf(stderr, "clawspeak-test: allocations: %lu\n", csp__alloc_count());
}
#endif

void *csp__malloc(size_t size) { return should_fail() ? NULL : malloc(size ? size : 1); }

void *csp__calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *csp__realloc(void *ptr, size_t size)
{
    return should_fail() ? NULL : realloc(ptr, size ? size : 1);
}

void csp__free(void *ptr) { free(ptr); }

char *csp__strndup(const char *text, size_t len)
{
    char *copy = csp__malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}

char *csp__strdup(const char *text) { return text ? csp__strndup(text, strlen(text)) : NULL; }

void csp__free_secret(char *secret)
{
    if (!secret)
        return;
    /* volatile so the compiler cannot drop the wipe of memory about to be freed */
    volatile char *p = secret;
    while (*p)
        *p++ = '\0';
    free(secret);
}

char *csp__printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *out = csp__malloc((size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

void csp__buf_init(csp_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = buf->cap = 0;
    buf->max = max;
}

int csp__buf_append(csp_buf *buf, const void *data, size_t len)
{
    if (len > buf->max || buf->len > buf->max - len)
        return -1;
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->len + len + 1)
            cap *= 2;
        if (cap > buf->max + 1)
            cap = buf->max + 1;
        char *grown = csp__realloc(buf->data, cap);
        if (!grown)
            return -1;
        buf->data = grown;
        buf->cap = cap;
    }
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

int csp__buf_appendf(csp_buf *buf, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return csp__buf_append(buf, small, (size_t)n);
    char *big = csp__malloc((size_t)n + 1);
    if (!big)
        return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = csp__buf_append(buf, big, (size_t)n);
    csp__free(big);
    return rc;
}

void csp__buf_consume(csp_buf *buf, size_t len)
{
    if (len >= buf->len) {
        buf->len = 0;
    } else {
        memmove(buf->data, buf->data + len, buf->len - len);
        buf->len -= len;
    }
    if (buf->data)
        buf->data[buf->len] = '\0';
}

char *csp__buf_steal(csp_buf *buf)
{
    char *out = buf->data ? buf->data : csp__strdup("");
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return out;
}

void csp__buf_free(csp_buf *buf)
{
    csp__free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
