/* SPDX-License-Identifier: MIT */
/*
 * normalize.h: turns a streamed agent reply into what is shown and what is
 * spoken, as the pieces arrive. Shown: the reply minus [[tts:...]] directives
 * and [[tts:text]] blocks. Spoken: markdown stripped (emphasis, headings,
 * list markers, quotes, link targets, images, tables), fenced code skipped,
 * inline code kept as words, directives applied, [[tts:text]] content added.
 * Text is held back only while it cannot be decided yet (a '[' that may
 * start a directive or link, a line start that may be a fence).
 */
#ifndef CSP_NORMALIZE_H
#define CSP_NORMALIZE_H
#include "alloc.h"

#include <stddef.h>

typedef struct csp_normalizer_ops {
    void (*show)(void *userdata, const char *text, size_t len);
    void (*speak)(void *userdata, const char *text, size_t len);
    void (*directive)(void *userdata, const char *key, const char *value);
} csp_normalizer_ops;

typedef struct csp_normalizer {
    csp_normalizer_ops ops;
    void *userdata;
    csp_buf pending;
    int at_line_start, in_fence, in_tts_text, table_line, needs_stop;
    int spoke_on_line; /* speech since the line began (for the stop added to headings) */
    char last_spoken; /* the last non-space byte spoken */
    char last_byte;   /* the last byte spoken */
    char prev_char; /* the last byte processed, across pieces */
    size_t code_chars, prose_chars; /* for "mostly code" */
    int tagged; /* a directive or tts:text block was seen */
    const char *code_note; /* said where a code block is skipped, or NULL */
    int read_code;         /* read code blocks aloud instead */
    int failed;
} csp_normalizer;

void csp__normalizer_init(csp_normalizer *n, const csp_normalizer_ops *ops, void *userdata);
/* Returns 0, -1 on no memory. */
int csp__normalizer_feed(csp_normalizer *n, const char *text, size_t len);
/* End of the reply: flush what was held back. */
int csp__normalizer_finish(csp_normalizer *n);
void csp__normalizer_free(csp_normalizer *n);
#endif
