/* SPDX-License-Identifier: MIT */
/*
 * speech.h: the /audio/speech request (body, URL) and reading API errors,
 * shared with the chat path (the error shape and status mapping are the same).
 */
#ifndef CSP_SPEECH_H
#define CSP_SPEECH_H
#include "clawspeak.h"
#include "settings.h"

#include <stddef.h>

/* Per-request voice settings; NULL fields mean "as configured". */
typedef struct csp_voice_params {
    char *voice, *model;
    double speed;
    int has_speed;
    const char *provider; /* a directive's provider=, as a chain id (static); NULL: the run's */
} csp_voice_params;

/* What a network provider's requests carry: borrowed from the settings. */
typedef struct csp_speech_target {
    const char *id; /* "openrouter" or "openai" */
    const char *base_url, *api_key, *model, *voice, *response_format;
    const char *instructions; /* NULL: not sent */
    const char *routing_json; /* OpenRouter's provider routing, or NULL */
    int attribution;          /* OpenRouter's app headers: only for the real OpenRouter */
    double speed;
    int has_speed;
    long timeout_ms;
} csp_speech_target;

/* The target of provider id ("openrouter" or "openai") in these settings. */
void csp__speech_target(const csp_settings *settings, const char *id, csp_speech_target *out);

/* JSON body for one chunk. NULL on no memory. */
char *csp__speech_body(const csp_speech_target *target, const csp_voice_params *params,
                       const char *text, size_t len);
/*
 * OpenRouter's error text from an error body, else its first line (200
 * characters at most), with every key the settings know masked before the
 * text is cut to size and control characters replaced.
 */
void csp__api_error_text(const csp_settings *settings, const char *body, size_t len, char *out,
                         size_t size);
/*
 * The most audio a chunk's text can make, in bytes: half a second per byte
 * of text plus 5 s (speech runs at about 15 characters a second; even speed
 * 0.25 stays far below), at the stream's byte rate. A server that never
 * stops sending is an error, not a memory leak.
 */
#define CSP_MP3_MAX_BYTES_PER_SECOND 40000.0            /* 320 kbps */
#define CSP_LOCAL_MAX_BYTES_PER_SECOND (48000.0 * 2 * 2) /* 48 kHz stereo, 16 bit */
size_t csp__audio_cap(size_t text_bytes, double bytes_per_second);
/* 401/403: the key; everything else: the API. */
csp_code csp__status_code(long status);
int csp__status_retryable(long status);
#endif
