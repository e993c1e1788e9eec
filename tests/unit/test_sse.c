/* SPDX-License-Identifier: MIT */
/* test_sse.c: the SSE parser under every split of a hostile stream. */
#include "check.h"
#include "sse.h"

#include <stdlib.h>

typedef struct collected {
    char text[4096];
    size_t len;
    int events;
} collected;

static int collect(void *userdata, const char *data, size_t len)
{
    collected *c = userdata;
    c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "<%.*s>", (int)len, data);
    c->events++;
    return 0;
}

static const char stream[] =
    ": OPENROUTER PROCESSING\r\n\r\n"
    "data: {\"a\":1}\n\n"
    "data:{\"b\":2}\r\n\r\n"
    "event: ignored\ndata: line one\ndata: line two\nid: 7\n\n"
    ": keep-alive\n"
    "data: \xC3\xA9t\xC3\xA9\r\r"
    "data\n\n"
    "retry: 100\n\n"
    "data: [DONE]\n\n"
    "data: unfinished";
static const char expected[] =
    "<{\"a\":1}><{\"b\":2}><line one\nline two><\xC3\xA9t\xC3\xA9><><[DONE]>";

static void run_split(const size_t *cuts, size_t ncuts, collected *out)
{
    csp_sse sse;
    csp__sse_init(&sse, collect, out);
    size_t pos = 0, len = sizeof stream - 1;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        CHECK_INT(csp__sse_feed(&sse, stream + pos, end - pos), 0);
        pos = end;
    }
    csp__sse_finish(&sse);
    csp__sse_free(&sse);
}

int main(void)
{
    size_t len = sizeof stream - 1;
    /* whole, then every single split point, then every pair of split points */
    collected c = {{0}, 0, 0};
    run_split(NULL, 0, &c);
    CHECK_STR(c.text, expected);
    for (size_t i = 0; i <= len; i++) {
        collected s = {{0}, 0, 0};
        run_split(&i, 1, &s);
        if (strcmp(s.text, expected) != 0) {
            fprintf(stderr, "split at %zu: %s\n", i, s.text);
            check_failures++;
        }
        check_count++;
    }
    for (size_t i = 0; i <= len; i += 3)
        for (size_t j = i; j <= len; j += 2) {
            size_t cuts[2] = {i, j};
            collected s = {{0}, 0, 0};
            run_split(cuts, 2, &s);
            CHECK_STR(s.text, expected);
        }
    /* one byte at a time */
    size_t bytes[sizeof stream];
    for (size_t i = 0; i < len; i++)
        bytes[i] = i + 1;
    collected b = {{0}, 0, 0};
    run_split(bytes, len - 1, &b);
    CHECK_STR(b.text, expected);
    return CHECK_DONE();
}
