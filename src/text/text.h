/* SPDX-License-Identifier: MIT */
/*
 * text.h: input checks and chunking. Chunks are cut at paragraph, then
 * sentence, then clause, then word boundaries, never inside a UTF-8
 * sequence; the first is kept short so the first sound comes fast. Joined,
 * the chunks are the input exactly, save whitespace at the joins.
 */
#ifndef CSP_TEXT_H
#define CSP_TEXT_H
#include <stddef.h>

#define CSP_FIRST_CHUNK_CHARS 200
#define CSP_PREFERRED_CHUNK_CHARS 2000 /* maxTextLength stays the hard cap */
/* with subtitles: a sentence longer than this is cut at a clause (two lines of a cue) */
#define CSP_CUE_CHARS 84

/* 0 when text is valid UTF-8 with no NUL; else -1 with *bad_offset set. */
int csp__text_check(const char *text, size_t len, size_t *bad_offset);
/* True when text holds nothing but whitespace. */
int csp__text_blank(const char *text, size_t len);

/*
 * Find the next chunk at or after pos, at most max_chars code points.
 * Sets [*start, *end) (whitespace trimmed) and returns the position to go
 * on from; returns len with *start == *end when only whitespace is left.
 */
size_t csp__text_next_chunk(const char *text, size_t len, size_t pos, size_t max_chars,
                            size_t *start, size_t *end);
/* Narrow [*start, *end) of text to leave out whitespace at both ends. */
void csp__text_trim(const char *text, size_t *start, size_t *end);
#endif
