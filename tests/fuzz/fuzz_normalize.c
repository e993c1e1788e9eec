/* SPDX-License-Identifier: MIT */
/* fuzz_normalize.c: the reply normaliser, fed in pieces, never crashes; a
   reply with no directive shows exactly as it came. */
#include "normalize.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    csp_buf shown;
} out;

static void on_show(void *u, const char *t, size_t n) { csp__buf_append(&((out *)u)->shown, t, n); }
static void on_speak(void *u, const char *t, size_t n) { (void)u, (void)t, (void)n; }
static void on_directive(void *u, const char *k, const char *v) { (void)u, (void)k, (void)v; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 9 + 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    out o;
    csp__buf_init(&o.shown, 1 << 24);
    csp_normalizer_ops ops = {on_show, on_speak, on_directive};
    csp_normalizer n;
    csp__normalizer_init(&n, &ops, &o);
    for (size_t i = 0; i < len; i += step)
        csp__normalizer_feed(&n, text + i, len - i < step ? len - i : step);
    csp__normalizer_finish(&n);
    if (!memchr(text, '[', len))
        assert(o.shown.len == len && (len == 0 || memcmp(o.shown.data, text, len) == 0));
    csp__normalizer_free(&n);
    csp__buf_free(&o.shown);
    return 0;
}
