/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c: see pipeline.h. Locking: one mutex guards the chunk queue and
 * every chunk's fields; the decoder and sink are touched only by the
 * consumer (the calling thread), so no lock is held while audio is written.
 *
 * Retries: a failed attempt bumps the chunk's generation and drops its
 * bytes. The consumer then decodes the new attempt from the start and skips
 * the frames it already wrote, so a retried chunk contributes its audio
 * exactly once.
 *
 * mp3 passthrough: when the sink takes mp3 frames (an mp3 file) and a
 * chunk arrives as mp3, its frames go to the sink as they are (mp3_frames.h)
 * and nothing is decoded, unless the sink also plays (a tee): then the
 * decoder runs beside and its PCM only plays. A chunk whose frames cannot
 * pass (another rate than the file's) is decoded, and the sink encodes it.
 */
#include "pipeline.h"

#include "alloc.h"
#include "client.h"
#include "clock.h"
#include "decode.h"
#include "http.h"
#include "mp3_frames.h"
#include "provider.h"
#include "sink.h"
#include "text.h"
#include "utf8.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_ATTEMPTS 3
#define RETRY_AFTER_CAP_MS 30000
/* Nothing to say for this long: the device and the speaking lock go until there is (a
   pause between sentences of a slow reply is shorter; an idle log is longer) */
#define REST_AFTER_MS 500

typedef enum { CHUNK_QUEUED, CHUNK_FETCHING, CHUNK_DONE, CHUNK_FAILED } chunk_state;

typedef struct chunk {
    size_t index;
    char *text;
    size_t text_len;
    csp_voice_params params;
    chunk_state state;
    size_t provider;  /* index in the chain of the provider its attempts go to */
    int stale;        /* its attempt in flight went to a provider the run has left */
    int attempts;
    long long not_before_ms;
    /* the current attempt */
    int generation;
    int responded;
    csp_media media;
    csp_buf data;
    char *marks; size_t marks_len; /* index marks before its audio: names, each NUL-ended */
    size_t received, audio_cap; /* bytes of audio this attempt, and the most its text can make */
    int complete;
    /* failure */
    csp_code code;
    char error[1024];
    struct chunk *next;
    struct chunk_ref {
        struct csp_pipeline *pipeline;
        struct chunk *chunk;
    } ref; /* the provider's event context: no allocation to lose on cancel */
} chunk;

/* Text waiting for a request: whole sentences (or flushed text), with their voice. */
typedef struct segment {
    char *text;
    size_t len;
    char *marks; /* index marks just before this text (csp_speaker_mark): names, NUL-ended */
    size_t marks_len;
    csp_voice_params params;
    csp_piece_end end; /* how it joins the next one in a request */
    struct segment *next;
} segment;

struct csp_pipeline {
    csp_client *client;
    const csp_settings *settings;
    csp_sink *sink;
    int jobs;
    /* the chain, in the order tried; `current` speaks new chunks (it only moves on) */
    csp_provider *providers[4];
    size_t provider_count, current;
    csp_progress_fn progress;
    void *progress_userdata;
    int (*on_mark)(void *userdata, const char *name);
    void *mark_userdata;
    int stopped_at_mark; /* on_mark asked to end the run there */

    pthread_mutex_t lock;
    pthread_cond_t changed;
    chunk *head, *tail;
    size_t chunks_added, chunks_done;
    size_t consumer_index;
    int input_closed;
    segment *outbox, *outbox_tail; /* chunks are cut from here when a request can start */
    size_t outbox_bytes;
    csp_buf marks; /* marks waiting for the next text (or the end): names, NUL-ended */
    size_t max_waiting; /* backpressure: producers wait while this many bytes wait; 0: none */
    int producing;      /* writes under way (nested holds count): cut only full chunks */
    int sentence_per_chunk; /* subtitles: a cue per request, so one sentence per request */
    int producer_waiting; /* a producer waits for room (backpressure) */
    int stop;
    csp_code aborted; /* set by csp__pipeline_abort: a producer failed */
    int in_flight;
    int warm_wanted;  /* text will be slow to come: open a connection meanwhile */

    long long started_ms;
    long first_audio_ms;
    int resume_ended; /* kept chunks dealt with (removed, or kept with a notice) */
    int to_file;      /* the audio goes to a file: one voice from start to end */
    int delivered;    /* the provider speaking now has delivered a chunk's audio */
    unsigned jitter_seed; /* per run, so clients do not retry in step */
    double audio_seconds;
    long long last_progress_ms;
};

static void segment_free(segment *g)
{
    if (!g)
        return;
    csp__free(g->text);
    csp__free(g->marks);
    csp__free(g->params.voice);
    csp__free(g->params.model);
    csp__free(g);
}

static void chunk_free(chunk *c)
{
    if (!c)
        return;
    csp__free(c->text);
    csp__free(c->marks);
    csp__free(c->params.voice);
    csp__free(c->params.model);
    csp__buf_free(&c->data);
    csp__free(c);
}

/* A regular file, or a new one (not standard output, a device or a FIFO). */
static int is_file_target(const char *path)
{
    struct stat st;
    if (!path || !strcmp(path, "-") || !strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6))
        return 0;
    return stat(path, &st) == 0 ? S_ISREG(st.st_mode) : errno == ENOENT;
}

/* A file as the only target, spoken by a network provider. */
static int keeps_chunks(const csp_settings *s, const csp_say_options *options)
{
    /* not for OpenClaw's command: OpenClaw removes its folder, and the file is redone (say.c) */
    return options->chunks && strcmp(s->provider, "tts-local-cli") && !s->as_openclaw_command &&
           is_file_target(options->output_path);
}

csp_code csp__pipeline_new(csp_client *client, const csp_say_options *options,
                           csp_pipeline **out)
{
    *out = NULL;
    const csp_settings *s = &client->settings;
    csp_pipeline *p = csp__calloc(1, sizeof *p);
    if (!p)
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    p->client = client;
    p->settings = s;
    p->jobs = options->jobs > 0 ? options->jobs : 3;
    p->progress = options->progress;
    p->progress_userdata = options->progress_userdata;
    p->on_mark = options->on_mark;
    p->mark_userdata = options->mark_userdata;
    csp__buf_init(&p->marks, 1 << 20);
    p->sentence_per_chunk = options->subtitles_path != NULL;
    p->to_file = is_file_target(options->output_path);
    p->first_audio_ms = -1;
    p->jitter_seed = (unsigned)csp__now_ms() ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)p;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    csp_code rc = CSP_OK;
    /* the chosen provider first, then the fallbacks (settings.c builds the chain) */
    size_t first = 0;
    while (first < s->chain_count && strcmp(s->chain[first], s->provider) != 0)
        first++;
    for (size_t i = first; i < s->chain_count && rc == CSP_OK; i++) {
        if (strcmp(s->chain[i], "tts-local-cli") && (rc = csp__http_available(&client->report)) != CSP_OK)
            break;
        csp_provider *provider = strcmp(s->chain[i], "tts-local-cli") == 0
                                     ? csp__provider_local_new(s, &client->report)
                                     : csp__provider_openrouter_new(s, s->chain[i], &client->report,
                                                                    client->pool);
        if (!provider) {
            rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
            break;
        }
        p->providers[p->provider_count++] = provider;
        /* a paid conversion to a file keeps its chunks until the file is whole (--resume) */
        if (strcmp(s->chain[i], "tts-local-cli") && keeps_chunks(s, options))
            rc = csp__provider_resume_wrap(&p->providers[p->provider_count - 1], s,
                                           &client->report, options->output_path,
                                           options->chunks == CSP_CHUNKS_RESUME);
    }
    if (rc == CSP_OK && !p->provider_count)
        rc = csp__fail(&client->report, CSP_EUSAGE, "no speech provider to use");
    if (rc != CSP_OK)
        goto fail;
    if (p->jobs > p->providers[0]->max_parallel)
        p->jobs = p->providers[0]->max_parallel;
    if ((rc = csp__sink_for_options(&client->report, options, &p->sink)) != CSP_OK)
        goto fail;
    *out = p;
    return CSP_OK;
fail:
    csp__pipeline_free(p);
    return rc;
}

void csp__pipeline_free(csp_pipeline *p)
{
    if (!p)
        return;
    while (p->head) {
        chunk *c = p->head;
        p->head = c->next;
        chunk_free(c);
    }
    while (p->outbox) {
        segment *g = p->outbox;
        p->outbox = g->next;
        segment_free(g);
    }
    csp__buf_free(&p->marks);
    for (size_t i = 0; i < p->provider_count; i++) {
        /* here, after the caller's last word on the error: the notice joins it */
        if (csp__provider_is_resume(p->providers[i]) && !p->resume_ended)
            csp__provider_resume_end(p->providers[i], 0);
        p->providers[i]->free(p->providers[i]);
    }
    if (p->sink) {
        csp__sink_finish(p->sink, 0);
        csp__sink_free(p->sink);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->changed);
    csp__free(p);
}

/* Called with the lock held: sleep until something changes, or ms pass. */
static void wait_for_change(csp_pipeline *p, long ms)
{
    csp__cond_wait_ms(&p->changed, &p->lock, ms);
}

static void wake(csp_pipeline *p)
{
    pthread_cond_broadcast(&p->changed);
    for (size_t i = 0; i < p->provider_count; i++)
        p->providers[i]->wakeup(p->providers[i]);
}

static int copy_params(csp_voice_params *dst, const csp_voice_params *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src)
        return 0;
    dst->speed = src->speed;
    dst->has_speed = src->has_speed;
    dst->provider = src->provider;
    if ((src->voice && !(dst->voice = csp__strdup(src->voice))) ||
        (src->model && !(dst->model = csp__strdup(src->model))))
        return -1;
    return 0;
}

/* Called with the lock held: why the run must stop (a producer's failure or the user's
   cancel), or CSP_OK to go on. */
static csp_code stop_code(const csp_pipeline *p)
{
    if (p->aborted != CSP_OK)
        return p->aborted;
    return csp__canceled(&p->client->report) ? CSP_ECANCELED : CSP_OK;
}

csp_code csp__pipeline_add(csp_pipeline *p, const char *text, size_t len,
                           const csp_voice_params *params, csp_piece_end end)
{
    segment *g = csp__calloc(1, sizeof *g);
    if (!g || !(g->text = csp__strndup(text, len)) || copy_params(&g->params, params) < 0) {
        segment_free(g);
        return csp__fail(&p->client->report, CSP_ENOMEM, "out of memory");
    }
    g->len = len;
    g->end = end;
    pthread_mutex_lock(&p->lock);
    if (p->marks.len) { /* the marks written since the last text stand before this one */
        g->marks_len = p->marks.len;
        g->marks = csp__buf_steal(&p->marks);
        if (!g->marks) {
            pthread_mutex_unlock(&p->lock);
            segment_free(g);
            return csp__fail(&p->client->report, CSP_ENOMEM, "out of memory");
        }
    }
    /* backpressure: a producer faster than speech waits here, so memory stays flat */
    while (p->max_waiting && p->outbox_bytes >= p->max_waiting && !p->stop &&
           stop_code(p) == CSP_OK) {
        p->producer_waiting = 1; /* cut what there is: the producer cannot add more */
        wake(p);
        wait_for_change(p, 100);
    }
    p->producer_waiting = 0;
    if (p->outbox_tail)
        p->outbox_tail->next = g;
    else
        p->outbox = g;
    p->outbox_tail = g;
    p->outbox_bytes += len;
    wake(p);
    pthread_mutex_unlock(&p->lock);
    return CSP_OK;
}

csp_code csp__pipeline_add_mark(csp_pipeline *p, const char *name)
{
    pthread_mutex_lock(&p->lock);
    int failed = csp__buf_append(&p->marks, name, strlen(name) + 1) < 0;
    pthread_mutex_unlock(&p->lock);
    return failed ? csp__fail(&p->client->report, CSP_ENOMEM, "out of memory") : CSP_OK;
}

/* Marks reach the caller in order, on the consumer thread, with no lock held. Returns 1 when
   the caller ends the run at one of them. */
static int fire_marks(csp_pipeline *p, const char *marks, size_t len)
{
    for (size_t at = 0; p->on_mark && at < len && !p->stopped_at_mark; at += strlen(marks + at) + 1)
        p->stopped_at_mark = p->on_mark(p->mark_userdata, marks + at) != 0;
    return p->stopped_at_mark;
}

static int same_params(const csp_voice_params *a, const csp_voice_params *b)
{
    return a->has_speed == b->has_speed && (!a->has_speed || a->speed == b->speed) &&
           a->provider == b->provider &&
           !strcmp(a->voice ? a->voice : "", b->voice ? b->voice : "") &&
           !strcmp(a->model ? a->model : "", b->model ? b->model : "");
}

/*
 * Called with the lock held. While a producer is in the middle of a write,
 * the outbox is still growing: cut only when a full chunk waits (4 bytes a
 * character at most), so the same text always makes the same requests,
 * whatever the threads' timing.
 */
static int chunk_settled(const csp_pipeline *p)
{
    if (!p->producing || p->producer_waiting || p->sentence_per_chunk)
        return 1; /* (a sentence is whole when it reaches the outbox) */
    size_t max = (size_t)p->settings->max_text_length;
    size_t want = p->chunks_added == 0 ? CSP_FIRST_CHUNK_CHARS : CSP_PREFERRED_CHUNK_CHARS;
    return p->outbox_bytes >= 4 * (max < want ? max : want);
}

/*
 * Called with the lock held, when a request could start: cut the next chunk
 * from the outbox. Whole sentences are merged up to the chunk size (the
 * first chunk short, so sound starts fast; later ones long, so a fast
 * producer makes few requests); a sentence longer than that is cut at a
 * clause, then a word. Returns NULL when the outbox is empty or memory is short.
 */
static chunk *cut_chunk(csp_pipeline *p)
{
    size_t max = (size_t)p->settings->max_text_length;
    size_t want = p->sentence_per_chunk ? CSP_CUE_CHARS
                  : p->chunks_added == 0 ? CSP_FIRST_CHUNK_CHARS
                                         : CSP_PREFERRED_CHUNK_CHARS;
    size_t limit = max < want ? max : want;
    segment *g = p->outbox;
    if (!g)
        return NULL;
    chunk *c = csp__calloc(1, sizeof *c);
    csp_buf text;
    csp__buf_init(&text, SIZE_MAX / 2);
    if (!c || copy_params(&c->params, &g->params) < 0)
        goto nomem;
    c->provider = p->current;
    /* the first piece's marks come before the chunk's audio; a piece with marks of its own
       starts a new chunk, so each mark falls between two chunks' audio */
    c->marks = g->marks;
    c->marks_len = g->marks_len;
    g->marks = NULL;
    g->marks_len = 0;
    /* an allowed [[tts:provider=...]] directive picks its provider, when the chain has it */
    for (size_t i = 0; c->params.provider && i < p->provider_count; i++)
        if (!strcmp(p->providers[i]->name, c->params.provider) && i >= p->current)
            c->provider = i;
    size_t chars = csp__utf8_count(g->text, g->len);
    if (chars > limit) {
        size_t start, end;
        size_t next = csp__text_next_chunk(g->text, g->len, 0, limit, &start, &end);
        if (csp__buf_append(&text, g->text + start, end - start) < 0)
            goto nomem;
        size_t rest = next, end_of_text = g->len;
        csp__text_trim(g->text, &rest, &end_of_text); /* the rest starts with a word */
        memmove(g->text, g->text + rest, g->len - rest);
        p->outbox_bytes -= rest;
        g->len -= rest;
    } else {
        size_t total = 0;
        csp_piece_end before = CSP_PIECE_WHOLE;
        while ((g = p->outbox) && same_params(&g->params, &c->params) && !g->marks) {
            chars = csp__utf8_count(g->text, g->len);
            if (total && (total + chars > limit || p->sentence_per_chunk))
                break;
            /* a sentence mark ends the last piece, or a line break gives it its pause; a
               sentence cut for length joins as it was written (a space, or nothing) */
            const char *join = before == CSP_PIECE_AT_SPACE ? " "
                               : before == CSP_PIECE_MID_WORD ? ""
                               : text.len && strchr(".!?\"')", text.data[text.len - 1]) ? " "
                                                                                      : "\n";
            if ((text.len && csp__buf_append(&text, join, strlen(join)) < 0) ||
                csp__buf_append(&text, g->text, g->len) < 0)
                goto nomem;
            before = g->end;
            total += chars + 1;
            p->outbox = g->next;
            p->outbox_bytes -= g->len;
            segment_free(g);
        }
        if (!p->outbox)
            p->outbox_tail = NULL;
    }
    if (g && g->len == 0) { /* a long sentence used up */
        p->outbox = g->next;
        if (!p->outbox)
            p->outbox_tail = NULL;
        segment_free(g);
    }
    c->text_len = text.len;
    if (!(c->text = csp__buf_steal(&text)))
        goto nomem;
    csp__buf_init(&c->data, SIZE_MAX / 2); /* on_data enforces the chunk's audio cap */
    c->index = p->chunks_added++;
    if (p->tail)
        p->tail->next = c;
    else
        p->head = c;
    p->tail = c;
    return c;
nomem:
    csp__buf_free(&text);
    chunk_free(c);
    return NULL;
}

int csp__pipeline_ready(csp_pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    int ready = !p->outbox && p->in_flight < p->jobs &&
                p->chunks_added < p->consumer_index + (size_t)p->jobs;
    pthread_mutex_unlock(&p->lock);
    return ready;
}

void csp__pipeline_limit_waiting(csp_pipeline *p, size_t max_bytes) { p->max_waiting = max_bytes; }

void csp__pipeline_producing(csp_pipeline *p, int producing)
{
    pthread_mutex_lock(&p->lock);
    p->producing += producing ? 1 : -1;
    wake(p);
    pthread_mutex_unlock(&p->lock);
}

void csp__pipeline_close(csp_pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    p->input_closed = 1;
    wake(p);
    pthread_mutex_unlock(&p->lock);
}

void csp__pipeline_warm(csp_pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    p->warm_wanted = 1;
    wake(p);
    pthread_mutex_unlock(&p->lock);
}

void csp__pipeline_abort(csp_pipeline *p, csp_code code)
{
    pthread_mutex_lock(&p->lock);
    if (p->aborted == CSP_OK)
        p->aborted = code;
    wake(p);
    pthread_mutex_unlock(&p->lock);
}


/* --- the network side (its own thread) --------------------------------- */

static void fail_chunk(chunk *c, csp_code code, const char *fmt, const char *detail)
{
    c->state = CHUNK_FAILED;
    c->code = code;
    snprintf(c->error, sizeof c->error, fmt, detail);
}

/* Called with the lock held: the chunk starts over with the provider speaking now. */
static void requeue(csp_pipeline *p, chunk *c)
{
    c->provider = p->current;
    c->state = CHUNK_QUEUED;
    c->attempts = 0;
    c->not_before_ms = 0;
    c->generation++;
    c->responded = 0;
    c->complete = 0;
    c->received = 0;
    c->data.len = 0;
}

/*
 * Called with the lock held, when the chunk's provider failed for a reason
 * another could fix: the next provider of the chain speaks it, and every
 * later chunk too, so voices never ping-pong (chunks fetched ahead from the
 * old one are asked again). Returns 0 when there is no provider left.
 */
static int fall_back(csp_pipeline *p, chunk *c, const char *why)
{
    if (csp__canceled(&p->client->report) ||
        (c->provider >= p->current && p->current + 1 >= p->provider_count))
        return 0;
    /* a file never mixes voices: the provider chosen before the first audio finishes it, or
       the run stops with its paid parts kept (--resume) */
    if (p->to_file && p->delivered && c->provider >= p->current)
        return 0;
    if (c->provider >= p->current) {
        p->current = c->provider + 1;
        p->delivered = 0;
        const char *next = p->providers[p->current]->name;
        /* an error-level line: shown even with -q, since the voice changes */
        csp__log(&p->client->report, CSP_LOG_ERROR, "%s failed (%s); %s%s%s speaks from chunk %zu on",
                 p->providers[c->provider]->name, why,
                 strcmp(next, "tts-local-cli") ? next : "the local engine (",
                 strcmp(next, "tts-local-cli") ? "" : p->client->settings.local_command,
                 strcmp(next, "tts-local-cli") ? "" : ")", c->index + 1);
        for (chunk *o = p->head; o; o = o->next) {
            if (o == c || o->index < c->index || o->provider >= p->current ||
                o->state == CHUNK_FAILED)
                continue;
            if (o->state == CHUNK_FETCHING)
                o->stale = 1; /* its attempt ends first; then it starts over */
            else
                requeue(p, o);
        }
    }
    requeue(p, c);
    return 1;
}

/* Called with the lock held: start a new attempt later, or give up. */
static void retry_or_fail(csp_pipeline *p, chunk *c, const char *why, long retry_after_s,
                          csp_code code, int provider_fault)
{
    if (c->attempts >= MAX_ATTEMPTS || csp__canceled(&p->client->report)) {
        char detail[sizeof c->error];
        snprintf(detail, sizeof detail, "%s (gave up after 3 attempts)", why);
        if (!provider_fault || !fall_back(p, c, detail))
            fail_chunk(c, code, p->to_file && p->delivered && p->current + 1 < p->provider_count
                                    ? "%s; a file never mixes voices, so no other provider "
                                      "finishes it"
                                    : "%s", detail);
        return;
    }
    long long delay = 500LL << (c->attempts - 1); /* 0.5 s, 1 s */
    delay += rand_r(&p->jitter_seed) % 250;       /* jitter: clients do not retry in step */
    if (retry_after_s >= 0)
        delay = retry_after_s * 1000 > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : retry_after_s * 1000;
    csp__log(&p->client->report, CSP_LOG_WARN, "chunk %zu: %s; retrying in %.1f s (attempt %d of %d)",
             c->index + 1, why, (double)delay / 1000.0, c->attempts + 1, MAX_ATTEMPTS);
    c->state = CHUNK_QUEUED;
    c->not_before_ms = csp__now_ms() + delay;
    c->generation++;
    c->responded = 0;
    c->complete = 0;
    c->received = 0;
    c->data.len = 0;
}

/* Whose audio a chunk's is, for messages: the server's, or the local engine's (exit 9). */
static int from_local_engine(const csp_pipeline *p, const chunk *c)
{
    return !strcmp(p->providers[c->provider]->name, "tts-local-cli");
}
/* ... and which URL sent it, so an error about odd audio names the chunk and its source */
static const char *audio_of(const csp_pipeline *p, const chunk *c)
{
    static _Thread_local char from[700];
    if (from_local_engine(p, c))
        return "the local speech command's audio";
    csp_speech_target t;
    memset(&t, 0, sizeof t);
    csp__speech_target(p->settings, p->providers[c->provider]->name, &t);
    snprintf(from, sizeof from, "the audio from %s/audio/speech",
             t.base_url ? t.base_url : p->providers[c->provider]->name);
    return from;
}
#define AUDIO_OF(p, c) audio_of(p, c)
#define BROKEN_CODE(p, c) (from_local_engine(p, c) ? CSP_ELOCAL : CSP_EDECODE)

/* --- events from the provider (on the network thread) --- */

static void on_audio_start(void *ctx, const csp_media *media)
{
    chunk *c = ((struct chunk_ref *)ctx)->chunk;
    csp_pipeline *p = ((struct chunk_ref *)ctx)->pipeline;
    pthread_mutex_lock(&p->lock);
    if (c->stale) {
        pthread_mutex_unlock(&p->lock);
        return; /* from a provider the run has left: not played */
    }
    c->responded = 1;
    c->media = *media;
    c->audio_cap = csp__audio_cap(c->text_len, media->kind == CSP_MEDIA_PCM
                                                   ? (double)media->rate * media->channels * 2
                                               : media->kind == CSP_MEDIA_WAV
                                                   ? CSP_LOCAL_MAX_BYTES_PER_SECOND
                                                   : CSP_MP3_MAX_BYTES_PER_SECOND);
    wake(p);
    pthread_mutex_unlock(&p->lock);
}

static int on_audio(void *ctx, const char *data, size_t len)
{
    chunk *c = ((struct chunk_ref *)ctx)->chunk;
    csp_pipeline *p = ((struct chunk_ref *)ctx)->pipeline;
    int stop = 0;
    pthread_mutex_lock(&p->lock);
    if (c->stale) {
        stop = 1;
    } else if ((c->received += len) > c->audio_cap) {
        char why[256];
        snprintf(why, sizeof why, "%s sent more audio than %zu characters of text can make "
                 "(over %zu bytes); it may be misbehaving",
                 from_local_engine(p, c) ? "the local speech command" : "the server", c->text_len,
                 c->audio_cap);
        fail_chunk(c, from_local_engine(p, c) ? CSP_ELOCAL : CSP_EAPI, "%s", why);
        stop = 1;
    } else if (csp__buf_append(&c->data, data, len) < 0) {
        fail_chunk(c, CSP_ENOMEM, "%s", "out of memory buffering audio");
        stop = 1;
    }
    wake(p);
    pthread_mutex_unlock(&p->lock);
    return stop;
}

static void on_done(void *ctx, const csp_attempt_result *r)
{
    chunk *c = ((struct chunk_ref *)ctx)->chunk;
    csp_pipeline *p = ((struct chunk_ref *)ctx)->pipeline;
    pthread_mutex_lock(&p->lock);
    p->in_flight--;
    if (c->stale) {
        c->stale = 0;
        requeue(p, c); /* the provider the run has moved to speaks it */
    } else if (c->state == CHUNK_FAILED) {
        /* already decided (the audio cap, out of memory) */
    } else if (r->status == CSP_ATTEMPT_OK) {
        c->state = CHUNK_DONE;
        c->complete = 1;
        if (c->provider == p->current)
            p->delivered = 1;
    } else if (r->status == CSP_ATTEMPT_RETRY && r->unreachable && fall_back(p, c, r->why)) {
        /* offline: the next provider at once, not after three tries and their waits */
    } else if (r->status == CSP_ATTEMPT_RETRY) {
        retry_or_fail(p, c, r->why, r->retry_after_s, r->code, r->provider_fault);
    } else if (!r->provider_fault || !fall_back(p, c, r->why)) {
        fail_chunk(c, r->code, "%s", r->why);
    }
    wake(p);
    pthread_mutex_unlock(&p->lock);
}

static const csp_chunk_events chunk_events = {on_audio_start, on_audio, on_done, NULL};

/* Called with the lock held: may this chunk start an attempt now? */
static int may_start(const csp_pipeline *p, const chunk *c, long long now)
{
    return c->state == CHUNK_QUEUED && c->index < p->consumer_index + (size_t)p->jobs &&
           c->not_before_ms <= now && p->in_flight < p->jobs;
}

/* Start attempts outside the lock: a synchronous provider works inside start. */
static void start_attempts(csp_pipeline *p, chunk **starting, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        chunk *c = starting[i];
        csp_chunk_events events = chunk_events;
        c->ref.pipeline = p;
        c->ref.chunk = c;
        events.ctx = &c->ref;
        csp_chunk_request request = {c->text, c->text_len, &c->params, c->index, c->attempts};
        csp_provider *provider = p->providers[c->provider];
        if (provider->start(provider, &request, &events) < 0) {
            pthread_mutex_lock(&p->lock);
            p->in_flight--;
            fail_chunk(c, CSP_ENOMEM, "%s", "out of memory starting a request");
            wake(p);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

static void *network_main(void *arg)
{
    csp_pipeline *p = arg;
    chunk *starting[64];
    int warming = 0; /* a warm-up transfer may still run: keep the provider polled */
    for (;;) {
        size_t count = 0;
        pthread_mutex_lock(&p->lock);
        if (p->stop || stop_code(p) != CSP_OK) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        /* only while nothing is asked yet: a request on its way opens the connection itself */
        csp_provider *speaking = p->providers[p->current];
        int warm = p->warm_wanted && !p->head && !p->outbox && speaking->warm;
        p->warm_wanted = 0;
        if (warm) {
            pthread_mutex_unlock(&p->lock);
            warming = speaking->warm(speaking);
            if (warming < 0) {
                csp__pipeline_abort(p, CSP_ENOMEM); /* the consumer reports it */
                warming = 0;
            }
            continue;
        }
        long long now = csp__now_ms();
        int pending = 0;
        for (chunk *c = p->head; c && count < 64; c = c->next) {
            if (c->state == CHUNK_QUEUED || c->state == CHUNK_FETCHING)
                pending = 1;
            if (!may_start(p, c, now))
                continue;
            c->attempts++;
            c->state = CHUNK_FETCHING;
            p->in_flight++;
            starting[count++] = c;
        }
        /* a request could start now: cut the next chunk from what waits */
        while (count < 64 && p->outbox && p->in_flight < p->jobs &&
               p->chunks_added < p->consumer_index + (size_t)p->jobs && chunk_settled(p)) {
            chunk *c = cut_chunk(p);
            if (!c) {
                p->aborted = CSP_ENOMEM; /* the consumer reports it */
                break;
            }
            wake(p);
            pending = 1;
            c->attempts++;
            c->state = CHUNK_FETCHING;
            p->in_flight++;
            starting[count++] = c;
        }
        int finished = p->input_closed && !p->outbox && !pending && p->in_flight == 0;
        int busy = p->in_flight > 0;
        pthread_mutex_unlock(&p->lock);
        if (finished)
            break;
        start_attempts(p, starting, count);
        if (count)
            continue; /* look again at once: a synchronous provider has finished */
        if (busy || warming) {
            /* the provider speaking now waits; one the run has left finishes its attempts */
            for (size_t i = 0; i < p->provider_count; i++) {
                int running = p->providers[i]->poll(p->providers[i], i == p->current ? 50 : 0);
                if (i == p->current)
                    warming = running > 0;
            }
        } else {
            pthread_mutex_lock(&p->lock);
            wait_for_change(p, 50);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

/* --- the consumer (the calling thread) ---------------------------------- */

typedef struct emit_state {
    csp_pipeline *p;
    chunk *c;
    size_t frames_this_attempt; /* frames the current attempt has decoded */
    size_t frames_written;      /* frames of this chunk already in the sink */
    csp_code rc;
    /* mp3 passthrough */
    csp_mp3_walker *walker;      /* this attempt's frames go to the sink as they are */
    int deciding;                /* no frame yet: can they pass? */
    int cannot_pass;             /* no: decode them (another rate than the file's) */
    int decode_rest;             /* a frame that does not chain: decode from it on */
    long long decode_from;       /* ... its offset in the attempt's bytes */
    csp_buf prefix;              /* this attempt's bytes while they pass (for either case) */
    int prefix_lost;             /* too many to keep: a frame that does not chain is skipped */
    size_t passed_this_attempt;  /* samples (per channel) of the frames this attempt has */
    int decoded_only;            /* the decoder runs beside passthrough: its PCM only plays */
    size_t decoded_this_attempt, decoded_written; /* ... and its own counts */
} emit_state;

static void report_progress(csp_pipeline *p, int force)
{
    if (!p->progress)
        return;
    long long now = csp__now_ms();
    if (!force && now - p->last_progress_ms < 100)
        return;
    p->last_progress_ms = now;
    csp_progress info;
    pthread_mutex_lock(&p->lock);
    info.chunks_done = p->chunks_done;
    /* when the input is all in, what still waits is about one chunk per 2000 bytes */
    info.chunks_total = p->input_closed ? p->chunks_added + (p->outbox_bytes + CSP_PREFERRED_CHUNK_CHARS - 1) /
                                                                CSP_PREFERRED_CHUNK_CHARS
                                        : 0;
    pthread_mutex_unlock(&p->lock);
    info.audio_seconds = p->audio_seconds;
    info.elapsed_seconds = (double)(now - p->started_ms) / 1000.0;
    p->progress(p->progress_userdata, &info);
}

static int emit(void *userdata, const int16_t *samples, size_t frames, long rate, int channels)
{
    emit_state *e = userdata;
    csp_pipeline *p = e->p;
    if (csp__canceled(&p->client->report)) {
        /* per block: a long resampling or file write stops at Ctrl-C, not when it is done */
        e->rc = CSP_ECANCELED;
        return 1;
    }
    size_t *at = e->decoded_only ? &e->decoded_this_attempt : &e->frames_this_attempt;
    size_t *written = e->decoded_only ? &e->decoded_written : &e->frames_written;
    size_t from = *at;
    *at += frames;
    if (*at <= *written)
        return 0; /* already written by an earlier attempt */
    size_t skip = from < *written ? *written - from : 0;
    if (!p->sink->opened && (e->rc = csp__sink_open(p->sink, rate, channels)) != CSP_OK)
        return 1;
    if (rate != p->sink->rate || channels != p->sink->channels) {
        e->rc = csp__fail(&p->client->report, BROKEN_CODE(p, e->c),
                          "chunk %zu: %s changed format mid-stream (%ld Hz, %d channels, then "
                          "%ld Hz, %d channels)", e->c->index + 1, AUDIO_OF(p, e->c),
                          p->sink->rate, p->sink->channels, rate, channels);
        return 1;
    }
    if (p->first_audio_ms < 0) {
        p->first_audio_ms = (long)(csp__now_ms() - p->started_ms);
        csp__log(&p->client->report, CSP_LOG_INFO, "first audio after %ld ms", p->first_audio_ms);
        report_progress(p, 1); /* the sound begins: before a write that may play for seconds */
    }
    if (e->decoded_only) {
        e->rc = csp__sink_write_decoded(p->sink, samples + skip * (size_t)channels, frames - skip);
        *written = *at;
        return e->rc != CSP_OK; /* pass_frame counts the audio */
    }
    e->rc = csp__sink_write(p->sink, samples + skip * (size_t)channels, frames - skip);
    *written = *at;
    p->audio_seconds += (double)(frames - skip) / (double)rate;
    report_progress(p, 0);
    return e->rc != CSP_OK;
}

/* One mp3 frame of the chunk, to the sink as it is. */
static int pass_frame(void *userdata, const unsigned char *frame, size_t len,
                      const csp_mp3_header *h)
{
    emit_state *e = userdata;
    csp_pipeline *p = e->p;
    if (e->deciding) {
        e->deciding = 0;
        if (!csp__sink_takes_mp3(p->sink, h->rate, h->channels)) {
            e->cannot_pass = 1;
            return 1;
        }
        if (!p->sink->opened && (e->rc = csp__sink_open(p->sink, h->rate, h->channels)) != CSP_OK)
            return 1;
    }
    if (h->rate != p->sink->rate || h->channels != p->sink->channels) {
        /* a header that does not chain (a stray sync word) or a real change of rate: the
           file's format must not decide whether audio the decoder plays is accepted, so the
           rest of the chunk is decoded as it would be played, and the sink encodes it */
        if (e->decoded_only || !e->prefix_lost) {
            e->decode_rest = 1;
            e->decode_from = csp__mp3_walker_frame_offset(e->walker);
            return 1;
        }
        return 0; /* its bytes are no longer at hand: resync past it, as a decoder would */
    }
    /* counted in samples, as emit counts: a retry may come as PCM and skip the same audio */
    e->passed_this_attempt += (size_t)h->samples;
    if (e->passed_this_attempt <= e->frames_written)
        return 0; /* already written by an earlier attempt */
    if (p->first_audio_ms < 0) {
        p->first_audio_ms = (long)(csp__now_ms() - p->started_ms);
        csp__log(&p->client->report, CSP_LOG_INFO, "first audio after %ld ms", p->first_audio_ms);
        report_progress(p, 1); /* the sound begins: before a write that may play for seconds */
    }
    e->rc = csp__sink_write_mp3(p->sink, frame, len, csp__mp3_walker_delay(e->walker),
                                csp__mp3_walker_padding(e->walker));
    e->frames_written = e->passed_this_attempt;
    p->audio_seconds += (double)h->samples / (double)h->rate;
    report_progress(p, 0);
    return e->rc != CSP_OK;
}

static long sink_rate_for(void *sink, long rate, int channels)
{
    return csp__sink_rate_for(sink, rate, channels);
}

static csp_code new_decoder(csp_pipeline *p, chunk *c, const csp_media *media,
                            csp_decoder **dec)
{
    const char *why = NULL;
    *dec = csp__decoder_new(media, p->sink->opened ? p->sink->rate : 0,
                            p->sink->opened ? p->sink->channels : 0, &why);
    if (!*dec)
        return csp__fail(&p->client->report, strcmp(why, "out of memory") ? CSP_EDECODE : CSP_ENOMEM,
                         "chunk %zu: %s", c->index + 1, why);
    if (!p->sink->opened)
        csp__decoder_choose_rate(*dec, sink_rate_for, p->sink);
    return CSP_OK;
}

/* A new attempt: mp3 into an mp3 file passes through; else it is decoded. */
static csp_code start_attempt(csp_pipeline *p, chunk *c, const csp_media *media, emit_state *e,
                              csp_decoder **dec)
{
    csp__decoder_free(*dec);
    *dec = NULL;
    csp__mp3_walker_free(e->walker);
    e->walker = NULL;
    e->frames_this_attempt = e->decoded_this_attempt = e->passed_this_attempt = 0;
    e->prefix.len = 0;
    e->prefix_lost = 0;
    e->decode_rest = 0;
    e->cannot_pass = 0;
    e->decoded_only = 0;
    e->deciding = 0;
    if (media->kind == CSP_MEDIA_MP3 && csp__sink_takes_mp3(p->sink, 0, 0)) {
        const char *why = NULL;
        if (!(e->walker = csp__mp3_walker_new(&why)))
            return csp__fail(&p->client->report,
                             strcmp(why, "out of memory") ? CSP_EDECODE : CSP_ENOMEM,
                             "chunk %zu: %s", c->index + 1, why);
        e->deciding = 1;
        e->decoded_only = csp__sink_wants_decoded(p->sink);
        if (!e->decoded_only)
            return CSP_OK; /* nothing plays: no decoding at all */
    }
    return new_decoder(p, c, media, dec);
}

/* Bytes of an attempt that passes through. Returns 0, or -1 with e->rc or a failure set. */
static int pass_bytes(csp_pipeline *p, chunk *c, const csp_media *media, emit_state *e,
                      csp_decoder **dec, const char *data, size_t n, int *fed_decoder)
{
    if (e->deciding && csp__buf_append(&e->prefix, data, n) < 0) {
        e->rc = csp__fail(&p->client->report, CSP_ENOMEM, "out of memory");
        return -1;
    }
    if (!e->deciding && !e->prefix_lost && csp__buf_append(&e->prefix, data, n) < 0) {
        e->prefix_lost = 1; /* over a minute of mp3: a frame that does not chain is skipped */
        csp__buf_free(&e->prefix);
    }
    int w = csp__mp3_walker_feed(e->walker, data, n, pass_frame, e);
    if (w > 0 && e->decode_rest) {
        /* from the frame that does not chain on, the chunk is decoded (see pass_frame) */
        csp__log(&p->client->report, CSP_LOG_INFO, "chunk %zu: the mp3 stream changes format "
                 "mid-way: decoding it from there", c->index + 1);
        csp__mp3_walker_free(e->walker);
        e->walker = NULL;
        e->decode_rest = 0;
        if (e->decoded_only) {
            /* playing beside: its decoder has all the bytes; it now feeds the file too */
            e->decoded_only = 0;
            e->frames_this_attempt = e->decoded_this_attempt;
            e->frames_written = e->decoded_written;
            e->prefix.len = 0;
            return 0;
        }
        if ((e->rc = new_decoder(p, c, media, dec)) != CSP_OK)
            return -1;
        *fed_decoder = 1;
        e->frames_this_attempt = e->frames_written; /* the decoder starts where passing ended */
        size_t from = e->decode_from > 0 && (size_t)e->decode_from < e->prefix.len
                          ? (size_t)e->decode_from : e->prefix.len;
        int d = csp__decoder_feed(*dec, e->prefix.data + from, e->prefix.len - from, emit, e);
        e->prefix.len = 0;
        if (d != 0 && e->rc == CSP_OK)
            e->rc = csp__fail(&p->client->report, BROKEN_CODE(p, c),
                              "chunk %zu: %s is broken: %s", c->index + 1, AUDIO_OF(p, c),
                              csp__decoder_error(*dec));
        return d != 0 ? -1 : 0;
    }
    if (w > 0 && e->cannot_pass) {
        /* its frames cannot go into this file as they are: decode the chunk from its start */
        csp__mp3_walker_free(e->walker);
        e->walker = NULL;
        e->decoded_only = 0;
        if (!*dec) {
            if ((e->rc = new_decoder(p, c, media, dec)) != CSP_OK)
                return -1;
            *fed_decoder = 1;
            int d = csp__decoder_feed(*dec, e->prefix.data, e->prefix.len, emit, e);
            if (d != 0 && e->rc == CSP_OK)
                e->rc = csp__fail(&p->client->report, BROKEN_CODE(p, c),
                                  "chunk %zu: %s is broken: %s", c->index + 1, AUDIO_OF(p, c),
                                  csp__decoder_error(*dec));
            if (d != 0)
                return -1;
        }
        e->prefix.len = 0;
        return 0;
    }
    if (w > 0)
        return -1; /* e->rc says why */
    if (w < 0) {
        e->rc = csp__fail(&p->client->report, BROKEN_CODE(p, c),
                          "chunk %zu: %s is broken: %s", c->index + 1, AUDIO_OF(p, c),
                          csp__mp3_walker_error(e->walker));
        return -1;
    }
    return 0;
}

static csp_code consume_chunk(csp_pipeline *p, chunk *c)
{
    emit_state e;
    memset(&e, 0, sizeof e);
    e.p = p;
    e.c = c;
    csp__buf_init(&e.prefix, (size_t)(CSP_MP3_MAX_BYTES_PER_SECOND * 60));
    csp_decoder *dec = NULL;
    int generation = -1;
    size_t scratch_size = 65536;
    char *scratch = csp__malloc(scratch_size);
    csp_code rc = CSP_OK;
    if (!scratch)
        return csp__fail(&p->client->report, CSP_ENOMEM, "out of memory");
    for (;;) {
        pthread_mutex_lock(&p->lock);
        csp_code early = CSP_OK; /* the device failed to start: no need to wait for audio */
        while (stop_code(p) == CSP_OK && c->state != CHUNK_FAILED &&
               !(c->generation != generation && c->responded) &&
               !(c->generation == generation && (c->data.len > 0 || c->complete)) &&
               (p->sink->opened || (early = csp__sink_check(p->sink)) == CSP_OK)) {
            wait_for_change(p, p->sink->opened ? 100 : 20);
        }
        if ((rc = early) != CSP_OK || (rc = stop_code(p)) != CSP_OK) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        if (c->state == CHUNK_FAILED) {
            rc = csp__fail(&p->client->report, c->code, "%s", c->error);
            pthread_mutex_unlock(&p->lock);
            break;
        }
        int restart = c->generation != generation;
        csp_media media = c->media;
        size_t n = c->data.len < scratch_size ? c->data.len : scratch_size;
        if (n) {
            memcpy(scratch, c->data.data, n);
            csp__buf_consume(&c->data, n);
        }
        int last = c->complete && c->data.len == 0;
        generation = c->generation;
        pthread_mutex_unlock(&p->lock);

        if (restart && (rc = start_attempt(p, c, &media, &e, &dec)) != CSP_OK)
            break;
        int fed_decoder = 0;
        if (e.walker && pass_bytes(p, c, &media, &e, &dec, scratch, n, &fed_decoder) < 0) {
            rc = e.rc;
            break;
        }
        int d = dec && !fed_decoder ? csp__decoder_feed(dec, scratch, n, emit, &e) : 0;
        if (dec && d == 0 && last)
            d = csp__decoder_finish(dec, emit, &e);
        if (d > 0 || e.rc != CSP_OK) {
            rc = e.rc;
            break;
        }
        if (d < 0) {
            rc = csp__fail(&p->client->report, BROKEN_CODE(p, c), "chunk %zu: %s is broken: %s",
                           c->index + 1, AUDIO_OF(p, c), csp__decoder_error(dec));
            break;
        }
        if (last) {
            if (e.frames_written == 0)
                rc = csp__fail(&p->client->report, BROKEN_CODE(p, c),
                               "chunk %zu: %s held nothing playable", c->index + 1,
                               AUDIO_OF(p, c));
            break;
        }
    }
    csp__decoder_free(dec);
    csp__mp3_walker_free(e.walker);
    csp__buf_free(&e.prefix);
    csp__free(scratch);
    return rc;
}

csp_code csp__pipeline_run(csp_pipeline *p)
{
    pthread_t network;
    csp_code rc = CSP_OK;
    p->started_ms = csp__now_ms();
    if (pthread_create(&network, NULL, network_main, p) != 0)
        return csp__fail(&p->client->report, CSP_ENOMEM, "cannot start the network thread");
    int rested = 1; /* nothing played yet: nothing to rest from */
    for (;;) {
        pthread_mutex_lock(&p->lock);
        long long idle_from = csp__now_ms();
        int rest = 0;
        while (!p->head && (!p->input_closed || p->outbox) && stop_code(p) == CSP_OK) {
            if (!rested && csp__now_ms() - idle_from >= REST_AFTER_MS) {
                rest = 1;
                break;
            }
            wait_for_change(p, 100);
        }
        chunk *c = p->head;
        csp_code stopped = stop_code(p);
        if (c)
            p->consumer_index = c->index;
        pthread_mutex_unlock(&p->lock);
        if (stopped != CSP_OK) {
            rc = stopped;
            break;
        }
        if (rest) {
            /* all heard and nothing to say (an idle --lines): another run may speak */
            rested = 1;
            if ((rc = csp__sink_rest(p->sink)) != CSP_OK)
                break;
            continue;
        }
        if (!c)
            break; /* input closed and all spoken */
        rested = 0;
        if (fire_marks(p, c->marks, c->marks_len))
            break; /* a pause at the mark: what is written plays out (committed below) */
        if ((rc = consume_chunk(p, c)) == CSP_OK)
            rc = csp__sink_chunk_end(p->sink, c->text, c->text_len);
        if (rc != CSP_OK) {
            /* audio that did not decode is not worth keeping for a resume */
            if (rc != CSP_ECANCELED && rc != CSP_EOUTPUT && rc != CSP_EAUDIO &&
                csp__provider_is_resume(p->providers[c->provider]))
                csp__provider_resume_forget(p->providers[c->provider], c->index);
            break;
        }
        pthread_mutex_lock(&p->lock);
        p->head = c->next;
        if (!p->head)
            p->tail = NULL;
        p->chunks_done++;
        p->consumer_index = c->index + 1;
        wake(p);
        pthread_mutex_unlock(&p->lock);
        chunk_free(c);
        report_progress(p, 1);
    }
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    wake(p);
    pthread_mutex_unlock(&p->lock);
    pthread_join(network, NULL);
    if (rc == CSP_OK && p->chunks_added == 0) {
        /* nothing was queued (a reply that is not spoken): no audio, no file */
        csp__sink_finish(p->sink, 0);
        fire_marks(p, p->marks.data, p->marks.len);
        return CSP_OK;
    }
    csp_code finish = csp__sink_finish(p->sink, rc == CSP_OK);
    if (rc == CSP_OK && finish == CSP_OK && !p->stopped_at_mark) /* marks after the last text */
        fire_marks(p, p->marks.data, p->marks.len);
    if (rc == CSP_OK)
        rc = finish;
    if (rc == CSP_ECANCELED)
        csp__fail(&p->client->report, CSP_ECANCELED, "interrupted");
    for (size_t i = 0; rc == CSP_OK && !p->stopped_at_mark && i < p->provider_count; i++)
        if (csp__provider_is_resume(p->providers[i]))
            csp__provider_resume_end(p->providers[i], 1); /* whole: the kept chunks go */
    if (rc == CSP_OK)
        p->resume_ended = 1;
    return rc;
}
