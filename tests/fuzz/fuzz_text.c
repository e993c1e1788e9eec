/* SPDX-License-Identifier: MIT */
/* fuzz_text.c: for valid UTF-8 input, the chunks rebuild the text (whitespace
   at the joins aside), respect the limit, and never split a code point. */
#include "text.h"
#include "utf8.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max = (size_t)data[0] % 64 + 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1, bad;
    if (csp__text_check(text, len, &bad) < 0)
        return 0;
    size_t pos = 0, start, end;
    char *seen = calloc(len + 1, 1);
    while (pos < len) {
        size_t next = csp__text_next_chunk(text, len, pos, max, &start, &end);
        if (start == end)
            break;
        assert(next > pos && start >= pos && end <= next);
        assert(csp__utf8_count(text + start, end - start) <= max);
        assert(csp__utf8_validate(text + start, end - start) == end - start);
        for (size_t i = start; i < end; i++)
            seen[i] = 1;
        pos = next;
    }
    /* every byte left out is whitespace of some kind (ASCII or Unicode spaces) */
    for (size_t i = 0; i < len; i++)
        if (!seen[i] && (unsigned char)text[i] < 0x80)
            assert(space((unsigned char)text[i]));
    size_t trim_start = 0, trim_end = len;
    csp__text_trim(text, &trim_start, &trim_end);
    assert(trim_start <= trim_end && trim_end <= len);
    free(seen);
    return 0;
}
