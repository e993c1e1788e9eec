/* SPDX-License-Identifier: MIT */
/* text.c: UTF-8 checks and the chunker. */
#include "text.h"

#include "utf8.h"

#include <stdint.h>
#include <unicode/uchar.h>
#include <string.h>

int csp__text_check(const char *text, size_t len, size_t *bad_offset)
{
    const char *nul = memchr(text, '\0', len);
    size_t bad = csp__utf8_validate(text, len);
    if (nul && (size_t)(nul - text) < bad)
        bad = (size_t)(nul - text);
    if (bad < len) {
        *bad_offset = bad;
        return -1;
    }
    return 0;
}

static int is_space_at(const char *s, size_t len, size_t i, size_t *n)
{
    unsigned char c = (unsigned char)s[i];
    *n = 1;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
        return 1;
    if (c >= 0x80) {
        uint32_t cp;
        size_t k = csp__utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (k) {
            *n = k;
            return cp == 0xA0 || cp == 0x3000 || cp == 0x2028 || cp == 0x2029 ||
                   (cp >= 0x2000 && cp <= 0x200A);
        }
    }
    return 0;
}

/*
 * Blank: nothing a voice could say. Besides whitespace, Unicode format
 * characters (zero-width space and joiners, the BOM, direction marks; ICU's
 * general category Cf) are invisible and silent: text of only those would
 * be a paid request that speaks nothing.
 */
int csp__text_blank(const char *text, size_t len)
{
    size_t n;
    for (size_t i = 0; i < len; i += n) {
        if (is_space_at(text, len, i, &n))
            continue;
        uint32_t cp;
        size_t k = csp__utf8_decode((const unsigned char *)text + i, len - i, &cp);
        if (!k || !(u_isUWhiteSpace((UChar32)cp) || u_charType((UChar32)cp) == U_FORMAT_CHAR))
            return 0;
        n = k;
    }
    return 1;
}

/* Sentence-ending marks, ASCII and the common full-width ones. */
static int is_sentence_mark(const char *s, size_t len, size_t i, size_t *n)
{
    char c = s[i];
    *n = 1;
    if (c == '.' || c == '!' || c == '?')
        return 1;
    static const char *const wide[] = {"\xE2\x80\xA6", "\xE3\x80\x82", "\xEF\xBC\x81",
                                       "\xEF\xBC\x9F"}; /* … 。 ！ ？ */
    for (size_t k = 0; k < 4; k++)
        if (i + 3 <= len && memcmp(s + i, wide[k], 3) == 0) {
            *n = 3;
            return 2; /* full-width marks end a sentence with no space after them */
        }
    return 0;
}

static int is_clause_mark(char c) { return c == ',' || c == ';' || c == ':'; }

static int is_closer(char c) { return c == '"' || c == '\'' || c == ')' || c == ']'; }

size_t csp__text_next_chunk(const char *text, size_t len, size_t pos, size_t max_chars,
                            size_t *start, size_t *end)
{
    size_t n;
    while (pos < len && is_space_at(text, len, pos, &n))
        pos += n;
    *start = *end = pos;
    if (pos >= len)
        return len;

    /* Walk up to max_chars code points, remembering the best cut of each kind. */
    size_t paragraph = 0, sentence = 0, clause = 0, word = 0, chars = 0, i = pos;
    while (i < len && chars < max_chars) {
        size_t step;
        if (text[i] == '\n') {
            size_t j = i + 1;
            while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r'))
                j++;
            if (j < len && text[j] == '\n')
                paragraph = i;
        }
        int mark = is_sentence_mark(text, len, i, &step);
        if (mark) {
            size_t j = i + step, sp;
            while (j < len && is_closer(text[j]))
                j++;
            if (mark == 2 || j >= len || is_space_at(text, len, j, &sp))
                sentence = j;
        } else if (is_clause_mark(text[i]) && i + 1 < len && is_space_at(text, len, i + 1, &step)) {
            clause = i + 1;
            step = 1;
        } else if (is_space_at(text, len, i, &step)) {
            word = i;
        } else if ((unsigned char)text[i] >= 0x80) {
            uint32_t cp;
            step = csp__utf8_decode((const unsigned char *)text + i, len - i, &cp);
            if (!step)
                step = 1;
        }
        i += step;
        chars++;
    }
    /* a cut after closing quotes may lie past the limit: only cuts within it count */
    if (sentence > i)
        sentence = 0;
    size_t cut;
    if (i >= len) {
        cut = len; /* the rest fits */
    } else {
        /* a break far enough in keeps chunks large; otherwise take the best there is */
        size_t half = pos + (i - pos) / 2, quarter = pos + (i - pos) / 4;
        if (paragraph > half)
            cut = paragraph;
        else if (sentence > quarter)
            cut = sentence;
        else if (paragraph > pos)
            cut = paragraph;
        else if (sentence > pos)
            cut = sentence;
        else if (clause > quarter)
            cut = clause;
        else if (word > pos)
            cut = word;
        else
            cut = i; /* one very long word: cut at a code point boundary */
    }
    size_t stop = cut;
    while (stop > pos) {
        size_t back = stop - 1;
        while (back > pos && ((unsigned char)text[back] & 0xC0) == 0x80)
            back--;
        if (!is_space_at(text, len, back, &n))
            break;
        stop = back;
    }
    *end = stop;
    return cut;
}

void csp__text_trim(const char *text, size_t *start, size_t *end)
{
    size_t n;
    while (*start < *end && is_space_at(text, *end, *start, &n))
        *start += n;
    while (*end > *start) {
        size_t back = *end - 1;
        while (back > *start && ((unsigned char)text[back] & 0xC0) == 0x80)
            back--;
        if (!is_space_at(text, *end, back, &n))
            break;
        *end = back;
    }
}
