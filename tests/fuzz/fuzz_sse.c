/* SPDX-License-Identifier: MIT */
/* fuzz_sse.c: the SSE parser gives the same events however the stream is split. */
#include "sse.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

typedef struct trace {
    unsigned long hash;
    int events;
} trace;

static int record(void *userdata, const char *data, size_t len)
{
    trace *t = userdata;
    for (size_t i = 0; i < len; i++)
        t->hash = t->hash * 131 + (unsigned char)data[i];
    t->hash = t->hash * 131 + 0x1F;
    t->events++;
    return 0;
}

static trace run(const uint8_t *data, size_t size, size_t step)
{
    trace t = {7, 0};
    csp_sse sse;
    csp__sse_init(&sse, record, &t);
    for (size_t i = 0; i < size; i += step) {
        size_t n = size - i < step ? size - i : step;
        if (csp__sse_feed(&sse, (const char *)data + i, n) < 0)
            break;
    }
    csp__sse_finish(&sse);
    csp__sse_free(&sse);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    trace whole = run(data + 1, size - 1, size);
    trace split = run(data + 1, size - 1, (size_t)data[0] % 7 + 1);
    assert(whole.events == split.events && whole.hash == split.hash);
    return 0;
}
