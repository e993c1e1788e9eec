/* SPDX-License-Identifier: MIT */
/*
 * content_type.h: what a /audio/speech response holds, read from its
 * Content-Type. PCM rate and channels come from the header, never guessed.
 */
#ifndef CSP_CONTENT_TYPE_H
#define CSP_CONTENT_TYPE_H

typedef enum { CSP_MEDIA_OTHER = 0, CSP_MEDIA_MP3, CSP_MEDIA_PCM, CSP_MEDIA_WAV } csp_media_kind;

typedef struct csp_media {
    csp_media_kind kind;
    long rate;    /* PCM only; 0 when absent */
    int channels; /* PCM only; 0 when absent */
} csp_media;

/* Parse "type/subtype; key=value; ...". Returns 0, or -1 for pcm missing rate/channels. */
int csp__parse_content_type(const char *header, csp_media *out);
/* A known kind with a rate of 8000-192000 Hz and 1-2 channels where given (mp3 and WAV
   carry theirs inside, so 0 is fine there; PCM must say). For media read back from disk. */
int csp__media_sane(const csp_media *m);
#endif
