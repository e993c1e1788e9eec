/* SPDX-License-Identifier: MIT */
/*
 * speaker.c: the streaming speaker. Threads: the producer calls write,
 * flush and finish from one thread; the pipeline's consumer (decode and
 * sink) runs on a thread the speaker starts, its requests on another.
 *
 * Text flow: bytes -> UTF-8 check (a sequence cut by a piece waits for the
 * rest) -> pending text -> sentence splitter -> whole sentences to the
 * pipeline's outbox, where waiting ones are merged into requests. Pending
 * text goes on without a sentence end when the producer flushes (a pause,
 * a blank line, the end) or when it reaches the request size limit.
 */
#include "speaker.h"

#include "alloc.h"
#include "client.h"
#include "normalize.h"
#include "pipeline.h"
#include "sentences.h"
#include "text.h"
#include "utf8.h"

#include <pthread.h>
#include <stdatomic.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>

struct csp_speaker {
    csp_client *client;
    csp_pipeline *pipeline;
    pthread_t consumer;
    int consumer_started;
    atomic_int consumer_done;
    csp_code consumer_rc;
    csp_sentences *splitter;
    csp_buf pending;         /* text not yet known to be a whole sentence */
    char carry[4];           /* the start of a UTF-8 sequence cut by the last piece */
    size_t carry_len;
    size_t offset;           /* bytes accepted so far, for error messages */
    csp_voice_params params; /* the voice for what is written from now on */
    size_t queued;           /* sentences handed to the pipeline */
    csp_normalizer *markdown; /* say --markdown: text is stripped on its way in */
    int markdown_failed;
    int allow_empty;
    int saw_text;            /* something besides whitespace came, if only punctuation */
    int script_decides;      /* no voice or locale chose the language: the first letter does */
    csp_code rc;             /* sticky: the first failure */
};

/*
 * What goes beyond whole sentences: nothing; a sentence the splitter would
 * end here (the producer is idle); what is pending after a pause, unless it
 * ends mid-word (a second pause sends it whole); everything (a flush, the end).
 */
typedef enum {
    RELEASE_SENTENCES,
    RELEASE_IF_COMPLETE,
    RELEASE_PAUSE,
    RELEASE_ALL
} release_mode;

static void *consumer_main(void *arg)
{
    csp_speaker *s = arg;
    s->consumer_rc = csp__pipeline_run(s->pipeline);
    atomic_store(&s->consumer_done, 1);
    return NULL;
}

/*
 * The splitter's language: the voice's, else the locale's (LANG, as
 * setlocale would); NULL when neither says, and the text's script decides.
 */
static const char *splitter_language(const csp_settings *settings, char *buf, size_t size)
{
    const char *language = csp__voice_language(settings->voice);
    if (language)
        return language;
    const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            size_t n = strcspn(v, "._@");
            if (n >= size || !strncmp(v, "C", n) || !strncmp(v, "POSIX", n))
                break;
            memcpy(buf, v, n);
            buf[n] = '\0';
            return buf;
        }
    }
    return NULL;
}

static void markdown_speak(void *userdata, const char *text, size_t len)
{
    csp_speaker *s = userdata;
    if (csp__buf_append(&s->pending, text, len) < 0)
        s->markdown_failed = 1;
}

static void markdown_show(void *userdata, const char *text, size_t len)
{
    (void)userdata, (void)text, (void)len; /* say prints nothing */
}

csp_code csp_speaker_new(csp_client *client, const csp_say_options *options, csp_speaker **out)
{
    *out = NULL;
    csp_code rc = csp__choose_provider(client);
    if (rc != CSP_OK)
        return rc;
    csp_speaker *s = csp__calloc(1, sizeof *s);
    if (!s)
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    s->client = client;
    csp__buf_init(&s->pending, SIZE_MAX / 2); /* bounded by the request size: see release */
    char language[32];
    const char *chosen = splitter_language(&client->settings, language, sizeof language);
    s->script_decides = chosen == NULL;
    if (!(s->splitter = csp__sentences_new(chosen ? chosen : "en"))) {
        csp_speaker_free(s);
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    }
    if (options->markdown) {
        static const csp_normalizer_ops ops = {markdown_show, markdown_speak, NULL};
        if (!(s->markdown = csp__calloc(1, sizeof *s->markdown))) {
            csp_speaker_free(s);
            return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
        }
        csp__normalizer_init(s->markdown, &ops, s);
        s->markdown->code_note = "Code block skipped.";
        s->markdown->read_code = options->read_code;
    }
    if ((rc = csp__pipeline_new(client, options, &s->pipeline)) != CSP_OK) {
        csp_speaker_free(s);
        return rc;
    }
    /* a producer faster than speech waits: twice the requests in flight, of the long size */
    int jobs = options->jobs > 0 ? options->jobs : 3;
    csp__pipeline_limit_waiting(s->pipeline, (size_t)jobs * 2 * CSP_PREFERRED_CHUNK_CHARS * 4);
    if (pthread_create(&s->consumer, NULL, consumer_main, s) != 0) {
        csp_speaker_free(s);
        return csp__fail(&client->report, CSP_ENOMEM, "cannot start the audio thread");
    }
    s->consumer_started = 1;
    *out = s;
    return CSP_OK;
}

static csp_code fail(csp_speaker *s, csp_code code)
{
    if (s->rc == CSP_OK)
        s->rc = code;
    return s->rc;
}

static int has_letter_or_digit(const char *text, size_t len)
{
    size_t n;
    for (size_t i = 0; i < len; i += n) {
        uint32_t cp = 0;
        n = csp__utf8_decode((const unsigned char *)text + i, len - i, &cp);
        if (!n)
            n = 1;
        else if (u_isalnum((UChar32)cp) || u_charType((UChar32)cp) == U_OTHER_SYMBOL)
            return 1; /* letters, digits, and emoji and other symbols a voice names ("thumbs up") */
    }
    return 0;
}

/*
 * One sentence (or flushed text) to the pipeline. Text with no letter or
 * digit (an ellipsis, a quote mark) is never a request: release keeps it
 * pending, so it joins its neighbour with its own spacing; at the very end
 * it says nothing and is dropped here.
 */
static csp_code emit_piece(csp_speaker *s, const char *text, size_t len, csp_piece_end how)
{
    size_t start = 0, end = len;
    csp__text_trim(text, &start, &end);
    text += start;
    len = end - start;
    if (len && !csp__text_blank(text, len))
        s->saw_text = 1;
    if (len == 0 || !has_letter_or_digit(text, len))
        return CSP_OK;
    csp_code rc = csp__pipeline_add(s->pipeline, text, len, &s->params, how);
    if (rc != CSP_OK)
        return fail(s, rc);
    s->queued++;
    return CSP_OK;
}

static csp_code emit(csp_speaker *s, const char *text, size_t len)
{
    return emit_piece(s, text, len, CSP_PIECE_WHOLE);
}

/*
 * Text cut off in the middle of a word or number ("The quick bro", "3."):
 * a pause there is more likely a slow producer than the end of a thought.
 */
static int ends_mid_word(const char *text, size_t len)
{
    if (len == 0)
        return 0;
    unsigned char last = (unsigned char)text[len - 1];
    if (last >= 0x80) {
        size_t i = len - 1;
        while (i > 0 && ((unsigned char)text[i] & 0xC0) == 0x80)
            i--;
        uint32_t cp = 0;
        return csp__utf8_decode((const unsigned char *)text + i, len - i, &cp) &&
               u_isalnum((UChar32)cp) && !u_hasBinaryProperty((UChar32)cp, UCHAR_IDEOGRAPHIC);
    }
    if (isalnum(last))
        return 1;
    return (last == '.' || last == ',') && len >= 2 && isdigit((unsigned char)text[len - 2]);
}

/* A blank line ends a paragraph: what came before it goes now. */
static int ends_paragraph(const char *text, size_t len)
{
    int newlines = 0;
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                       text[len - 1] == '\n'))
        newlines += text[--len] == '\n';
    return newlines >= 2;
}

static csp_code release(csp_speaker *s, release_mode mode)
{
    size_t breaks[64];
    int found;
    do {
        found = csp__sentence_breaks(s->splitter, s->pending.data ? s->pending.data : "",
                                     s->pending.len, breaks, 64);
        if (found < 0)
            return fail(s, csp__fail(&s->client->report, CSP_ENOMEM, "out of memory"));
        size_t from = 0;
        for (int i = 0; i < found; i++) {
            csp_code rc = emit(s, s->pending.data + from, breaks[i] - from);
            if (rc != CSP_OK)
                return rc;
            from = breaks[i];
        }
        csp__buf_consume(&s->pending, from);
    } while (found == 64);
    const char *text = s->pending.data;
    size_t len = s->pending.len;
    int speakable = len && has_letter_or_digit(text, len);
    if (len && !speakable && !s->saw_text && !csp__text_blank(text, len))
        s->saw_text = 1; /* only punctuation so far: "nothing to say" says so */
    if (speakable &&
        (mode == RELEASE_ALL || ends_paragraph(text, len) ||
         (mode == RELEASE_PAUSE && !ends_mid_word(text, len)) ||
         (mode == RELEASE_IF_COMPLETE && csp__sentence_complete(s->splitter, text, len)))) {
        csp_code rc = emit(s, text, len);
        s->pending.len = 0;
        return rc;
    }
    /* longer than a request (the first one is short: sound starts soon even with no
       sentence end in sight): send its first part, cut at a clause or a word */
    size_t max = (size_t)s->client->settings.max_text_length;
    size_t want = s->queued ? CSP_PREFERRED_CHUNK_CHARS : CSP_FIRST_CHUNK_CHARS;
    size_t limit = max < want ? max : want;
    while (s->pending.len && csp__utf8_count(s->pending.data, s->pending.len) > limit) {
        size_t start, end;
        size_t next = csp__text_next_chunk(s->pending.data, s->pending.len, 0, limit, &start, &end);
        const char *after = s->pending.data + end; /* what the cut left out: a space, or not */
        int at_space = end < s->pending.len && (*after == ' ' || *after == '\n' || *after == '\t' ||
                                                *after == '\r');
        csp_code rc = emit_piece(s, s->pending.data + start, end - start,
                                 at_space ? CSP_PIECE_AT_SPACE : CSP_PIECE_MID_WORD);
        if (rc != CSP_OK)
            return rc;
        csp__buf_consume(&s->pending, next);
    }
    return CSP_OK;
}

/* How many bytes at the end of data begin a UTF-8 sequence that the next piece completes. */
static size_t incomplete_tail(const char *data, size_t len)
{
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)data[len - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back for the lead */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

static csp_code stopped(csp_speaker *s)
{
    if (s->rc != CSP_OK)
        return s->rc;
    if (atomic_load(&s->consumer_done))
        return s->consumer_rc != CSP_OK ? s->consumer_rc : CSP_ECANCELED;
    return csp__canceled(&s->client->report) ? CSP_ECANCELED : CSP_OK;
}

static csp_code write_text(csp_speaker *s, const char *text, size_t len);

/* Write under a hold (and, for the whole text at once, flush inside the same hold). */
static csp_code write_held(csp_speaker *s, const char *text, size_t len, int flush_after)
{
    csp_code rc = stopped(s);
    if (rc != CSP_OK)
        return rc;
    csp__pipeline_producing(s->pipeline, 1);
    rc = write_text(s, text, len);
    if (rc == CSP_OK && flush_after)
        rc = release(s, RELEASE_ALL);
    csp__pipeline_producing(s->pipeline, 0);
    return rc;
}

csp_code csp_speaker_write(csp_speaker *s, const char *text, size_t len)
{
    return write_held(s, text, len, 0);
}

static csp_code write_text(csp_speaker *s, const char *text, size_t len)
{
    csp_code rc = CSP_OK;
    /* a byte order mark opening an input (Windows editors write one) is not text to speak */
    if (s->offset == 0 && s->carry_len == 0 && len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        text += 3;
        len -= 3;
        s->offset = 3;
    }
    while (len > 0) {
        /* the carried bytes and the piece, checked together */
        char block[4096];
        size_t take = len < sizeof block - s->carry_len ? len : sizeof block - s->carry_len;
        memcpy(block, s->carry, s->carry_len);
        memcpy(block + s->carry_len, text, take);
        size_t n = s->carry_len + take;
        size_t tail = incomplete_tail(block, n);
        size_t bad;
        const char *by_script;
        if (s->script_decides && (by_script = csp__script_language(block, n - tail))) {
            csp_sentences *splitter = csp__sentences_new(by_script);
            if (!splitter)
                return fail(s, csp__fail(&s->client->report, CSP_ENOMEM, "out of memory"));
            csp__sentences_free(s->splitter);
            s->splitter = splitter;
            s->script_decides = 0;
        }
        if (csp__text_check(block, n - tail, &bad) < 0) {
            /* the usual cause is another encoding: say how to convert it */
            csp__fail(&s->client->report, CSP_EINPUT,
                      "the input is not valid UTF-8 text: %s at byte offset %zu; %s",
                      block[bad] == '\0' ? "NUL byte" : "invalid byte",
                      s->offset + bad - s->carry_len,
                      block[bad] == '\0'
                          ? "if it is UTF-16 without a byte order mark, convert it first: "
                            "iconv -f UTF-16LE -t UTF-8"
                          : "if it is in another encoding, convert it first: iconv -f LATIN1 "
                            "-t UTF-8 (or the encoding it is in)");
            return fail(s, CSP_EINPUT);
        }
        int nomem = s->markdown ? csp__normalizer_feed(s->markdown, block, n - tail) < 0 ||
                                      s->markdown_failed
                                : csp__buf_append(&s->pending, block, n - tail) < 0;
        if (nomem)
            return fail(s, csp__fail(&s->client->report, CSP_ENOMEM, "out of memory"));
        s->offset += take;
        memcpy(s->carry, block + n - tail, tail);
        s->carry_len = tail;
        text += take;
        len -= take;
        if ((rc = release(s, RELEASE_SENTENCES)) != CSP_OK)
            return rc;
    }
    return CSP_OK;
}

/* Release under a hold, so what is cut does not depend on the network thread's timing. */
static csp_code release_held(csp_speaker *s, release_mode mode)
{
    csp_code rc = stopped(s);
    if (rc != CSP_OK)
        return rc;
    csp__pipeline_producing(s->pipeline, 1);
    rc = release(s, mode);
    csp__pipeline_producing(s->pipeline, 0);
    return rc;
}

csp_code csp_speaker_flush(csp_speaker *s) { return release_held(s, RELEASE_ALL); }

csp_code csp_speaker_mark(csp_speaker *s, const char *name)
{
    /* the text before the mark goes now, whole sentence or not: the mark ends its chunk */
    csp_code rc = release_held(s, RELEASE_ALL);
    if (rc == CSP_OK && (rc = csp__pipeline_add_mark(s->pipeline, name ? name : "")) != CSP_OK)
        fail(s, rc);
    return rc;
}

void csp__speaker_hold(csp_speaker *s, int hold) { csp__pipeline_producing(s->pipeline, hold); }

csp_code csp__speaker_write_all(csp_speaker *s, const char *text, size_t len)
{
    /* one hold from the first sentence to the last: the same text, the same requests */
    return write_held(s, text, len, 1);
}

csp_code csp__speaker_pause(csp_speaker *s) { return release_held(s, RELEASE_PAUSE); }

csp_code csp__speaker_idle(csp_speaker *s) { return release_held(s, RELEASE_IF_COMPLETE); }

csp_code csp__speaker_set_params(csp_speaker *s, const csp_voice_params *params)
{
    char *voice = params->voice ? csp__strdup(params->voice) : NULL;
    char *model = params->model ? csp__strdup(params->model) : NULL;
    if ((params->voice && !voice) || (params->model && !model)) {
        csp__free(voice);
        csp__free(model);
        return fail(s, csp__fail(&s->client->report, CSP_ENOMEM, "out of memory"));
    }
    csp__free(s->params.voice);
    csp__free(s->params.model);
    s->params.voice = voice;
    s->params.model = model;
    s->params.speed = params->speed;
    s->params.has_speed = params->has_speed;
    s->params.provider = params->provider;
    return CSP_OK;
}

void csp__speaker_allow_empty(csp_speaker *s) { s->allow_empty = 1; }

void csp__speaker_warm(csp_speaker *s) { csp__pipeline_warm(s->pipeline); }

int csp__speaker_ready(csp_speaker *s) { return csp__pipeline_ready(s->pipeline); }


static csp_code join_consumer(csp_speaker *s)
{
    if (s->consumer_started) {
        pthread_join(s->consumer, NULL);
        s->consumer_started = 0;
    }
    return s->consumer_rc;
}

/* An input is over: it must not stop inside a UTF-8 character. */
static csp_code input_ended(csp_speaker *s)
{
    csp_code rc = stopped(s);
    if (rc != CSP_OK || !s->carry_len)
        return rc;
    csp__fail(&s->client->report, CSP_EINPUT,
              "the input is not valid UTF-8 text: it ends inside a character at byte offset %zu",
              s->offset - s->carry_len);
    return fail(s, CSP_EINPUT);
}

csp_code csp__speaker_next_input(csp_speaker *s)
{
    csp_code rc = input_ended(s);
    if (rc == CSP_OK && (rc = csp_speaker_write(s, "\n\n", 2)) == CSP_OK)
        s->offset = 0; /* offsets in errors count from the start of each input */
    return rc;
}

csp_code csp_speaker_finish(csp_speaker *s)
{
    csp_code rc = input_ended(s);
    if (rc == CSP_OK && s->markdown &&
        (csp__normalizer_finish(s->markdown) < 0 || s->markdown_failed))
        rc = fail(s, csp__fail(&s->client->report, CSP_ENOMEM, "out of memory"));
    if (rc == CSP_OK)
        rc = release(s, RELEASE_ALL);
    if (rc != CSP_OK && rc != CSP_ECANCELED)
        csp__pipeline_abort(s->pipeline, rc); /* bad input: no half-written file */
    csp__pipeline_close(s->pipeline);
    csp_code spoken = join_consumer(s);
    if (rc == CSP_OK)
        rc = spoken;
    if (rc == CSP_OK && !s->queued && !s->allow_empty)
        rc = csp__fail(&s->client->report, CSP_EINPUT,
                       s->saw_text ? "nothing to say: the input has no letters, digits or symbols, "
                                     "only punctuation"
                                   : "nothing to say: the input is empty, or only whitespace and "
                                     "invisible characters");
    return fail(s, rc);
}

void csp__speaker_abort(csp_speaker *s, csp_code code)
{
    if (s && s->pipeline)
        csp__pipeline_abort(s->pipeline, code);
}

void csp_speaker_cancel(csp_speaker *s) { csp__speaker_abort(s, CSP_ECANCELED); }

void csp_speaker_free(csp_speaker *s)
{
    if (!s)
        return;
    if (s->consumer_started) {
        csp__pipeline_abort(s->pipeline, s->rc != CSP_OK ? s->rc : CSP_ECANCELED);
        csp__pipeline_close(s->pipeline);
        join_consumer(s);
    }
    csp__pipeline_free(s->pipeline);
    csp__sentences_free(s->splitter);
    if (s->markdown)
        csp__normalizer_free(s->markdown);
    csp__free(s->markdown);
    csp__buf_free(&s->pending);
    csp__free(s->params.voice);
    csp__free(s->params.model);
    csp__free(s);
}
