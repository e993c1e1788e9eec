/* SPDX-License-Identifier: MIT */
/* fuzz_redact.c: random text holding the key at random offsets, cut at random
   lengths and streamed in random pieces: no 8-character run of the key ever
   survives, whole or streamed, and the output is always terminated. */
#include "redact.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char KEY[] = "sk-or-v1-TESTKEY-do-not-print-4f3e2d1c";

static void assert_no_run(const char *out)
{
    char run[CSP_SECRET_MIN_RUN + 1];
    for (size_t i = 0; i + CSP_SECRET_MIN_RUN <= sizeof KEY - 1; i++) {
        memcpy(run, KEY + i, CSP_SECRET_MIN_RUN);
        run[CSP_SECRET_MIN_RUN] = '\0';
        assert(!strstr(out, run));
    }
}

static char streamed[1 << 16];
static size_t streamed_len;

static void collect(void *userdata, const char *text, size_t len)
{
    (void)userdata;
    assert(streamed_len + len < sizeof streamed);
    memcpy(streamed + streamed_len, text, len);
    streamed_len += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 4096)
        return 0;
    size_t cut = data[0] + 1, piece = data[1] % 17 + 1, inserts = data[2] % 4;
    data += 3, size -= 3;
    /* the fuzzer's text with the key spliced in at offsets it chooses */
    char *text = malloc(size + inserts * sizeof KEY + 1);
    size_t len = 0;
    for (size_t i = 0; i < size; i++) {
        if (inserts && data[i] == 0xFF) {
            memcpy(text + len, KEY, sizeof KEY - 1);
            len += sizeof KEY - 1;
            inserts--;
            continue;
        }
        text[len++] = (char)data[i];
    }
    text[len] = '\0';
    csp_secrets secrets = {{KEY, NULL, NULL, NULL}};

    char *out = malloc(cut);
    csp__redact_text(text, len, &secrets, 0, out, cut);
    assert(strlen(out) < cut);
    assert_no_run(out);

    csp_redactor r;
    streamed_len = 0;
    csp__redactor_init(&r, &secrets, collect, NULL);
    for (size_t at = 0; at < len; at += piece)
        assert(csp__redactor_feed(&r, text + at, at + piece > len ? len - at : piece) == 0);
    assert(csp__redactor_finish(&r) == 0);
    streamed[streamed_len] = '\0';
    assert_no_run(streamed);
    free(out);
    free(text);
    return 0;
}
