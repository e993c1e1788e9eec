/* SPDX-License-Identifier: MIT */
/*
 * utf16.h: text files in UTF-16 with a byte order mark (what Windows
 * Notepad saves as "Unicode"), turned into UTF-8 as they stream in, with
 * ICU's converter. Text without a BOM is never guessed at: it stays UTF-8.
 */
#ifndef CSP_UTF16_H
#define CSP_UTF16_H
#include <stddef.h>

typedef struct csp_utf16 csp_utf16;

/* Whether bytes start with a UTF-16 byte order mark (FF FE or FE FF). */
int csp__utf16_has_bom(const char *bytes, size_t len);

/* A converter for one input; NULL when out of memory. */
csp_utf16 *csp__utf16_new(void);

/*
 * Convert the next piece (any split: a character cut between pieces waits
 * for the rest) into out, which holds at least csp__utf16_out_size(len)
 * bytes; last: the input ends here. Returns the UTF-8 length, or -1 with
 * *bad_offset (bytes into the whole input) at an unpaired surrogate or an
 * odd byte at the end.
 */
long csp__utf16_convert(csp_utf16 *c, const char *in, size_t len, int last, char *out,
                        size_t *bad_offset);
size_t csp__utf16_out_size(size_t len);

void csp__utf16_free(csp_utf16 *c);
#endif
