/* SPDX-License-Identifier: MIT */
/*
 * transcribe.c: csp_transcribe_fds and csp__transcribe_pcm. Inputs go
 * through the tools.media entries in config order. An OpenRouter entry
 * gets the audio as 16 kHz mono FLAC pieces (audio_pieces.c), base64 in a
 * JSON body, with up to `jobs` requests in flight over all inputs; the
 * pieces' texts are joined in order and each input's transcript is
 * delivered in input order. A CLI entry runs a command on a WAV copy. An
 * input whose entry fails (after retries) goes on to the next entry.
 */
#define _GNU_SOURCE /* pipe2, O_TMPFILE */
#include "transcribe.h"

#include "alloc.h"
#include "atomic_file.h"
#include "audio_pieces.h"
#include "cleanup.h"
#include "client.h"
#include "clock.h"
#include "http.h"
#include "command.h"
#include "redact.h"
#include "speech.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX (4u << 20) /* one piece's JSON answer */
#define MAX_ATTEMPTS 3
#define SPOOL_MAX ((off_t)16 << 30) /* standard input kept on disk: 16 GiB at most */

enum { F_NEW, F_READING, F_SENT, F_CLI, F_DONE, F_FAILED };

typedef struct stt_file {
    csp_audio_source source;
    const char *name;
    int state;
    size_t entry;
    unsigned generation; /* answers of an abandoned attempt are dropped */
    csp_pieces *pieces;
    size_t produced, answered;
    char **texts;
    size_t texts_cap;
    double seconds, cost, billed;
    int has_cost, has_billed, cut;
    char *cli_text;
    csp_code rc;
    char error[1000];
} stt_file;

struct stt_run;
typedef struct stt_slot {
    struct stt_run *run;
    stt_file *file;
    unsigned generation;
    size_t piece;
    int attempt, busy, too_big;
    long long retry_at; /* 0: no retry waits */
    char *body;
    size_t body_len;
    long status;
    csp_buf answer;
} stt_slot;

typedef struct stt_run {
    csp_client *client;
    const csp_settings *s;
    const csp_transcribe_options *options;
    csp_secrets secrets;
    stt_file *files;
    size_t count, head;
    stt_slot *slots;
    int jobs, active;
    csp_http *http;
    csp_buf flac;
    char *url;
    unsigned char usable[64];
} stt_run;

/* --- entries ------------------------------------------------------------- */

static const csp_stt_entry *entry_of(const stt_run *run, const stt_file *f)
{
    return &run->s->stt_entries[f->entry];
}

/* The first entry at or after from that can run (an OpenRouter entry needs a key). */
static size_t next_entry(const stt_run *run, size_t from)
{
    while (from < run->s->stt_entry_count && !run->usable[from])
        from++;
    return from;
}

static void entry_label(const csp_stt_entry *e, char *out, size_t size)
{
    snprintf(out, size, "%s%s", e->is_cli ? "cli:" : "openrouter:", e->is_cli ? e->command : e->model);
}

static void reset_file(stt_file *f)
{
    f->generation++;
    csp__pieces_free(f->pieces);
    f->pieces = NULL;
    for (size_t i = 0; i < f->produced; i++)
        csp__free(f->texts[i]);
    f->produced = f->answered = 0;
    f->seconds = f->cost = f->billed = 0;
    f->has_cost = f->has_billed = f->cut = 0;
    csp__free(f->cli_text);
    f->cli_text = NULL;
}

static void start_entry(stt_run *run, stt_file *f)
{
    f->state = entry_of(run, f)->is_cli ? F_CLI : F_NEW;
}

/* This input's entry failed: the next entry takes it, or the input fails for good. */
static void fail_file(stt_run *run, stt_file *f, csp_code code, const char *why)
{
    char label[300];
    entry_label(entry_of(run, f), label, sizeof label);
    reset_file(f);
    int final = code == CSP_ECANCELED || code == CSP_ENOMEM || code == CSP_EINPUT;
    size_t next = final ? run->s->stt_entry_count : next_entry(run, f->entry + 1);
    if (next < run->s->stt_entry_count) {
        char other[300];
        entry_label(&run->s->stt_entries[next], other, sizeof other);
        csp__log(&run->client->report, CSP_LOG_ERROR, "%s: %s failed (%s); trying %s", f->name,
                 label, why, other);
        f->entry = next;
        start_entry(run, f);
        return;
    }
    f->state = F_FAILED;
    f->rc = code;
    snprintf(f->error, sizeof f->error, "%s: %s", f->name, why);
}

/* --- requests ------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* {"model":..., "input_audio": {"data": base64, "format": "flac"}} */
static char *request_body(const char *model, const csp_buf *flac, size_t *len)
{
    cJSON *m = cJSON_CreateString(model);
    char *quoted = m ? cJSON_PrintUnformatted(m) : NULL;
    cJSON_Delete(m);
    if (!quoted)
        return NULL;
    size_t encoded = (flac->len + 2) / 3 * 4;
    csp_buf body;
    csp__buf_init(&body, encoded + strlen(quoted) + 128);
    int ok = csp__buf_appendf(&body, "{\"model\":%s,\"input_audio\":{\"data\":\"", quoted) == 0;
    const unsigned char *in = (const unsigned char *)flac->data;
    char out[4096];
    size_t used = 0;
    for (size_t i = 0; ok && i < flac->len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < flac->len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < flac->len)
            v |= in[i + 2];
        out[used++] = b64[(v >> 18) & 63];
        out[used++] = b64[(v >> 12) & 63];
        out[used++] = i + 1 < flac->len ? b64[(v >> 6) & 63] : '=';
        out[used++] = i + 2 < flac->len ? b64[v & 63] : '=';
        if (used == sizeof out) {
            ok = csp__buf_append(&body, out, used) == 0;
            used = 0;
        }
    }
    ok = ok && csp__buf_append(&body, out, used) == 0 &&
         csp__buf_appendf(&body, "\",\"format\":\"flac\"}}") == 0;
    cJSON_free(quoted);
    if (!ok) {
        csp__buf_free(&body);
        return NULL;
    }
    *len = body.len;
    return csp__buf_steal(&body);
}

static int on_response(void *userdata, long status, const char *content_type)
{
    (void)content_type;
    ((stt_slot *)userdata)->status = status;
    return 0;
}

static int on_data(void *userdata, const char *data, size_t len)
{
    stt_slot *slot = userdata;
    if (csp__buf_append(&slot->answer, data, len) < 0) {
        slot->too_big = 1;
        return 1;
    }
    return 0;
}

static void free_slot(stt_slot *slot)
{
    csp__free(slot->body);
    slot->body = NULL;
    slot->file = NULL;
    slot->retry_at = 0;
    csp__buf_free(&slot->answer);
}

static void on_done(void *userdata, const csp_http_result *result);

static int start_slot(stt_run *run, stt_slot *slot)
{
    const csp_settings *s = run->s;
    slot->busy = 1;
    slot->status = 0;
    slot->too_big = 0;
    slot->retry_at = 0;
    csp__buf_free(&slot->answer);
    csp__buf_init(&slot->answer, ANSWER_MAX);
    csp_http_request req = {.method = "POST", .url = run->url, .bearer = s->chat_api_key,
                            .body = slot->body, .body_len = slot->body_len, .body_borrowed = 1,
                            .attribution = s->chat_base_is_openrouter, .accept = "application/json",
                            .timeout_ms = s->timeout_ms, .on_response = on_response,
                            .on_data = on_data, .userdata = slot};
    req.on_done = on_done;
    if (csp__http_start(run->http, &req) < 0) {
        slot->busy = 0;
        return -1;
    }
    run->active++;
    csp__log(&run->client->report, CSP_LOG_DEBUG, "%s: piece %zu sent (%zu bytes, attempt %d)",
             slot->file->name, slot->piece + 1, slot->body_len, slot->attempt);
    return 0;
}

static void check_complete(stt_file *f)
{
    if (f->state == F_SENT && f->answered == f->produced)
        f->state = F_DONE;
}

/*
 * cJSON keeps strings NUL-terminated, so a "\u0000" in a transcript would end it there and
 * the rest would vanish without a word. Each such escape becomes "\u003f", a '?' as every
 * other control character is shown (the same length, in place), and is counted; a raw NUL
 * byte is no JSON at all. Returns -1 on a raw NUL.
 */
static int replace_nul_escapes(char *json, size_t len, size_t *count)
{
    int in_string = 0;
    *count = 0;
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '\0')
            return -1;
        if (json[i] == '"') {
            in_string = !in_string;
        } else if (in_string && json[i] == '\\' && i + 1 < len) {
            if (json[i + 1] == 'u' && i + 5 < len && !memcmp(json + i + 2, "0000", 4)) {
                memcpy(json + i + 2, "003f", 4);
                (*count)++;
            }
            i++; /* the escaped character (the rest of a \uXXXX is plain hex) */
        }
    }
    return 0;
}

/* A 200 answer: {"text": ..., "usage": {"cost": ..., "seconds": ...}}. */
static int read_answer(stt_slot *slot, char *why, size_t size)
{
    stt_file *f = slot->file;
    size_t nuls = 0;
    if (slot->answer.len && replace_nul_escapes(slot->answer.data, slot->answer.len, &nuls) < 0) {
        snprintf(why, size, "the answer from %s is not JSON (it holds a NUL byte)", slot->run->url);
        return -1;
    }
    if (nuls)
        csp__log(&slot->run->client->report, CSP_LOG_WARN, "%s: piece %zu: the transcript held "
                 "%zu NUL character%s, shown as '?'", f->name, slot->piece + 1, nuls,
                 nuls == 1 ? "" : "s");
    cJSON *root = cJSON_ParseWithLength(slot->answer.data ? slot->answer.data : "", slot->answer.len);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!cJSON_IsString(text)) {
        snprintf(why, size, "the answer from %s holds no transcript (no \"text\")", slot->run->url);
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(usage, "cost");
    const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(usage, "seconds");
    if (cJSON_IsNumber(cost)) {
        f->cost += cost->valuedouble;
        f->has_cost = 1;
    }
    if (cJSON_IsNumber(seconds)) {
        f->billed += seconds->valuedouble;
        f->has_billed = 1;
    }
    f->texts[slot->piece] = csp__strdup(text->valuestring);
    cJSON_Delete(root);
    if (!f->texts[slot->piece]) {
        snprintf(why, size, "out of memory");
        return -2;
    }
    return 0;
}

/* One request ended: keep its text, retry it, or hand the input to the next entry. */
static void on_done(void *userdata, const csp_http_result *result)
{
    stt_slot *slot = userdata;
    stt_run *run = slot->run;
    stt_file *f = slot->file;
    slot->busy = 0;
    run->active--;
    if (slot->generation != f->generation) { /* this input moved on to another entry */
        free_slot(slot);
        return;
    }
    char why[900] = "";
    csp_code code = CSP_OK;
    int retry = 0;
    if (result->outcome == CSP_HTTP_DONE && slot->status == 200) {
        int rc = read_answer(slot, why, sizeof why);
        code = rc == 0 ? CSP_OK : rc == -2 ? CSP_ENOMEM : CSP_EAPI;
    } else if (result->outcome == CSP_HTTP_DONE) {
        char text[300];
        csp__api_error_text(run->s, slot->answer.data, slot->answer.len, text, sizeof text);
        snprintf(why, sizeof why, "HTTP %ld from %s: %s", slot->status, result->url,
                 text[0] ? text : "(no message)");
        code = csp__status_code(slot->status);
        retry = csp__status_retryable(slot->status);
    } else if (slot->too_big) {
        snprintf(why, sizeof why, "the answer from %s is over %u MiB", result->url, ANSWER_MAX >> 20);
        code = CSP_EAPI;
    } else if (result->outcome == CSP_HTTP_ABORTED) {
        snprintf(why, sizeof why, "interrupted");
        code = CSP_ECANCELED;
    } else {
        snprintf(why, sizeof why, "%s", result->detail);
        code = csp__http_outcome_code(result->outcome);
        retry = result->outcome != CSP_HTTP_FATAL && result->outcome != CSP_HTTP_NOMEM;
    }
    if (code == CSP_OK) {
        f->answered++;
        free_slot(slot);
        check_complete(f);
        return;
    }
    if (retry && slot->attempt < MAX_ATTEMPTS && !csp__canceled(&run->client->report)) {
        long long wait = 500LL << (slot->attempt - 1);
        if (result->retry_after_s >= 0 && result->retry_after_s <= 20)
            wait = result->retry_after_s * 1000LL;
        csp__log(&run->client->report, CSP_LOG_INFO, "%s: piece %zu: %s; again in %lld ms", f->name,
                 slot->piece + 1, why, wait);
        slot->attempt++;
        slot->retry_at = csp__now_ms() + (wait > 0 ? wait : 1);
        return;
    }
    free_slot(slot);
    fail_file(run, f, code, why);
}

/* Give the next piece of the first input still being read to a free slot. 1: started one. */
static int produce(stt_run *run, stt_slot *slot)
{
    const csp_settings *s = run->s;
    for (size_t i = run->head; i < run->count; i++) {
        stt_file *f = &run->files[i];
        if (f->state != F_NEW && f->state != F_READING)
            continue;
        char why[600];
        if (f->state == F_NEW) {
            size_t max_frames = (size_t)s->stt_piece_seconds * CSP_STT_RATE;
            size_t by_bytes = (size_t)(s->stt_max_bytes / 2); /* 16-bit samples: FLAC is never larger */
            if (by_bytes < max_frames)
                max_frames = by_bytes;
            if (!(f->pieces = csp__pieces_new(&f->source, max_frames, (size_t)s->stt_max_bytes,
                                              why, sizeof why))) {
                fail_file(run, f, CSP_EINPUT, why);
                return 1;
            }
            f->state = F_READING;
        }
        double start, seconds;
        int silent;
        run->flac.len = 0;
        int rc = csp__pieces_next(f->pieces, &run->flac, &start, &seconds, &silent, why, sizeof why);
        if (rc < 0) {
            char message[700];
            snprintf(message, sizeof message, "cannot read the audio: %s", why);
            fail_file(run, f, CSP_EINPUT, message);
            return 1;
        }
        if (rc > 0) {
            f->seconds = csp__pieces_seconds(f->pieces);
            csp__pieces_free(f->pieces);
            f->pieces = NULL;
            f->state = F_SENT;
            check_complete(f);
            return 1;
        }
        if (f->produced == f->texts_cap) {
            size_t cap = f->texts_cap ? f->texts_cap * 2 : 8;
            char **grown = csp__realloc(f->texts, cap * sizeof *grown);
            if (!grown) {
                fail_file(run, f, CSP_ENOMEM, "out of memory");
                return 1;
            }
            f->texts = grown;
            f->texts_cap = cap;
        }
        size_t piece = f->produced++;
        f->texts[piece] = NULL;
        if (silent) { /* nothing to hear: a recogniser would only make words up */
            csp__log(&run->client->report, CSP_LOG_DEBUG, "%s: piece %zu (%.1f s at %.1f s) is "
                     "silent: not sent", f->name, piece + 1, seconds, start);
            if (!(f->texts[piece] = csp__strdup("")))
                fail_file(run, f, CSP_ENOMEM, "out of memory");
            else
                f->answered++;
            return 1;
        }
        csp__log(&run->client->report, CSP_LOG_INFO, "%s: piece %zu: %.1f s from %.1f s, %zu bytes "
                 "of FLAC", f->name, piece + 1, seconds, start, run->flac.len);
        slot->run = run;
        slot->file = f;
        slot->generation = f->generation;
        slot->piece = piece;
        slot->attempt = 1;
        slot->body = request_body(entry_of(run, f)->model, &run->flac, &slot->body_len);
        if (!slot->body || start_slot(run, slot) < 0) {
            free_slot(slot);
            fail_file(run, f, CSP_ENOMEM, "out of memory");
        }
        return 1;
    }
    return 0;
}

/* --- CLI entries ----------------------------------------------------------- */

/* OpenClaw's placeholders for a CLI entry (and their deprecated Media* aliases). */
static char *expand_media(const char *arg, const csp_stt_entry *e, const char *wav, const char *dir,
                          const char *out_dir, const char *out_base)
{
    static const char *const names[] = {
        "AttachmentPath", "MediaPath", "AttachmentUrl", "MediaUrl", "AttachmentContentType",
        "MediaType", "AttachmentDir", "MediaDir", "AttachmentIndex", "Prompt", "MaxChars",
        "Language", "OutputDir", "OutputBase"};
    const char *const values[] = {wav, wav, wav, wav, "audio/wav", "audio/wav", dir, dir, "0",
                                  e->prompt ? e->prompt : "Transcribe the audio.",
                                  e->max_chars ? e->max_chars : "", e->language ? e->language : "",
                                  out_dir, out_base};
    return csp__expand_template(arg, names, values, sizeof names / sizeof names[0], 1 << 16);
}

/* Read the command's stdout until it has finished, the cap, the timeout or a cancel. */
static csp_code read_output(stt_run *run, stt_file *f, csp_command *cmd, long timeout_s,
                            csp_buf *out, char *why, size_t size)
{
    long long deadline = csp__now_ms() + timeout_s * 1000LL;
    char block[65536];
    while (!csp__command_finished(cmd)) {
        if (csp__canceled(&run->client->report)) {
            snprintf(why, size, "interrupted");
            return CSP_ECANCELED;
        }
        if (csp__now_ms() > deadline) {
            snprintf(why, size, "no transcript after %ld s (timeoutSeconds)", timeout_s);
            return CSP_ELOCAL;
        }
        struct pollfd p[2] = {{cmd->out_fd, POLLIN, 0}, {cmd->err_fd, POLLIN, 0}};
        poll(p, 2, 20); /* the direct child's exit shows on no descriptor: look again soon */
        csp__command_read_errors(cmd);
        if (cmd->out_fd < 0)
            continue;
        ssize_t got = read(cmd->out_fd, block, sizeof block);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) {
            close(cmd->out_fd);
            cmd->out_fd = -1;
            continue;
        }
        csp__command_saw_output(cmd);
        size_t room = out->max - 1 - out->len;
        if ((size_t)got > room) { /* the cap: keep what fits, stop the command */
            csp__buf_append(out, block, room);
            f->cut = 1;
            return CSP_OK;
        }
        if (csp__buf_append(out, block, (size_t)got) < 0) {
            snprintf(why, size, "out of memory");
            return CSP_ENOMEM;
        }
    }
    if (!csp__command_succeeded(cmd)) {
        char how[300];
        csp__command_failure(cmd, how, sizeof how);
        snprintf(why, size, "'%s' failed (%s)", entry_of(run, f)->command, how);
        return CSP_ELOCAL;
    }
    return CSP_OK;
}

/* A command's output directory and what it left there (OpenClaw's {{OutputDir}}). */
static void remove_dir(const char *path)
{
    DIR *d = opendir(path);
    for (struct dirent *entry; d && (entry = readdir(d));)
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."))
            unlinkat(dirfd(d), entry->d_name, 0);
    if (d)
        closedir(d);
    rmdir(path);
}

static void run_cli(stt_run *run, stt_file *f)
{
    const csp_stt_entry *e = entry_of(run, f);
    char dir[] = "/tmp/clawspeak-XXXXXX", why[900] = "";
    char *wav = NULL, *out_dir = NULL, *out_base = NULL, **argv = NULL;
    int slots[3] = {-1, -1, -1};
    csp_code rc = CSP_OK;
    csp_command cmd = {.pid = 0, .in_fd = -1, .out_fd = -1, .err_fd = -1, .cleanup_slot = -1};
    csp_buf out;
    csp__buf_init(&out, CSP_TRANSCRIPT_MAX + 1);
    if (!mkdtemp(dir)) {
        snprintf(why, sizeof why, "cannot make a temporary directory: %s", strerror(errno));
        rc = CSP_ELOCAL;
        goto out;
    }
    slots[0] = csp__cleanup_add_dir(dir);
    wav = csp__printf("%s/audio.wav", dir);
    out_dir = csp__printf("%s/out", dir);
    out_base = csp__printf("%s/out/audio", dir);
    argv = csp__calloc(e->argc + 2, sizeof *argv);
    if (!wav || !out_dir || !out_base || !argv) {
        rc = CSP_ENOMEM;
        snprintf(why, sizeof why, "out of memory");
        goto out;
    }
    slots[1] = csp__cleanup_add_file(wav);
    if (mkdir(out_dir, 0700) == 0)
        slots[2] = csp__cleanup_add_dir(out_dir);
    if (csp__pieces_write_wav(&f->source, wav, &f->seconds, why, sizeof why) < 0) {
        rc = CSP_EINPUT;
        goto out;
    }
    argv[0] = e->command;
    for (size_t i = 0; i < e->argc; i++)
        if (!(argv[i + 1] = expand_media(e->args[i], e, wav, dir, out_dir, out_base))) {
            rc = CSP_ENOMEM;
            snprintf(why, sizeof why, "out of memory");
            goto out;
        }
    csp__log(&run->client->report, CSP_LOG_INFO, "%s: running %s (%s)", f->name, e->command, e->where);
    csp_command_spec spec = {.program = e->command, .argv = argv};
    char started[600];
    if (csp__command_start(&spec, &cmd, started, sizeof started)) {
        rc = CSP_ELOCAL;
        snprintf(why, sizeof why, "%s (%s)", started, e->where);
        goto out;
    }
    rc = read_output(run, f, &cmd, e->timeout_s, &out, why, sizeof why);
    /* the text is a C string from here on: a NUL in the command's output would cut it */
    for (size_t i = 0; rc == CSP_OK && i < out.len; i++)
        if (out.data[i] == '\0')
            out.data[i] = '?';
    if (rc == CSP_OK && !(f->cli_text = out.data ? csp__buf_steal(&out) : csp__strdup(""))) {
        rc = CSP_ENOMEM;
        snprintf(why, sizeof why, "out of memory");
    }
out:
    csp__command_end(&cmd); /* the whole group, at once on Ctrl-C */
    for (size_t i = 1; argv && i <= e->argc; i++)
        csp__free(argv[i]);
    csp__free(argv);
    if (wav)
        unlink(wav);
    if (out_dir)
        remove_dir(out_dir);
    rmdir(dir);
    for (size_t i = 0; i < 3; i++)
        csp__cleanup_remove(slots[i]);
    csp__free(wav);
    csp__free(out_dir);
    csp__free(out_base);
    csp__buf_free(&out);
    if (rc == CSP_OK) {
        f->state = F_DONE;
        return;
    }
    fail_file(run, f, rc, why);
}

/* --- results ------------------------------------------------------------------ */

/* The pieces' texts joined by spaces (or the command's output), made printable and capped. */
static char *joined_text(stt_run *run, stt_file *f)
{
    csp_buf raw;
    csp__buf_init(&raw, (size_t)CSP_TRANSCRIPT_MAX * 2);
    int ok = 1;
    if (f->cli_text) {
        ok = csp__buf_append(&raw, f->cli_text, strlen(f->cli_text)) == 0;
    } else {
        for (size_t i = 0; ok && i < f->produced; i++) {
            const char *t = f->texts[i] ? f->texts[i] : "";
            t += strspn(t, " \t\r\n");
            size_t n = strlen(t);
            while (n && strchr(" \t\r\n", t[n - 1]))
                n--;
            if (!n)
                continue;
            if (raw.len && csp__buf_append(&raw, " ", 1) < 0)
                ok = 0;
            if (ok && csp__buf_append(&raw, t, n) < 0) {
                f->cut = 1; /* over twice the cap before cleaning: cut below anyway */
                break;
            }
        }
    }
    if (!ok) {
        csp__buf_free(&raw);
        return NULL;
    }
    /* a command's trailing newline is not part of what was said */
    const char *t = raw.data ? raw.data : "";
    size_t start = strspn(t, " \t\r\n"), n = raw.len > start ? raw.len - start : 0;
    while (n && strchr(" \t\r\n", t[start + n - 1]))
        n--;
    size_t size = n * 2 + CSP_REDACTED_MAX + 1;
    char *clean = csp__malloc(size);
    if (clean) {
        csp__redact_text(t + start, n, &run->secrets, 1, clean, size);
        size_t len = strlen(clean);
        if (len > CSP_TRANSCRIPT_MAX) {
            len = CSP_TRANSCRIPT_MAX;
            while (len && ((unsigned char)clean[len] & 0xC0) == 0x80)
                len--; /* never inside a character */
            clean[len] = '\0';
            f->cut = 1;
        }
    }
    csp__buf_free(&raw);
    return clean;
}

static void free_file(stt_file *f)
{
    reset_file(f);
    csp__free(f->texts);
    f->texts = NULL;
    f->texts_cap = 0;
}

/* Deliver finished inputs from the head, in order. Returns the failure that stops the run. */
static csp_code deliver(stt_run *run)
{
    while (run->head < run->count) {
        stt_file *f = &run->files[run->head];
        if (f->state == F_CLI)
            run_cli(run, f);
        if (f->state == F_FAILED) {
            csp_code rc = f->rc;
            csp__fail(&run->client->report, rc, "%s", f->error);
            return rc;
        }
        if (f->state != F_DONE)
            return CSP_OK;
        char *text = joined_text(run, f);
        if (!text)
            return csp__fail(&run->client->report, CSP_ENOMEM, "out of memory");
        const csp_stt_entry *e = entry_of(run, f);
        char model[300];
        snprintf(model, sizeof model, "%s%s", e->is_cli ? "cli:" : "", e->is_cli ? e->command : e->model);
        csp_transcript t = {f->name, text, model, f->seconds, f->cli_text ? 1 : f->produced, f->cost,
                            f->billed, f->has_cost, f->has_billed, f->cut};
        if (f->has_cost || f->has_billed)
            csp__log(&run->client->report, CSP_LOG_INFO, "%s: transcription usage: %.1f s billed, "
                     "cost $%.6f", f->name, f->billed, f->cost);
        if (f->cut)
            csp__log(&run->client->report, CSP_LOG_WARN, "%s: the transcript was cut at %u MiB",
                     f->name, CSP_TRANSCRIPT_MAX >> 20);
        if (run->options && run->options->on_result)
            run->options->on_result(run->options->userdata, run->head, &t);
        csp__free(text);
        free_file(f);
        run->head++;
    }
    return CSP_OK;
}

/* --- the run -------------------------------------------------------------------- */

static const char no_provider[] =
    "nothing can transcribe: no OpenRouter key (models.providers.openrouter.apiKey or "
    "OPENROUTER_API_KEY) and no CLI entry in tools.media; no offline recogniser in Debian is "
    "good enough to be a default, so add one to %s, e.g. whisper.cpp: tools: { media: { "
    "models: [ { type: \"cli\", command: \"whisper-cli\", capabilities: [\"audio\"], args: "
    "[\"-m\", \"/path/to/ggml-base.en.bin\", \"-nt\", \"-np\", \"-f\", \"{{AttachmentPath}}\"], "
    "timeoutSeconds: 120 } ] } }";

/* Whether an entry can be tried: a CLI command, or an OpenRouter entry with a key. */
static int entry_usable(const csp_settings *s, size_t i)
{
    return s->stt_entries[i].is_cli || s->chat_api_key;
}

csp_code csp__transcribe_ready(csp_client *client)
{
    const csp_settings *s = &client->settings;
    for (size_t i = 0; i < s->stt_entry_count; i++)
        if (entry_usable(s, i))
            return CSP_OK;
    return csp__fail(&client->report, CSP_EKEY, no_provider, s->config_path);
}

static csp_code run_all(csp_client *client, stt_file *files, size_t count,
                        const csp_transcribe_options *options)
{
    const csp_settings *s = &client->settings;
    stt_run run;
    memset(&run, 0, sizeof run);
    run.client = client;
    run.s = s;
    run.options = options;
    run.files = files;
    run.count = count;
    run.jobs = options && options->jobs > 0 ? options->jobs : 3;
    csp__settings_secrets(s, &run.secrets);
    csp__buf_init(&run.flac, (size_t)s->stt_max_bytes + (1u << 16));
    csp_code rc = CSP_OK;
    size_t usable = 0;
    for (size_t i = 0; i < s->stt_entry_count && i < sizeof run.usable; i++) {
        run.usable[i] = entry_usable(s, i);
        usable += run.usable[i];
        if (!run.usable[i])
            csp__log(&client->report, CSP_LOG_INFO, "%s (openrouter:%s) left out: no OpenRouter key",
                     s->stt_entries[i].where, s->stt_entries[i].model);
    }
    if (!usable) {
        rc = csp__fail(&client->report, CSP_EKEY, no_provider, s->config_path);
        goto out;
    }
    run.slots = csp__calloc((size_t)run.jobs, sizeof *run.slots);
    run.url = csp__printf("%s/audio/transcriptions", s->chat_base_url);
    if ((rc = csp__http_available(&client->report)) != CSP_OK)
        goto out;
    run.http = csp__http_pool_take(client->pool, &client->report);
    if (!run.slots || !run.url || !run.http) {
        rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        files[i].entry = next_entry(&run, 0);
        start_entry(&run, &files[i]);
    }
    while (rc == CSP_OK) {
        if ((rc = deliver(&run)) != CSP_OK || run.head == run.count)
            break;
        if (csp__canceled(&client->report)) {
            rc = csp__fail(&client->report, CSP_ECANCELED, "interrupted");
            break;
        }
        int progress = 0, waiting = 0;
        long long now = csp__now_ms();
        for (int i = 0; i < run.jobs; i++) {
            stt_slot *slot = &run.slots[i];
            if (slot->busy || !slot->file)
                continue;
            if (slot->retry_at && slot->generation != slot->file->generation) {
                free_slot(slot); /* its input moved on */
                progress = 1;
            } else if (slot->retry_at && slot->retry_at <= now) {
                if (start_slot(&run, slot) < 0) {
                    stt_file *f = slot->file;
                    free_slot(slot);
                    fail_file(&run, f, CSP_ENOMEM, "out of memory");
                }
                progress = 1;
            } else if (slot->retry_at) {
                waiting = 1;
            }
        }
        for (int i = 0; i < run.jobs; i++)
            if (!run.slots[i].busy && !run.slots[i].file && produce(&run, &run.slots[i]))
                progress = 1;
        if (run.active > 0)
            csp__http_poll(run.http, progress ? 0 : 100);
        else if (waiting) {
            struct timespec nap = {0, 10 * 1000000L};
            nanosleep(&nap, NULL);
        } else if (!progress) {
            stt_file *f = &run.files[run.head];
            if (f->state != F_CLI && f->state != F_DONE && f->state != F_FAILED) {
                rc = csp__fail(&client->report, CSP_EAPI, "%s: the transcription stalled", f->name);
                break;
            }
        }
    }
out:
    csp__http_pool_give(client->pool, run.http); /* stops what still runs: then bodies go */
    for (int i = 0; run.slots && i < run.jobs; i++)
        free_slot(&run.slots[i]);
    for (size_t i = 0; i < count; i++)
        free_file(&files[i]);
    csp__free(run.slots);
    csp__free(run.url);
    csp__buf_free(&run.flac);
    return rc;
}

/* A pipe or a terminal cannot be read twice: keep it in an unnamed temporary file. */
static int spool(csp_client *client, int fd, const char *name)
{
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int out = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (out < 0) {
        char *path = csp__printf("%s/clawspeak-XXXXXX", tmp);
        out = path ? mkostemp(path, O_CLOEXEC) : -1;
        if (out >= 0)
            unlink(path);
        csp__free(path);
    }
    if (out < 0) {
        csp__fail(&client->report, CSP_EINPUT, "%s: cannot keep it in a temporary file: %s", name,
                  strerror(errno));
        return -1;
    }
    char block[65536];
    off_t total = 0;
    for (;;) {
        if (csp__canceled(&client->report)) {
            csp__fail(&client->report, CSP_ECANCELED, "interrupted");
            goto fail;
        }
        ssize_t n = read(fd, block, sizeof block);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            csp__fail(&client->report, CSP_EINPUT, "%s: %s", name, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        total += n;
        if (total > SPOOL_MAX || write(out, block, (size_t)n) != n) {
            csp__fail(&client->report, CSP_EINPUT, "%s: cannot keep it in a temporary file: %s",
                      name, total > SPOOL_MAX ? "over 16 GiB" : strerror(errno));
            goto fail;
        }
    }
    return out;
fail:
    close(out);
    return -1;
}

csp_code csp_transcribe_fds(csp_client *client, const int *fds, const char *const *names,
                            size_t count, const csp_transcribe_options *options)
{
    if (!client->loaded)
        return csp__fail(&client->report, CSP_EUSAGE, "csp_client_load() was not called");
    stt_file *files = csp__calloc(count ? count : 1, sizeof *files);
    int *spooled = csp__calloc(count ? count : 1, sizeof *spooled);
    csp_code rc = CSP_OK;
    if (!files || !spooled) {
        rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++)
        spooled[i] = -1;
    /* every input is checked before anything is sent: a text file fails at once */
    for (size_t i = 0; i < count && rc == CSP_OK; i++) {
        const char *name = names && names[i] ? names[i] : "input";
        int fd = fds[i];
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = csp__fail(&client->report, CSP_EINPUT, "%s: is a directory; give an audio file", name);
            break;
        }
        if (lseek(fd, 0, SEEK_SET) < 0) {
            if ((spooled[i] = spool(client, fd, name)) < 0) {
                rc = csp__canceled(&client->report) ? CSP_ECANCELED : CSP_EINPUT;
                break;
            }
            fd = spooled[i];
        }
        char why[300];
        double seconds;
        if (csp__audio_probe(fd, &seconds, why, sizeof why) < 0) {
            rc = csp__fail(&client->report, CSP_EINPUT, "%s: not audio clawspeak can read (wav, "
                           "flac, ogg, opus, mp3): %s", name, why);
            break;
        }
        files[i].source = (csp_audio_source){.fd = fd};
        files[i].name = name;
    }
    if (rc == CSP_OK)
        rc = run_all(client, files, count, options);
out:
    for (size_t i = 0; spooled && i < count; i++)
        if (spooled[i] >= 0)
            close(spooled[i]);
    csp__free(spooled);
    csp__free(files);
    return rc;
}

typedef struct pcm_result {
    char *text;
    csp_transcript *info;
    int nomem;
} pcm_result;

static void keep_pcm_result(void *userdata, size_t index, const csp_transcript *t)
{
    (void)index;
    pcm_result *r = userdata;
    r->text = csp__strdup(t->text);
    r->nomem = !r->text;
    if (r->info) {
        *r->info = *t;
        r->info->text = NULL;
        r->info->name = "recording";
        r->info->model = NULL; /* the model text lived for the callback only */
    }
}

csp_code csp__transcribe_pcm(csp_client *client, const int16_t *pcm, size_t frames, int rate,
                             int channels, const csp_transcribe_options *options, char **text,
                             csp_transcript *info)
{
    *text = NULL;
    if (!client->loaded)
        return csp__fail(&client->report, CSP_EUSAGE, "csp_client_load() was not called");
    if (!pcm || channels < 1 || rate < 1000)
        return csp__fail(&client->report, CSP_EUSAGE, "no audio to transcribe");
    stt_file file;
    memset(&file, 0, sizeof file);
    file.source = (csp_audio_source){.fd = -1, .pcm = pcm, .frames = frames, .rate = rate,
                                     .channels = channels};
    file.name = "recording";
    pcm_result result = {NULL, info, 0};
    csp_transcribe_options o = {options ? options->jobs : 0, keep_pcm_result, &result};
    csp_code rc = run_all(client, &file, 1, &o);
    if (rc == CSP_OK && result.nomem)
        rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    if (rc == CSP_OK)
        *text = result.text;
    else
        csp__free(result.text);
    return rc;
}

csp_code csp_transcribe_pcm(csp_client *client, const int16_t *pcm, size_t frames, long rate,
                            int channels, const csp_transcribe_options *options, char **text)
{
    return csp__transcribe_pcm(client, pcm, frames, (int)rate, channels, options, text, NULL);
}

/* A device or a FIFO is written directly, as audio -o does; never replaced by a file. */
static csp_code save_direct(csp_client *client, const char *path, int fifo, const char *data,
                            size_t len)
{
    /* a FIFO with no reader would block forever: O_NONBLOCK says so at once */
    int fd = open(path, O_WRONLY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
    if (fd < 0)
        return csp__fail(&client->report, CSP_EOUTPUT, "%s: %s", path,
                         fifo && errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
    if (fifo)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int err = csp__write_all(fd, data, len);
    if (close(fd) != 0 && !err)
        err = errno;
    return err ? csp__fail(&client->report, CSP_EOUTPUT, "%s: cannot write: %s", path, strerror(err))
               : CSP_OK;
}

csp_code csp_save_file(csp_client *client, const char *path, const char *data, size_t len)
{
    struct stat st;
    if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)))
        return save_direct(client, path, S_ISFIFO(st.st_mode), data, len);
    csp_atomic_file f;
    const char *step = "write";
    int err = csp__atomic_begin(&f, path, 0666, &step);
    if (!err)
        err = csp__write_all(f.fd, data, len);
    if (!err && (err = csp__atomic_commit(&f, &step)) == 0)
        return CSP_OK;
    csp__atomic_abort(&f);
    return csp__fail(&client->report, CSP_EOUTPUT, "%s: cannot %s: %s", path, step, strerror(err));
}
