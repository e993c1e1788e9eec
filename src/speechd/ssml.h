/* SPDX-License-Identifier: MIT */
/*
 * ssml.h: what speech-dispatcher sends a module to SPEAK is SSML ("<speak>Hello &amp;
 * goodbye.<mark name="__spd_0"/> ..."): this turns it into the text to speak and the
 * index marks between. Tags are dropped (a paragraph, sentence or break ends a sentence),
 * entities decoded, comments and processing instructions skipped.
 */
#ifndef SD_SSML_H
#define SD_SSML_H
#include <stddef.h>

typedef struct ssml_ops {
    /* plain UTF-8 text (never a NUL), in order; return nonzero to stop */
    int (*text)(void *userdata, const char *text, size_t len);
    /* <mark name="..."/>: the name, entities decoded */
    int (*mark)(void *userdata, const char *name);
} ssml_ops;

/* Walk the message. Returns 0, or the first nonzero a callback returned. */
int ssml_walk(const char *in, size_t len, const ssml_ops *ops, void *userdata);

/* Decode XML entities of in[0..len) into out (at most len + 1 bytes: decoding never grows
   text); an unknown or broken entity stays as written. Returns the length written. */
size_t ssml_decode(const char *in, size_t len, char *out);
#endif
