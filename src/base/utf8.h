/* SPDX-License-Identifier: MIT */
/*
 * utf8.h: strict UTF-8 decoding (no overlongs, no surrogates, <= U+10FFFF),
 * shared by the JSON5 reader and the text chunker.
 */
#ifndef CSP_UTF8_H
#define CSP_UTF8_H
#include <stddef.h>
#include <stdint.h>

/* Decode one code point at s[0..len). Returns its byte length, or 0 if invalid. */
size_t csp__utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Encode cp into out (4 bytes room). Returns the byte length. */
size_t csp__utf8_encode(uint32_t cp, char *out);
/* Offset of the first invalid byte, or len if all valid. */
size_t csp__utf8_validate(const char *s, size_t len);
/* Number of code points in valid UTF-8. */
size_t csp__utf8_count(const char *s, size_t len);
#endif
