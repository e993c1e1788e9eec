/* SPDX-License-Identifier: MIT */
/*
 * local_tts.c: the tts-local-cli provider. The chunk's text goes to the
 * command's standard input through a pipe; the built-in espeak-ng default
 * reads it there (--stdin), so text is never parsed as options and never
 * shows in `ps`, and writes WAV to its standard output (--stdout), which is
 * handed on as it is made: the first sentence plays while the rest is
 * synthesised, and nothing touches the disk. A command whose args name
 * {{OutputPath}} (or {{OutputDir}}/{{OutputBase}}) writes into a private
 * temporary directory instead; that file is read with libsndfile when the
 * command ends. No shell is involved, so the text needs no quoting; a
 * user's own args keep OpenClaw's {{Text}} placeholder as they wrote it.
 * espeak-ng is GPL-3: it runs as a program, never linked.
 */
#define _GNU_SOURCE /* pipe2 */
#include "local_tts.h"

#include "cleanup.h"
#include "command.h"
#include "load_order.h"
#include "provider.h"
#include "report.h"
#include "sentences.h"
#include "settings.h"
#include "sndfile_lib.h"
#include "utf8.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* OpenClaw's placeholders in arg: {{Text}}, {{OutputPath}}, {{OutputDir}}, {{OutputBase}} (the
   file's name without its extension). */
static char *expand(const char *arg, const char *text, const char *output, const char *dir)
{
    const char *const names[] = {"Text", "OutputPath", "OutputDir", "OutputBase"};
    const char *const values[] = {text, output, dir, "speech"};
    return csp__expand_template(arg, names, values, 4, 1 << 24);
}

/* Errors go to the caller's buffer: this runs on the network thread. */
__attribute__((format(printf, 4, 5))) static csp_code local_fail(char *error, size_t size,
                                                                  csp_code code, const char *fmt,
                                                                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, size, fmt, ap);
    va_end(ap);
    return code;
}

static csp_code read_wav(char *error, size_t size, const char *path, csp_buf *pcm, long *rate,
                         int *channels)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    char why[300];
    if (csp__sndfile_load(why, sizeof why) != 0)
        return local_fail(error, size, CSP_ELOCAL, "cannot read the local engine's audio: %s", why);
    SNDFILE *sf = csp__sndfile_open(path, SFM_READ, &info);
    if (!sf)
        return local_fail(error, size, CSP_ELOCAL, "the local speech command wrote no readable audio: %s",
                         csp__sndfile_error(NULL));
    *rate = info.samplerate;
    *channels = info.channels;
    csp__sndfile.command(sf, SFC_SET_SCALE_FLOAT_INT_READ, NULL, SF_TRUE); /* a float WAV is not silence */
    short block[8192];
    sf_count_t frames_per_block = (sf_count_t)(8192 / info.channels);
    csp_code rc = CSP_OK;
    for (;;) {
        sf_count_t n = csp__sndfile.readf_short(sf, block, frames_per_block);
        if (n <= 0)
            break;
        if (csp__buf_append(pcm, block, (size_t)n * (size_t)info.channels * sizeof(short)) < 0) {
            rc = local_fail(error, size, CSP_ENOMEM, "out of memory reading local audio");
            break;
        }
    }
    csp__sndfile.close(sf);
    return rc;
}

/*
 * espeak-ng's voice for text with no voice configured: its script's
 * language, so Chinese is read in Chinese, not spelled out in English.
 * NULL: espeak-ng's default (English) for Latin text.
 */
static const char *script_voice(const char *text, size_t len)
{
    const char *language = csp__script_language(text, len);
    if (!language || !strcmp(language, "en"))
        return NULL;
    return strcmp(language, "zh") ? language : "cmn"; /* espeak-ng's Mandarin */
}

/* espeak-ng takes 80-450 words a minute; 175 is speed 1.0. */
static int espeak_wpm(double speed)
{
    double wpm = 175.0 * speed;
    return wpm < 80 ? 80 : wpm > 450 ? 450 : (int)(wpm + 0.5);
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        csp__free(argv[i]);
    csp__free(argv);
}

/* The built-in engine's voices: `espeak-ng --voices`, read through a pipe with a cap. */
csp_code csp__local_voices(const csp_settings *s, csp_report *report, csp_buf *list)
{
    if (!s->local_args_default)
        return csp__fail(report, CSP_EUSAGE,
                         "the local command '%s' has no voice list to show; its voice is "
                         "tts.providers.tts-local-cli.voice (passed as CLAWSPEAK_VOICE)",
                         s->local_command);
    char *argv[] = {s->local_command, "--voices", NULL};
    csp_command_spec spec = {.program = s->local_command, .argv = argv};
    csp_command cmd;
    char why[300];
    if (csp__command_start(&spec, &cmd, why, sizeof why))
        return csp__fail(report, CSP_ELOCAL, "%s (install espeak-ng)", why);
    csp_buf raw;
    csp__buf_init(&raw, 1 << 20); /* espeak-ng's list is about 8 KB */
    int too_long = 0;
    long long deadline = csp__now_ms() + s->timeout_ms;
    while (!too_long && !csp__command_finished(&cmd) && csp__now_ms() < deadline &&
           !csp__canceled(report)) {
        struct pollfd fds[2] = {{cmd.out_fd, POLLIN, 0}, {cmd.err_fd, POLLIN, 0}};
        poll(fds, 2, 20);
        char block[4096];
        ssize_t n;
        while (cmd.out_fd >= 0 && (n = read(cmd.out_fd, block, sizeof block)) != 0) {
            if (n < 0) {
                if (errno != EINTR && errno != EAGAIN)
                    close(cmd.out_fd), cmd.out_fd = -1;
                if (errno != EINTR)
                    break;
                continue;
            }
            csp__command_saw_output(&cmd);
            if ((too_long = csp__buf_append(&raw, block, (size_t)n) < 0))
                break;
        }
        if (n == 0 && cmd.out_fd >= 0)
            close(cmd.out_fd), cmd.out_fd = -1;
        csp__command_read_errors(&cmd);
    }
    int ok = !too_long && csp__command_finished(&cmd) && csp__command_succeeded(&cmd);
    csp__command_end(&cmd);
    csp_code rc = CSP_OK;
    if (!ok)
        rc = csp__fail(report, CSP_ELOCAL, "'%s --voices' failed", s->local_command);
    /* "Pty Language Age/Gender VoiceName File ...": one "  language  name" line each */
    if (rc == CSP_OK && csp__buf_appendf(list, "%s (local)\n", s->local_command) < 0)
        rc = csp__fail(report, CSP_ENOMEM, "out of memory");
    char *save = NULL;
    for (char *line = raw.data ? strtok_r(raw.data, "\n", &save) : NULL; rc == CSP_OK && line;
         line = strtok_r(NULL, "\n", &save)) {
        char language[64], gender[16], name[128];
        int priority;
        if (sscanf(line, "%d %63s %15s %127s", &priority, language, gender, name) != 4)
            continue; /* the header */
        if (csp__buf_appendf(list, "  %s  %s\n", language, name) < 0)
            rc = csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    csp__buf_free(&raw);
    return rc;
}

/* --- the provider: one chunk at a time, read as the command makes it --- */

typedef struct local_run {
    csp_command cmd;          /* cmd.pid 0: not started */
    int dir_slot, wav_slot;   /* registered for emergency cleanup; -1: none */
    char *text;
    size_t len, written;
    int from_stdout;         /* audio on its stdout (no {{OutputPath}} in its args) */
    char dir[32];            /* {{OutputDir}}, made only for a command that writes a file */
    char *wav;               /* {{OutputPath}} */
    unsigned char head[4];   /* the first bytes of stdout: WAV or MP3 */
    size_t head_len;
    int audio_started;
    int stopped;             /* the pipeline wanted no more of this chunk's audio */
    long long last_activity_ms;
    csp_chunk_events events;
    struct local_run *next;
} local_run;

typedef struct local_provider {
    csp_provider base;
    const csp_settings *settings;
    csp_report *report;
    int wake_fd; /* an eventfd: wakeup makes a waiting poll return */
    /* the commands running; more than one after a fallback, when the pipeline hands over the
       requests another provider had in flight */
    local_run *runs;
} local_provider;

static int has_placeholder(const csp_settings *s, const char *name)
{
    for (size_t i = 0; i < s->local_argc; i++)
        if (csp__template_uses(s->local_args[i], name))
            return 1;
    return 0;
}

/* The argument list for one chunk; NULL when out of memory. */
static char **command_argv(const csp_settings *s, const char *text, const char *voice,
                           const char *wpm, const char *dir, const char *wav)
{
    char **argv = csp__calloc(s->local_argc + 6, sizeof *argv);
    if (!argv)
        return NULL;
    argv[0] = csp__strdup(s->local_command);
    size_t argc = 1;
    int ok = argv[0] != NULL;
    for (size_t i = 0; i < s->local_argc; i++) {
        /* the built-in espeak-ng: voice and rate go before --stdin */
        if (s->local_args_default && i + 1 == s->local_argc) {
            if (voice)
                argv[argc++] = csp__strdup("-v"), argv[argc++] = csp__strdup(voice);
            if (*wpm)
                argv[argc++] = csp__strdup("-s"), argv[argc++] = csp__strdup(wpm);
        }
        argv[argc++] = expand(s->local_args[i], text, wav, dir);
    }
    for (size_t i = 0; i < argc; i++)
        ok &= argv[i] != NULL;
    if (!ok) {
        free_argv(argv);
        return NULL;
    }
    return argv;
}

static void run_free(local_run *r)
{
    if (!r)
        return;
    csp__command_end(&r->cmd); /* the whole group: a wrapper script's children too */
    if (r->wav)
        unlink(r->wav);
    if (r->dir[0])
        rmdir(r->dir);
    csp__cleanup_remove(r->wav_slot);
    csp__cleanup_remove(r->dir_slot);
    csp__free(r->wav);
    csp__free(r->text);
    csp__free(r);
}

static void unlink_run(local_provider *l, local_run *r)
{
    for (local_run **at = &l->runs; *at; at = &(*at)->next)
        if (*at == r) {
            *at = r->next;
            return;
        }
}

/* End the attempt: exactly one on_done, then the run is gone. */
static void finish(local_provider *l, local_run *r, csp_attempt_status status, csp_code code,
                   int provider_fault, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void finish(local_provider *l, local_run *r, csp_attempt_status status, csp_code code,
                   int provider_fault, const char *fmt, ...)
{
    csp_attempt_result result;
    memset(&result, 0, sizeof result);
    result.status = status;
    result.code = code;
    result.retry_after_s = -1;
    result.provider_fault = provider_fault; /* a missing or broken engine: the next may speak */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result.why, sizeof result.why, fmt, ap);
    va_end(ap);
    unlink_run(l, r);
    csp_chunk_events events = r->events;
    run_free(r);
    events.on_done(events.ctx, &result);
}

static int local_start(csp_provider *base, const csp_chunk_request *request,
                       const csp_chunk_events *events)
{
    local_provider *l = (local_provider *)base;
    const csp_settings *s = l->settings;
    local_run *r = csp__calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->dir_slot = r->wav_slot = -1;
    r->cmd.in_fd = r->cmd.out_fd = r->cmd.err_fd = r->cmd.cleanup_slot = -1;
    r->events = *events;
    r->last_activity_ms = csp__now_ms();
    r->next = l->runs;
    l->runs = r;
    if (!(r->text = csp__strndup(request->text, request->len))) {
        unlink_run(l, r), run_free(r);
        return -1;
    }
    r->len = request->len;
    r->from_stdout = !has_placeholder(s, "OutputPath") && !has_placeholder(s, "OutputDir") &&
                     !has_placeholder(s, "OutputBase");
    if (!r->from_stdout) { /* a command that writes a file gets a private directory for it */
        strcpy(r->dir, "/tmp/clawspeak-XXXXXX");
        if (!mkdtemp(r->dir)) {
            r->dir[0] = '\0';
            finish(l, r, CSP_ATTEMPT_FAIL, CSP_ELOCAL, 1, "cannot make a temporary directory: %s",
                   strerror(errno));
            return 0;
        }
        r->dir_slot = csp__cleanup_add_dir(r->dir);
        if (!(r->wav = csp__printf("%s/speech.wav", r->dir))) {
            unlink_run(l, r), run_free(r);
            return -1;
        }
        r->wav_slot = csp__cleanup_add_file(r->wav);
    }
    /* -v reaches local_voice only when the local engine is the chosen provider (the
       settings registry's "listens"); as a stand-in, only a voice espeak-ng knows (say.c) */
    const char *voice = s->local_voice ? s->local_voice : script_voice(request->text, request->len);
    char wpm[16] = "";
    if (s->has_speed)
        snprintf(wpm, sizeof wpm, "%d", espeak_wpm(s->speed));
    char **argv = command_argv(s, r->text, voice, wpm, r->dir, r->wav ? r->wav : "");
    /* for a user's own command: environment, not new placeholders, so a config shared with
       OpenClaw stays valid there */
    char voice_var[160] = "", speed_var[48] = "";
    if (voice)
        snprintf(voice_var, sizeof voice_var, "CLAWSPEAK_VOICE=%s", voice);
    if (wpm[0])
        snprintf(speed_var, sizeof speed_var, "CLAWSPEAK_SPEED=%g", s->speed);
    const char *extra[3] = {NULL, NULL, NULL};
    size_t extras = 0;
    if (voice_var[0])
        extra[extras++] = voice_var;
    if (speed_var[0])
        extra[extras++] = speed_var;
    if (!argv) {
        unlink_run(l, r), run_free(r);
        return -1;
    }
    csp_command_spec spec = {.program = s->local_command, .argv = argv, .extra_env = extra,
                             .text_on_stdin = 1};
    char why[400];
    int err = csp__command_start(&spec, &r->cmd, why, sizeof why);
    csp__load_first_end(); /* the local engine speaks: no request goes first (load_order.h) */
    free_argv(argv);
    if (err == ENOMEM) {
        unlink_run(l, r), run_free(r);
        return -1;
    }
    if (err) {
        finish(l, r, CSP_ATTEMPT_FAIL, CSP_ELOCAL, 1,
               "%s (install espeak-ng, or set tts.providers.tts-local-cli.command)", why);
        return 0;
    }
    return 0;
}

/* Write what fits of the text to the command's stdin; close it when all is there. A command
   that stops reading is not our signal to die: SIGPIPE is held off this thread meanwhile. */
static void feed_text(local_run *r)
{
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ssize_t n = write(r->cmd.in_fd, r->text + r->written, r->len - r->written);
    if (n > 0)
        r->written += (size_t)n;
    if (n < 0 && errno == EPIPE) {
        struct timespec none = {0, 0};
        sigtimedwait(&pipe_only, NULL, &none); /* the SIGPIPE this write raised */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r->written == r->len || (n < 0 && errno != EAGAIN && errno != EINTR))
        close(r->cmd.in_fd), r->cmd.in_fd = -1;
}

/* The first bytes of a command's stdout say what it writes. */
static int sniff(const unsigned char *b, csp_media *media)
{
    memset(media, 0, sizeof *media);
    if (!memcmp(b, "RIFF", 4))
        media->kind = CSP_MEDIA_WAV;
    else if (!memcmp(b, "ID3", 3) || (b[0] == 0xff && (b[1] & 0xe0) == 0xe0))
        media->kind = CSP_MEDIA_MP3;
    return media->kind != CSP_MEDIA_OTHER;
}

/* Audio from stdout, handed on as it comes. Returns -1 when the run has ended. */
static int pass_audio(local_provider *l, local_run *r, const unsigned char *data, size_t len)
{
    if (r->stopped)
        return 0; /* drained, so the command is never blocked on a full pipe */
    if (!r->audio_started) {
        size_t take = len < 4 - r->head_len ? len : 4 - r->head_len;
        memcpy(r->head + r->head_len, data, take);
        r->head_len += take;
        data += take;
        len -= take;
        if (r->head_len < 4)
            return 0;
        csp_media media;
        if (!sniff(r->head, &media)) {
            finish(l, r, CSP_ATTEMPT_FAIL, CSP_ELOCAL, 1,
                   "the local speech command '%s' wrote something other than WAV or MP3 on its "
                   "standard output (clawspeak reads those two there; use {{OutputPath}} for "
                   "other formats)", l->settings->local_command);
            return -1;
        }
        r->audio_started = 1;
        r->events.on_audio_start(r->events.ctx, &media);
        r->stopped = r->events.on_audio(r->events.ctx, (const char *)r->head, 4);
    }
    if (len && !r->stopped)
        r->stopped = r->events.on_audio(r->events.ctx, (const char *)data, len);
    return 0;
}

/* Read what is ready on one of the command's outputs. Returns 1 at its end, -1 when the run
   has ended, else 0. */
static int drain(local_provider *l, local_run *r, int *fd, int is_audio)
{
    unsigned char block[65536];
    if (!is_audio) {
        csp__command_read_errors(&r->cmd);
        r->last_activity_ms = csp__now_ms();
        return r->cmd.err_fd < 0;
    }
    ssize_t n = read(*fd, block, sizeof block);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : (close(*fd), *fd = -1, 1);
    if (n == 0) {
        close(*fd);
        *fd = -1;
        return 1;
    }
    r->last_activity_ms = csp__now_ms();
    csp__command_saw_output(&r->cmd);
    return r->from_stdout ? pass_audio(l, r, block, (size_t)n) : 0;
}

/* The command has ended: its result. */
static void command_ended(local_provider *l, local_run *r)
{
    const csp_settings *s = l->settings;
    if (!csp__command_succeeded(&r->cmd)) {
        char how[300];
        csp__command_failure(&r->cmd, how, sizeof how);
        finish(l, r, CSP_ATTEMPT_FAIL, CSP_ELOCAL, 1, "the local speech command '%s' failed (%s)",
               s->local_command, how);
        return;
    }
    if (r->stopped) {
        finish(l, r, CSP_ATTEMPT_FAIL, CSP_ELOCAL, 0, "stopped");
        return;
    }
    if (r->from_stdout) {
        if (r->audio_started)
            finish(l, r, CSP_ATTEMPT_OK, CSP_OK, 0, "%s", "");
        else
            finish(l, r, CSP_ATTEMPT_FAIL, CSP_ELOCAL, 1,
                   "the local speech command '%s' wrote no audio on its standard output",
                   s->local_command);
        return;
    }
    csp_buf pcm;
    long rate = 0;
    int channels = 0;
    char why[sizeof ((csp_attempt_result *)0)->why];
    /* the local engine's audio is capped like the network's: by what the text can make */
    csp__buf_init(&pcm, csp__audio_cap(r->len, CSP_LOCAL_MAX_BYTES_PER_SECOND));
    csp_code rc = read_wav(why, sizeof why, r->wav, &pcm, &rate, &channels);
    if (rc == CSP_OK) {
        csp_media media = {CSP_MEDIA_PCM, rate, channels};
        r->events.on_audio_start(r->events.ctx, &media);
        r->events.on_audio(r->events.ctx, pcm.data ? pcm.data : "", pcm.len);
        finish(l, r, CSP_ATTEMPT_OK, CSP_OK, 0, "%s", "");
    } else {
        finish(l, r, CSP_ATTEMPT_FAIL, rc, rc == CSP_ELOCAL, "%s", why);
    }
    csp__buf_free(&pcm);
}

/* Check a run's deadline and whether it has ended. Returns 1 when it has finished, else 0;
   *wait_ms is shortened to its next check. */
static int check_run(local_provider *l, local_run *r, int *wait_ms)
{
    if (csp__canceled(l->report)) {
        finish(l, r, CSP_ATTEMPT_FAIL, CSP_ECANCELED, 0, "interrupted");
        return 1;
    }
    long long idle = csp__now_ms() - r->last_activity_ms;
    if (idle >= l->settings->timeout_ms) {
        finish(l, r, CSP_ATTEMPT_FAIL, CSP_ELOCAL, 1,
               "the local speech command '%s' made no audio for %ld ms (--timeout-ms, tts.timeoutMs)",
               l->settings->local_command, l->settings->timeout_ms);
        return 1;
    }
    if (*wait_ms > l->settings->timeout_ms - idle)
        *wait_ms = (int)(l->settings->timeout_ms - idle);
    /* a direct child that exited 0 while a grandchild holds its stdout has finished too */
    if (csp__command_finished(&r->cmd)) {
        command_ended(l, r);
        return 1;
    }
    if (*wait_ms > 5 && (r->cmd.exited || (r->cmd.out_fd < 0 && r->cmd.err_fd < 0)))
        *wait_ms = 5;
    if (*wait_ms > 50)
        *wait_ms = 50; /* the direct child's exit shows no descriptor: look again soon */
    return 0;
}

static int local_poll(csp_provider *base, int wait_ms)
{
    local_provider *l = (local_provider *)base;
    enum { MOST = 16 }; /* runs watched in one poll; the rest wait for the next */
    struct pollfd fds[1 + 3 * MOST] = {{l->wake_fd, POLLIN, 0}};
    local_run *owner[1 + 3 * MOST] = {NULL};
    nfds_t count = 1;
    int watched = 0;
    for (local_run *r = l->runs, *next; r && watched < MOST; r = next, watched++) {
        next = r->next;
        if (check_run(l, r, &wait_ms))
            continue;
        int ends[3] = {r->cmd.in_fd, r->cmd.out_fd, r->cmd.err_fd};
        for (int i = 0; i < 3; i++)
            if (ends[i] >= 0) {
                owner[count] = r;
                fds[count++] = (struct pollfd){ends[i], i == 0 ? POLLOUT : POLLIN, 0};
            }
    }
    if (poll(fds, count, wait_ms < 0 ? 0 : wait_ms) > 0) {
        uint64_t wakes;
        if (fds[0].revents && read(l->wake_fd, &wakes, sizeof wakes) < 0) {
            /* nothing to do: the next wakeup writes again */
        }
        for (nfds_t i = 1; i < count; i++) {
            local_run *r = owner[i];
            int live = 0; /* a run another descriptor ended is gone from the list */
            for (local_run *x = l->runs; x; x = x->next)
                live |= x == r;
            if (!fds[i].revents || !live)
                continue;
            if (fds[i].fd == r->cmd.in_fd)
                feed_text(r);
            else if (fds[i].fd == r->cmd.out_fd)
                drain(l, r, &r->cmd.out_fd, 1);
            else if (fds[i].fd == r->cmd.err_fd)
                drain(l, r, &r->cmd.err_fd, 0);
        }
    }
    int running = 0;
    for (local_run *r = l->runs; r; r = r->next)
        running++;
    return running;
}

static void local_wakeup(csp_provider *base)
{
    uint64_t one = 1;
    if (write(((local_provider *)base)->wake_fd, &one, sizeof one) < 0) {
        /* the counter is full: a wakeup is already pending */
    }
}

static void local_free(csp_provider *base)
{
    local_provider *l = (local_provider *)base;
    while (l->runs) { /* stopped without events, as the interface says */
        local_run *r = l->runs;
        l->runs = r->next;
        run_free(r);
    }
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    csp__free(l);
}

/* A shell given {{Text}} inside its -c script: the text would be parsed as shell. */
static int text_in_shell_script(const csp_settings *s)
{
    static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh", "fish", "busybox"};
    const char *base = strrchr(s->local_command, '/');
    base = base ? base + 1 : s->local_command;
    int shell = 0;
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
        shell |= !strcmp(base, shells[i]);
    int script = 0, text = 0;
    for (size_t i = 0; i < s->local_argc; i++) {
        script |= !strcmp(s->local_args[i], "-c");
        text |= csp__template_uses(s->local_args[i], "Text");
    }
    return shell && script && text;
}

csp_provider *csp__provider_local_new(const csp_settings *settings, csp_report *report)
{
    local_provider *l = csp__calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base = (csp_provider){"tts-local-cli", 1, local_start, local_poll, local_wakeup, local_free,
                             NULL /* nothing to warm */};
    l->settings = settings;
    l->report = report;
    if ((l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        csp__free(l);
        return NULL;
    }
    if (text_in_shell_script(settings))
        csp__log(report, CSP_LOG_WARN,
                 "tts-local-cli: {{Text}} is put into a shell script (%s -c): a text, or a model's "
                 "reply, could run commands; let the command read the text on its standard input",
                 settings->local_command);
    if (settings->has_speed && settings->local_args_default &&
        espeak_wpm(settings->speed) != (int)(175.0 * settings->speed + 0.5))
        csp__log(report, CSP_LOG_WARN,
                 "speed %g is %d words a minute; espeak-ng takes 80-450, so it speaks at %d",
                 settings->speed, (int)(175.0 * settings->speed + 0.5), espeak_wpm(settings->speed));
    return &l->base;
}
