/* SPDX-License-Identifier: MIT */
/*
 * say.c: csp_say, csp_say_fd and csp_say_lines: read the input and feed a
 * speaker; and picking the provider (the local engine when no key exists
 * anywhere and none was asked for).
 */
#include "alloc.h"
#include "client.h"
#include "local_tts.h"
#include "clock.h"
#include "speaker.h"
#include "text.h"
#include "utf16.h"
#include "utf8.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

csp_code csp__require_key(csp_client *client, const char *key, const char *purpose,
                          const char *config_places)
{
    if (key)
        return CSP_OK;
    return csp__fail(&client->report, CSP_EKEY,
                     "no OpenRouter API key%s: set %s in %s, or the OPENROUTER_API_KEY "
                     "environment variable",
                     purpose, config_places, client->settings.config_path);
}

/*
 * The local engine stands in for a provider that cannot speak: a -v given
 * for that provider is handed on only when espeak-ng knows it (-v de), never
 * an API voice (af_bella) it would refuse.
 */
static csp_code stand_in_voice(csp_client *client)
{
    csp_settings *s = &client->settings;
    const csp_setting *voice = csp__settings_find(s, "voice");
    if (!voice || voice->source[0] != '-' || s->local_voice || !s->local_args_default)
        return CSP_OK;
    csp_buf list;
    csp__buf_init(&list, 1 << 20);
    int known = 0;
    if (csp__local_voices(s, &client->report, &list) == CSP_OK && list.data) {
        size_t n = strlen(s->voice);
        for (const char *line = strstr(list.data, "\n  "); line && !known; line = strstr(line + 1, "\n  "))
            known = !strncmp(line + 3, s->voice, n) && line[3 + n] == ' ';
    }
    client->report.error[0] = '\0'; /* a failed listing is not this run's error */
    csp__buf_free(&list);
    if (!known) {
        csp__log(&client->report, CSP_LOG_WARN, "'%s' is not an espeak-ng voice; the local engine "
                 "picks one from the text's script (see clawspeak voices)", s->voice);
        return CSP_OK;
    }
    s->local_voice = csp__strdup(s->voice);
    return s->local_voice ? CSP_OK : csp__fail(&client->report, CSP_ENOMEM, "out of memory");
}

/* Decide the provider for this run. */
csp_code csp__choose_provider(csp_client *client)
{
    csp_settings *s = &client->settings;
    if (!client->loaded)
        return csp__fail(&client->report, CSP_EUSAGE, "csp_client_load() was not called");
    /* --provider NAME alone: no fallback, and today's exit 4 when it has no key */
    if (s->provider_from_flag && !strcmp(s->provider, "openrouter"))
        return csp__require_key(client, s->api_key, "",
                                "tts.providers.openrouter.apiKey or "
                                "models.providers.openrouter.apiKey");
    if (s->provider_from_flag && !strcmp(s->provider, "openai"))
        return s->openai_api_key ? CSP_OK
               : csp__fail(&client->report, CSP_EKEY, "no openai API key: set "
                           "tts.providers.openai.apiKey in %s, or the OPENAI_API_KEY environment "
                           "variable", s->config_path);
    if (!s->chain_count)
        return csp__fail(&client->report, s->chain_error, "no speech provider can speak (%s)%s",
                         s->chain_note, s->chain_error == CSP_EKEY
                             ? ": set a key (tts.providers.openrouter.apiKey, "
                               "models.providers.openrouter.apiKey or OPENROUTER_API_KEY)"
                             : "; see `clawspeak config`");
    if (s->redo_local) /* the whole text again, in the local engine's voice (csp_say) */
        return CSP_OK;
    if (!strcmp(s->chain[0], s->provider) && !(s->as_openclaw_command && !s->api_key))
        return CSP_OK;
    /* the chosen provider cannot speak (no key, or it is clawspeak's own tts-local-cli entry) */
    const char *first = s->chain[0];
    /* OpenClaw running clawspeak as its tts-local-cli: clawspeak's own chain, quietly */
    int own_entry = s->as_openclaw_command;
    if (!strcmp(first, "tts-local-cli") && !s->api_key && (own_entry || !strcmp(s->provider, "openrouter")))
        /* behind OpenClaw (whose snippet passes -q) this notice is the one word in its log */
        csp__log(&client->report, own_entry ? CSP_LOG_ERROR : CSP_LOG_WARN,
                 "no OpenRouter API key found; speaking with the local engine (%s)",
                 s->local_command);
    else if (!own_entry)
        csp__log(&client->report, CSP_LOG_WARN, "%s cannot speak (%s); speaking with %s",
                 s->provider, s->chain_note, first);
    char *chosen = csp__strdup(first);
    if (!chosen)
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    csp__free(s->provider);
    s->provider = chosen;
    return !strcmp(first, "tts-local-cli") ? stand_in_voice(client) : CSP_OK;
}

static csp_code check_text(csp_client *client, const char *text, size_t len)
{
    size_t bad;
    if (csp__text_check(text, len, &bad) < 0)
        return csp__fail(&client->report, CSP_EINPUT, "the input is not valid UTF-8 text: %s at byte offset %zu",
                         text[bad] == '\0' ? "NUL byte" : "invalid byte", bad);
    if (csp__text_blank(text, len))
        return csp__fail(&client->report, CSP_EINPUT,
                         "nothing to say: the input is empty, or only whitespace and invisible "
                         "characters");
    return CSP_OK;
}

static csp_code say_once(csp_client *client, const char *text, size_t len,
                         const csp_say_options *options)
{
    csp_speaker *speaker = NULL;
    csp_code rc = csp_speaker_new(client, options, &speaker);
    if (rc == CSP_OK)
        rc = csp__speaker_write_all(speaker, text, len);
    if (speaker) {
        csp_code finished = csp_speaker_finish(speaker);
        if (rc == CSP_OK)
            rc = finished;
    }
    csp_speaker_free(speaker);
    return rc;
}

/* Did the API fail in a way the local engine can make up for? */
static int api_failure(csp_code rc)
{
    return rc == CSP_EAPI || rc == CSP_ENET || rc == CSP_EKEY || rc == CSP_EDECODE;
}

csp_code csp_say(csp_client *client, const char *text, size_t len, const csp_say_options *options)
{
    csp_code rc = check_text(client, text, len);
    if (rc == CSP_OK)
        rc = say_once(client, text, len, options);
    csp_settings *s = &client->settings;
    /* OpenClaw's command writing its file: an API that failed after some audio (a file never
       mixes voices), or with an answer that is no audio, still leaves OpenClaw with speech,
       the whole text in espeak-ng's voice (the failed file was never committed) */
    if (api_failure(rc) && s->as_openclaw_command && !s->redo_local && options &&
        options->output_path && strcmp(options->output_path, "-") && strcmp(s->provider, "tts-local-cli")) {
        csp__log(&client->report, CSP_LOG_ERROR, "%s; the whole text again with the local engine (%s)",
                 csp_client_error(client), s->local_command);
        char *local = csp__strdup("tts-local-cli");
        if (!local)
            return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
        csp__free(s->provider);
        s->provider = local;
        s->redo_local = 1;
        rc = say_once(client, text, len, options);
    }
    return rc;
}

/* Wait up to ms for fd to have data: 1 ready, 0 not yet, -1 error. Wakes for Ctrl-C. */
static int wait_readable(int fd, int ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    int ready = poll(&pfd, 1, ms);
    if (ready < 0)
        return errno == EINTR ? 0 : -1;
    return ready > 0;
}

#define READ_BLOCK (64 * 1024)

/* Every input is a regular file: read whole before a request, so the chunking is fixed. */
static int all_regular(const int *fds, size_t count)
{
    struct stat st;
    for (size_t i = 0; i < count; i++)
        if (fstat(fds[i], &st) != 0 || !S_ISREG(st.st_mode))
            return 0;
    return 1;
}

/* An error about input i names it: "notes.txt: the input is not valid UTF-8...". */
static void name_input(csp_client *client, const char *const *names, size_t i)
{
    if (!names || !names[i])
        return;
    char named[sizeof client->report.error + 512];
    snprintf(named, sizeof named, "%.500s: %s", names[i], client->report.error);
    memcpy(client->report.error, named, sizeof client->report.error - 1);
    client->report.error[sizeof client->report.error - 1] = '\0';
}

/* Read one input into the speaker until its end, pausing and flushing as the producer does. */
static csp_code read_input(csp_client *client, csp_speaker *speaker, int fd, int pause,
                           char *block)
{
    long long last_data = csp__now_ms();
    int idle_told = 1, pauses = 2; /* silences seen since the last data: 1 pause, 2 flush */
    int first = 1;
    csp_utf16 *utf16 = NULL; /* a file saved as UTF-16 with a BOM: converted as it comes */
    char *converted = NULL;
    csp_code rc = CSP_OK;
    while (rc == CSP_OK) {
        if (csp__canceled(&client->report))
            return CSP_ECANCELED;
        /* right after a read, look without waiting: "nothing more right now" must be
           noticed at once, or every pause costs the sentence before it a poll period */
        int ready = wait_readable(fd, idle_told ? 50 : 0);
        if (ready < 0)
            return csp__fail(&client->report, CSP_EINPUT, "cannot read the input: %s", strerror(errno));
        if (ready == 0) {
            /* the producer has nothing more right now */
            if (!idle_told) {
                rc = csp__speaker_idle(speaker);
                idle_told = 1;
            }
            /* after one pause: what is pending, unless it ends mid-word; after two: all */
            if (rc == CSP_OK && pause > 0 && pauses < 2 &&
                csp__now_ms() - last_data >= (long long)pause * (pauses + 1)) {
                rc = pauses == 0 ? csp__speaker_pause(speaker) : csp_speaker_flush(speaker);
                pauses++;
            }
            continue;
        }
        ssize_t n = read(fd, block, READ_BLOCK);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            rc = csp__fail(&client->report, CSP_EINPUT, "cannot read the input: %s", strerror(errno));
            break;
        }
        if (first && n > 0 && csp__utf16_has_bom(block, (size_t)n)) {
            utf16 = csp__utf16_new();
            converted = csp__malloc(csp__utf16_out_size(READ_BLOCK));
            if (!utf16 || !converted) {
                rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
                break;
            }
        }
        first = 0;
        if (utf16) {
            size_t bad = 0;
            long m = csp__utf16_convert(utf16, block, (size_t)n, n == 0, converted, &bad);
            if (m < 0) {
                rc = csp__fail(&client->report, CSP_EINPUT, "the input starts as UTF-16 (it has a "
                               "byte order mark) but is not valid UTF-16 near byte offset %zu", bad);
                break;
            }
            rc = m ? csp_speaker_write(speaker, converted, (size_t)m) : CSP_OK;
        } else if (n > 0) {
            rc = csp_speaker_write(speaker, block, (size_t)n);
        }
        if (n == 0)
            break;
        last_data = csp__now_ms();
        idle_told = pauses = 0;
    }
    csp__utf16_free(utf16);
    csp__free(converted);
    return rc;
}

csp_code csp_say_fds(csp_client *client, const int *fds, const char *const *names, size_t count,
                     const csp_say_options *options)
{
    csp_speaker *speaker = NULL;
    csp_code rc = csp_speaker_new(client, options, &speaker);
    if (rc != CSP_OK)
        return rc;
    int pause = options->pause_ms == 0 ? 700 : options->pause_ms;
    /* files are held whole: a bad byte in the last one fails before any request */
    int whole_files = all_regular(fds, count);
    if (whole_files)
        csp__speaker_hold(speaker, 1); /* released after the last sentence is out */
    else
        csp__speaker_warm(speaker); /* a pipe may take its time: have the connection ready */
    char *block = csp__malloc(READ_BLOCK);
    if (!block)
        rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    for (size_t i = 0; rc == CSP_OK && i < count; i++) {
        if (i > 0 && (rc = csp__speaker_next_input(speaker)) != CSP_OK) {
            if (rc == CSP_EINPUT)
                name_input(client, names, i - 1);
            break;
        }
        if ((rc = read_input(client, speaker, fds[i], pause, block)) == CSP_EINPUT)
            name_input(client, names, i);
    }
    csp__free(block);
    if (rc == CSP_OK && whole_files)
        rc = csp_speaker_flush(speaker);
    if (whole_files)
        csp__speaker_hold(speaker, 0);
    if (rc != CSP_OK)
        csp__speaker_abort(speaker, rc); /* nothing half-written */
    csp_code finished = csp_speaker_finish(speaker);
    if (rc == CSP_OK && (rc = finished) == CSP_EINPUT)
        name_input(client, names, count - 1); /* the last one ends inside a character */
    if (rc == CSP_ECANCELED)
        csp__fail(&client->report, CSP_ECANCELED, "interrupted");
    csp_speaker_free(speaker);
    return rc;
}

csp_code csp_say_fd(csp_client *client, int fd, const csp_say_options *options)
{
    return csp_say_fds(client, &fd, NULL, 1, options);
}

/* --- lines ----------------------------------------------------------------- */

typedef struct line {
    char *text;
    size_t len, number;
    long long read_ms;
} line;

/*
 * Lines read but not yet spoken, for --max-behind: the reader never waits,
 * so old lines can be skipped. A fixed ring: when it is full the oldest
 * line goes (it would be skipped anyway).
 */
#define LINE_RING 4096

typedef struct line_reader {
    csp_client *client;
    csp_speaker *speaker;
    const csp_say_options *options;
    int fd;
    size_t number;    /* lines read so far */
    size_t skipped;   /* lines dropped for --max-behind, not yet reported */
    size_t batches;   /* pieces spoken so far (the first request is a short one) */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    line ring[LINE_RING];
    size_t head, count;
    int eof, stop;
    csp_code rc;
} line_reader;

/* A line fit to speak: valid UTF-8 without NUL; else a warning, and it is skipped. */
static int line_ok(line_reader *r, const char *text, size_t len, size_t number)
{
    size_t bad;
    if (csp__text_check(text, len, &bad) == 0)
        return 1;
    csp__log(&r->client->report, CSP_LOG_WARN, "line %zu: %s at byte %zu; line skipped", number,
             text[bad] == '\0' ? "a NUL byte" : "not valid UTF-8", bad + 1);
    return 0;
}

static csp_code speak_line(line_reader *r, const char *text, size_t len)
{
    /* one hold from the write to the flush: a chunk cut between them (a busy machine) made
       a batch of lines two requests, the last line queued behind the rest (--max-behind) */
    csp__speaker_hold(r->speaker, 1);
    csp_code rc = csp_speaker_write(r->speaker, text, len);
    if (rc == CSP_OK)
        rc = csp_speaker_flush(r->speaker);
    csp__speaker_hold(r->speaker, 0);
    return rc;
}

/* Split what was read into lines; hand each complete one to on_line. */
static csp_code read_lines(line_reader *r, csp_code (*on_line)(line_reader *, char *, size_t))
{
    csp_buf pending;
    csp__buf_init(&pending, 1 << 24);
    char *block = csp__malloc(READ_BLOCK);
    csp_code rc = block ? CSP_OK : csp__fail(&r->client->report, CSP_ENOMEM, "out of memory");
    while (rc == CSP_OK) {
        if (csp__canceled(&r->client->report) || r->stop) {
            rc = CSP_ECANCELED;
            break;
        }
        int ready = wait_readable(r->fd, 100);
        if (ready == 0)
            continue;
        ssize_t n = ready < 0 ? -1 : read(r->fd, block, READ_BLOCK);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        if (csp__buf_append(&pending, block, (size_t)n) < 0) {
            rc = csp__fail(&r->client->report, CSP_EINPUT, "line %zu is longer than 16 MiB", r->number + 1);
            break;
        }
        char *nl;
        while (rc == CSP_OK && (nl = memchr(pending.data, '\n', pending.len))) {
            size_t len = (size_t)(nl - pending.data);
            rc = on_line(r, pending.data, len);
            csp__buf_consume(&pending, len + 1);
        }
    }
    if (rc == CSP_OK && pending.len)
        rc = on_line(r, pending.data, pending.len);
    csp__free(block);
    csp__buf_free(&pending);
    return rc;
}

/* Without --max-behind: each line straight to the speaker, which waits when speech lags. */
static csp_code line_direct(line_reader *r, char *text, size_t len)
{
    r->number++;
    if (!line_ok(r, text, len, r->number) || csp__text_blank(text, len))
        return CSP_OK;
    return speak_line(r, text, len);
}

/* With --max-behind: the reader thread queues, the caller speaks what is recent enough. */
static csp_code line_queued(line_reader *r, char *text, size_t len)
{
    r->number++;
    if (!line_ok(r, text, len, r->number) || csp__text_blank(text, len))
        return CSP_OK;
    line l = {csp__strndup(text, len), len, r->number, csp__now_ms()};
    if (!l.text)
        return csp__fail(&r->client->report, CSP_ENOMEM, "out of memory");
    pthread_mutex_lock(&r->lock);
    if (r->count == LINE_RING) { /* full: the oldest line is the one to skip */
        csp__free(r->ring[r->head].text);
        r->head = (r->head + 1) % LINE_RING;
        r->count--;
        r->skipped++;
    }
    r->ring[(r->head + r->count) % LINE_RING] = l;
    r->count++;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return CSP_OK;
}

static void *reader_main(void *arg)
{
    line_reader *r = arg;
    csp_code rc = read_lines(r, line_queued);
    pthread_mutex_lock(&r->lock);
    r->eof = 1;
    if (rc != CSP_ECANCELED)
        r->rc = rc;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/*
 * --max-behind: wait until a request could start at once, then take the
 * lines read so far, skip those older than the limit, and speak the rest as
 * one piece, at most one request's worth: lines past that stay queued and
 * face the limit again when the next request can start. So no line, merged
 * or not, starts its request later than the limit (a merged batch longer
 * than a chunk used to queue its later chunks behind the first).
 */
static csp_code speak_recent_lines(line_reader *r)
{
    long long max_behind = (long long)(r->options->max_behind_s * 1000);
    csp_buf batch;
    csp__buf_init(&batch, 1 << 24);
    csp_code rc = CSP_OK;
    for (;;) {
        while (!csp__speaker_ready(r->speaker) && !csp__canceled(&r->client->report)) {
            struct timespec nap = {0, 10 * 1000000L};
            nanosleep(&nap, NULL);
        }
        pthread_mutex_lock(&r->lock);
        while (!r->count && !r->eof && !csp__canceled(&r->client->report)) {
            csp__cond_wait_ms(&r->changed, &r->lock, 100);
        }
        if (csp__canceled(&r->client->report) || (!r->count && r->eof)) {
            size_t skipped = r->skipped;
            pthread_mutex_unlock(&r->lock);
            if (skipped)
                csp__log(&r->client->report, CSP_LOG_WARN,
                         "skipped %zu line%s to keep up (--max-behind)", skipped,
                         skipped == 1 ? "" : "s");
            rc = csp__canceled(&r->client->report) ? CSP_ECANCELED : r->rc;
            break;
        }
        long long now = csp__now_ms();
        /* one request's worth: the pipeline's chunk size (the first chunk is short) */
        size_t budget = (size_t)r->client->settings.max_text_length, batch_chars = 0;
        size_t want = r->batches ? CSP_PREFERRED_CHUNK_CHARS : CSP_FIRST_CHUNK_CHARS;
        if (want < budget)
            budget = want;
        batch.len = 0;
        size_t first = 0, last = 0;
        long long oldest_ms = 0;
        for (; r->count; r->count--, r->head = (r->head + 1) % LINE_RING) {
            line *l = &r->ring[r->head];
            size_t chars = csp__utf8_count(l->text, l->len) + (batch.len > 0);
            if (now - l->read_ms > max_behind) {
                r->skipped++;
            } else if (batch.len && batch_chars + chars > budget) {
                break; /* the next request's (if it is still recent enough then) */
            } else if ((batch.len && csp__buf_append(&batch, "\n", 1) < 0) ||
                       csp__buf_append(&batch, l->text, l->len) < 0) {
                rc = csp__fail(&r->client->report, CSP_ENOMEM, "out of memory");
            } else {
                if (!batch_chars) {
                    first = l->number;
                    oldest_ms = now - l->read_ms;
                }
                last = l->number;
                batch_chars += chars;
            }
            csp__free(l->text);
        }
        if (batch.len)
            r->batches++;
        size_t skipped = batch.len ? r->skipped : 0;
        if (batch.len)
            r->skipped = 0;
        pthread_mutex_unlock(&r->lock);
        if (skipped)
            csp__log(&r->client->report, CSP_LOG_WARN, "skipped %zu line%s to keep up (--max-behind)",
                     skipped, skipped == 1 ? "" : "s");
        if (batch.len)
            csp__log(&r->client->report, CSP_LOG_INFO, "lines %zu-%zu, the first read %lld ms ago",
                     first, last, oldest_ms);
        if (rc == CSP_OK && batch.len)
            rc = speak_line(r, batch.data, batch.len);
        if (rc != CSP_OK)
            break;
    }
    csp__buf_free(&batch);
    return rc;
}

csp_code csp_say_lines(csp_client *client, int fd, const csp_say_options *options)
{
    line_reader r;
    memset(&r, 0, sizeof r);
    r.client = client;
    r.options = options;
    r.fd = fd;
    csp_code rc = csp_speaker_new(client, options, &r.speaker);
    if (rc != CSP_OK)
        return rc;
    csp__speaker_allow_empty(r.speaker); /* an empty log says nothing, and that is fine */
    csp__speaker_warm(r.speaker); /* the first line may be a long time coming */
    if (options->max_behind_s <= 0) {
        rc = read_lines(&r, line_direct);
    } else {
        pthread_t thread;
        pthread_mutex_init(&r.lock, NULL);
        pthread_cond_init(&r.changed, NULL);
        if (pthread_create(&thread, NULL, reader_main, &r) != 0) {
            rc = csp__fail(&client->report, CSP_ENOMEM, "cannot start the input thread");
        } else {
            rc = speak_recent_lines(&r);
            r.stop = 1;
            pthread_join(thread, NULL);
        }
        for (; r.count; r.count--, r.head = (r.head + 1) % LINE_RING)
            csp__free(r.ring[r.head].text);
        pthread_mutex_destroy(&r.lock);
        pthread_cond_destroy(&r.changed);
    }
    if (rc != CSP_OK)
        csp__speaker_abort(r.speaker, rc);
    csp_code finished = csp_speaker_finish(r.speaker);
    if (rc == CSP_OK)
        rc = finished;
    if (rc == CSP_ECANCELED)
        csp__fail(&client->report, CSP_ECANCELED, "interrupted");
    csp_speaker_free(r.speaker);
    return rc;
}
