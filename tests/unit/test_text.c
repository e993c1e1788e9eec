/* SPDX-License-Identifier: MIT */
/* test_text.c: the chunker rebuilds its input, respects limits and boundaries. */
#include "check.h"
#include "text.h"
#include "utf8.h"

#include <ctype.h>
#include <stdlib.h>

/* Remove all whitespace, so "joined modulo whitespace at the joins" can be compared. */
static size_t squeeze(const char *in, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)in[i]))
            out[n++] = in[i];
    return n;
}

static void check_rebuild(const char *text, size_t max_chars)
{
    size_t len = strlen(text), pos = 0, start, end, chunks = 0;
    char *joined = malloc(len + 1), *a = malloc(len + 1), *b = malloc(len + 1);
    size_t jn = 0;
    while (pos < len) {
        size_t next = csp__text_next_chunk(text, len, pos, max_chars, &start, &end);
        CHECK(next > pos || start == end);
        if (start == end)
            break;
        chunks++;
        /* never more than max_chars code points, never cut inside UTF-8 */
        CHECK(csp__utf8_count(text + start, end - start) <= max_chars);
        CHECK(csp__utf8_validate(text + start, end - start) == end - start);
        CHECK(!isspace((unsigned char)text[start]) && !isspace((unsigned char)text[end - 1]));
        /* between chunks only whitespace */
        for (size_t i = pos; i < start; i++)
            CHECK(isspace((unsigned char)text[i]));
        memcpy(joined + jn, text + start, end - start);
        jn += end - start;
        pos = next;
    }
    size_t na = squeeze(text, len, a), nb = squeeze(joined, jn, b);
    CHECK_INT(na, nb);
    CHECK(na == nb && memcmp(a, b, na) == 0);
    CHECK(chunks > 0);
    free(joined), free(a), free(b);
}

int main(void)
{
    const char *samples[] = {
        "Hello world.",
        "One. Two! Three? Four.\n\nA new paragraph, with clauses; and more: words.",
        "averyveryverylongwordwithoutanyspaceatallthatmustbecutsomewhereinthemiddle",
        "Caf\xC3\xA9 cr\xC3\xA8" "me br\xC3\xBBl\xC3\xA9" "e. \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x80\x82\xE4\xBB\x8A\xE6\x97\xA5\xE3\x81\xAF\xE3\x80\x82 \xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
        "  leading and trailing whitespace  \n\n\n  ",
        "\"Quoted sentence.\" Then (a bracket.) Then end",
    };
    size_t limits[] = {1, 2, 5, 17, 40, 200, 4096};
    for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++)
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++)
            check_rebuild(samples[s], limits[l]);

    /* a long generated text */
    size_t big = 60000;
    char *text = malloc(big + 1);
    const char *words[] = {"alpha", "beta", "gamma.", "delta,", "epsilon!", "\n\n", "zeta"};
    size_t n = 0;
    for (unsigned i = 0; n + 12 < big; i++) {
        const char *w = words[(i * 7 + i / 3) % 7];
        n += (size_t)sprintf(text + n, "%s ", w);
    }
    text[n] = '\0';
    check_rebuild(text, 4096);
    check_rebuild(text, 300);

    /* prefers sentence ends over words */
    const char *t = "First sentence here. Second sentence is rather longer than the first.";
    size_t start, end;
    csp__text_next_chunk(t, strlen(t), 0, 40, &start, &end);
    CHECK_INT(end - start, strlen("First sentence here."));
    /* paragraph break wins when far enough in */
    const char *para = "Para one has words. More words.\n\nPara two.";
    csp__text_next_chunk(para, strlen(para), 0, 40, &start, &end);
    CHECK_INT(end, strlen("Para one has words. More words."));

    /* sentence end detection (used for streaming replies) */
    size_t trim_start = 0, trim_end = 12;
    csp__text_trim(" \u00a0Hi there\n", &trim_start, &trim_end);
    CHECK_INT(trim_start, 3);
    CHECK_INT(trim_end, 11);

    /* input checks */
    size_t bad;
    CHECK(csp__text_check("ok", 2, &bad) == 0);
    CHECK(csp__text_check("a\0b", 3, &bad) < 0 && bad == 1);
    CHECK(csp__text_check("ab\xE2\x82", 4, &bad) < 0 && bad == 2);
    CHECK(csp__text_blank(" \n\t\xC2\xA0", 5));
    CHECK(!csp__text_blank(" x ", 3));
    free(text);
    return CHECK_DONE();
}
