/* SPDX-License-Identifier: MIT */
/*
 * pipeline.h: text in, audio out, in order. Text is cut into chunks; a
 * network thread fetches up to `jobs` chunks at once (or runs the local
 * engine), while the calling thread decodes the oldest chunk as its bytes
 * arrive and writes the samples to the sink. Producers (a file, stdin
 * lines, a streaming chat reply) add text from any thread.
 */
#ifndef CSP_PIPELINE_H
#define CSP_PIPELINE_H
#include "clawspeak.h"
#include "speech.h"

typedef struct csp_pipeline csp_pipeline;

/* Opens the sink now, so a bad output path fails before any request. */
csp_code csp__pipeline_new(csp_client *client, const csp_say_options *options,
                           csp_pipeline **out);
/* How a piece of text ends: how it joins the next in one request. */
typedef enum {
    CSP_PIECE_WHOLE,     /* a sentence, a line or flushed text */
    CSP_PIECE_AT_SPACE,  /* a long sentence cut for length at a space */
    CSP_PIECE_MID_WORD   /* ... cut where there was no space */
} csp_piece_end;

/* Chunk and queue text (thread-safe). params may be NULL. */
csp_code csp__pipeline_add(csp_pipeline *p, const char *text, size_t len,
                           const csp_voice_params *params, csp_piece_end end);
/* An index mark between the text added so far and the next (thread-safe): options->on_mark
   gets it when the audio before it is all written to the sink. */
csp_code csp__pipeline_add_mark(csp_pipeline *p, const char *name);
/*
 * Backpressure: csp__pipeline_add waits while max_bytes of text wait for a
 * request (0, the default: never waits, for callers that add before running).
 */
void csp__pipeline_limit_waiting(csp_pipeline *p, size_t max_bytes);
/* A producer starts (1) or ends (0) a write (holds nest): chunks are cut the same way whatever the timing. */
void csp__pipeline_producing(csp_pipeline *p, int producing);
/* True when text added now would be requested at once (nothing waits, a request may start). */
int csp__pipeline_ready(csp_pipeline *p);
/* No more text will come (thread-safe). */
void csp__pipeline_close(csp_pipeline *p);
/* Fetch, decode and write everything queued until closed; commits the sink on success. */
csp_code csp__pipeline_run(csp_pipeline *p);
/* Text will be slow to come (a pipe, a chat reply): open the provider's connection now,
   unless a request is already on its way (thread-safe). */
void csp__pipeline_warm(csp_pipeline *p);
/* Stop the pipeline from another thread with code (its message already recorded). */
void csp__pipeline_abort(csp_pipeline *p, csp_code code);
void csp__pipeline_free(csp_pipeline *p);
#endif
