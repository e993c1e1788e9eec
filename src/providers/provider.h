/* SPDX-License-Identifier: MIT */
/*
 * provider.h: a speech provider behind one small interface. The pipeline
 * keeps the policy that holds for any provider (request order, retries with
 * backoff, the audio cap, decoding); a provider knows how to get audio for
 * one chunk of text and how to read its service's answers (which statuses
 * are worth a retry, what an error body says).
 *
 * Threads: the pipeline's network thread calls start and poll, and every
 * event below is called on that thread, either inside start (a provider
 * that works synchronously, like the local engine) or inside poll. wakeup
 * alone may be called from any thread.
 */
#ifndef CSP_PROVIDER_H
#define CSP_PROVIDER_H
#include "clawspeak.h"
#include "content_type.h"
#include "speech.h"

struct csp_report;

typedef enum { CSP_ATTEMPT_OK, CSP_ATTEMPT_RETRY, CSP_ATTEMPT_FAIL } csp_attempt_status;

typedef struct csp_attempt_result {
    csp_attempt_status status;
    csp_code code;      /* FAIL; for RETRY, the code if no attempt is left */
    long retry_after_s; /* RETRY: the server's Retry-After, -1 when absent */
    int provider_fault; /* down, out of credit, key refused, unreachable: another could speak */
    int unreachable;    /* connection refused, no DNS: retrying soon will not help */
    char why[900];      /* RETRY and FAIL: what went wrong, for the user (keys masked) */
} csp_attempt_result;

/* What the provider reports about one attempt; ctx is the pipeline's. */
typedef struct csp_chunk_events {
    /* Audio of this kind follows (the chunk's audio cap is set from it). */
    void (*on_audio_start)(void *ctx, const csp_media *media);
    /* Bytes of audio. Return nonzero to stop the transfer (on_done still follows). */
    int (*on_audio)(void *ctx, const char *data, size_t len);
    /* The attempt ended; exactly once per started attempt. */
    void (*on_done)(void *ctx, const csp_attempt_result *result);
    void *ctx;
} csp_chunk_events;

typedef struct csp_chunk_request {
    const char *text;
    size_t len;
    const csp_voice_params *params; /* per-chunk voice (directives); NULL fields: configured */
    size_t index;                   /* for messages */
    int attempt;
} csp_chunk_request;

typedef struct csp_provider csp_provider;
struct csp_provider {
    const char *name;
    int max_parallel; /* attempts at once this provider can run */
    /* Start an attempt. Returns 0, or -1 when out of memory (no event follows then). */
    int (*start)(csp_provider *p, const csp_chunk_request *request,
                 const csp_chunk_events *events);
    /* Run attempts (and a warm-up) for up to wait_ms; their events fire in here.
       Returns how many transfers still run, the warm-up included. */
    int (*poll)(csp_provider *p, int wait_ms);
    /* Make a waiting poll return (any thread). */
    void (*wakeup)(csp_provider *p);
    /* Stop everything still running, without events, and free. */
    void (*free)(csp_provider *p);
    /* Open a connection before the first request needs it (text is slow to come).
       Returns 1 when a warm-up runs (poll drives it), -1 when out of memory (the run stops,
       as for any allocation). NULL: nothing to warm (local engine). */
    int (*warm)(csp_provider *p);
};

/* /audio/speech of OpenRouter or OpenAI (id "openrouter" or "openai"), as configured, on a
   handle taken from pool (may be NULL) and given back on free. */
struct csp_http_pool;
csp_provider *csp__provider_openrouter_new(const csp_settings *settings, const char *id,
                                           struct csp_report *report, struct csp_http_pool *pool);
/* OpenClaw's tts-local-cli: a local command (espeak-ng by default); one at a time. */
csp_provider *csp__provider_local_new(const csp_settings *settings, struct csp_report *report);
/*
 * Keep each chunk a network provider delivers in .NAME.clawspeak-parts/
 * beside output_path (provider_resume.c); with reuse, serve kept chunks
 * instead of requesting them. Replaces *provider with the wrapper (which
 * owns it); leaves it alone where no directory can be made.
 */
csp_code csp__provider_resume_wrap(csp_provider **provider, const csp_settings *settings,
                                   struct csp_report *report, const char *output_path, int reuse);
int csp__provider_is_resume(const csp_provider *provider);
/* Chunk index's audio turned out bad (it did not decode): drop it. */
void csp__provider_resume_forget(csp_provider *provider, size_t index);
/* The run ended: committed removes the kept chunks, else they stay (with a notice). */
void csp__provider_resume_end(csp_provider *provider, int committed);
#endif
