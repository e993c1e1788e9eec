/* SPDX-License-Identifier: MIT */
/*
 * local_tts.c: the tts-local-cli provider. The command runs with its
 * output to a private temporary directory; the WAV it writes is read with
 * libsndfile and removed. No shell is involved, so the text needs no
 * quoting. The chunk's text is always on the command's standard input; the
 * built-in espeak-ng default reads it there (--stdin), so text is never
 * parsed as options and never shows in `ps`. A user's own args keep
 * OpenClaw's {{Text}} placeholder as they wrote it.
 */
#define _GNU_SOURCE /* pipe2 */
#include "local_tts.h"

#include "cleanup.h"
#include "provider.h"
#include "report.h"
#include "sentences.h"
#include "settings.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sndfile.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Replace every {{Text}} and {{OutputPath}} in arg. */
static char *expand(const char *arg, const char *text, const char *output)
{
    csp_buf out;
    csp__buf_init(&out, 1 << 24);
    const char *p = arg;
    while (*p) {
        if (strncmp(p, "{{Text}}", 8) == 0) {
            if (csp__buf_append(&out, text, strlen(text)) < 0)
                goto fail;
            p += 8;
        } else if (strncmp(p, "{{OutputPath}}", 14) == 0) {
            if (csp__buf_append(&out, output, strlen(output)) < 0)
                goto fail;
            p += 14;
        } else {
            if (csp__buf_append(&out, p, 1) < 0)
                goto fail;
            p++;
        }
    }
    return csp__buf_steal(&out);
fail:
    csp__buf_free(&out);
    return NULL;
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
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        return local_fail(error, size, CSP_ELOCAL, "the local speech command wrote no readable audio: %s",
                         sf_strerror(NULL));
    *rate = info.samplerate;
    *channels = info.channels;
    short block[8192];
    sf_count_t frames_per_block = (sf_count_t)(8192 / info.channels);
    csp_code rc = CSP_OK;
    for (;;) {
        sf_count_t n = sf_readf_short(sf, block, frames_per_block);
        if (n <= 0)
            break;
        if (csp__buf_append(pcm, block, (size_t)n * (size_t)info.channels * sizeof(short)) < 0) {
            rc = local_fail(error, size, CSP_ENOMEM, "out of memory reading local audio");
            break;
        }
    }
    sf_close(sf);
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

/*
 * The command's environment: ours, without any API key (a local command has
 * no use for one), plus CLAWSPEAK_VOICE and CLAWSPEAK_SPEED for a user's own
 * command (environment, not new placeholders, so a config shared with
 * OpenClaw stays valid there). Strings not starting CLAWSPEAK_ are borrowed.
 */
static char **child_environment(const char *voice, double speed)
{
    size_t count = 0;
    while (environ[count])
        count++;
    char **env = csp__calloc(count + 4, sizeof *env);
    if (!env)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "OPENROUTER_API_KEY=", 19) && strncmp(environ[i], "OPENAI_API_KEY=", 15) &&
            strncmp(environ[i], "CLAWSPEAK_", 10))
            env[n++] = environ[i];
    /* marks the command as clawspeak's local engine: a clawspeak it starts, under any
       name (a copy, a wrapper script), never starts a local command of its own again */
    int ok = (env[n++] = csp__strdup("CLAWSPEAK_LOCAL_ENGINE=1")) != NULL;
    if (voice)
        ok &= (env[n++] = csp__printf("CLAWSPEAK_VOICE=%s", voice)) != NULL;
    if (speed > 0)
        ok &= (env[n++] = csp__printf("CLAWSPEAK_SPEED=%g", speed)) != NULL;
    if (!ok) {
        for (size_t i = 0; i < n; i++)
            if (env[i] && !strncmp(env[i], "CLAWSPEAK_", 10))
                csp__free(env[i]);
        csp__free(env);
        return NULL;
    }
    return env;
}

/* Free what child_environment made (the CLAWSPEAK_ strings; the rest is borrowed). */
static void free_environment(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        if (!strncmp(env[i], "CLAWSPEAK_", 10))
            csp__free(env[i]);
    csp__free(env);
}

/* Write the chunk's text to a file the command gets as its standard input. */
static int write_text_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    return close(fd) == 0 && done == len ? 0 : -1;
}

/* The first non-blank line a command wrote to path, printable characters only. */
static void first_line(const char *path, char *out, size_t size)
{
    char raw[1024];
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n = fd >= 0 ? read(fd, raw, sizeof raw - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    raw[n] = '\0';
    size_t used = 0;
    for (const char *p = raw + strspn(raw, " \t\r\n"); *p && *p != '\n' && used + 1 < size; p++)
        out[used++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    out[used] = '\0';
}

/* Wait for the command; on cancel, stop it. */
static csp_code wait_child(csp_report *report, pid_t pid, int *status, char *error, size_t size)
{
    for (;;) {
        pid_t done = waitpid(pid, status, WNOHANG);
        if (done == pid)
            return CSP_OK;
        if (done < 0 && errno != EINTR)
            return local_fail(error, size, CSP_ELOCAL, "lost the local speech command: %s",
                              strerror(errno));
        if (csp__canceled(report)) {
            kill(-pid, SIGTERM); /* the whole group: a wrapper script's children too */
            waitpid(pid, status, 0);
            return local_fail(error, size, CSP_ECANCELED, "interrupted");
        }
        struct timespec nap = {0, 5 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

csp_code csp__local_tts(const csp_settings *s, csp_report *report, const char *text, size_t len,
                        csp_buf *pcm, long *rate, int *channels, char *error, size_t size)
{
    char dir[] = "/tmp/clawspeak-XXXXXX";
    char *wav = NULL, *input = NULL, *errors = NULL, *text_copy = NULL, **argv = NULL, **env = NULL;
    int env_failed = 0;
    int slots[5] = {-1, -1, -1, -1, -1};
    csp_code rc = CSP_OK;
    if (!mkdtemp(dir))
        return local_fail(error, size, CSP_ELOCAL, "cannot make a temporary directory: %s",
                          strerror(errno));
    slots[0] = csp__cleanup_add_dir(dir);
    wav = csp__printf("%s/speech.wav", dir);
    input = csp__printf("%s/text", dir);
    errors = csp__printf("%s/errors", dir);
    text_copy = csp__strndup(text, len);
    argv = csp__calloc(s->local_argc + 6, sizeof *argv);
    if (!wav || !input || !errors || !text_copy || !argv) {
        rc = local_fail(error, size, CSP_ENOMEM, "out of memory");
        goto out;
    }
    slots[1] = csp__cleanup_add_file(wav);
    slots[2] = csp__cleanup_add_file(input);
    slots[4] = csp__cleanup_add_file(errors);
    if (write_text_file(input, text, len) < 0) {
        rc = local_fail(error, size, CSP_ELOCAL, "cannot write the text for the local engine: %s",
                        strerror(errno));
        goto out;
    }
    argv[0] = s->local_command;
    /* -v reaches local_voice only when the local engine is the chosen provider (the
       settings registry's "listens"); as a stand-in, only a voice espeak-ng knows (say.c) */
    const char *voice = s->local_voice ? s->local_voice : script_voice(text, len);
    char wpm[16] = "";
    if (s->has_speed)
        snprintf(wpm, sizeof wpm, "%d", espeak_wpm(s->speed));
    size_t argc = 1;
    for (size_t i = 0; i < s->local_argc; i++) {
        /* the built-in espeak-ng: voice and rate go before --stdin */
        if (s->local_args_default && i + 1 == s->local_argc) {
            if (voice)
                argv[argc++] = csp__strdup("-v"), argv[argc++] = csp__strdup(voice);
            if (*wpm)
                argv[argc++] = csp__strdup("-s"), argv[argc++] = csp__strdup(wpm);
        }
        argv[argc++] = expand(s->local_args[i], text_copy, wav);
    }
    env = child_environment(voice, wpm[0] ? s->speed : 0);
    for (size_t i = 1; i < argc; i++)
        if (!argv[i])
            env_failed = 1;
    if (env_failed || !env) {
        rc = local_fail(error, size, CSP_ENOMEM, "out of memory");
        goto out;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, input, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    /* what it says on failure is kept, to tell the user why ("voice does not exist") */
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errors,
                                     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    /* its own process group, so a stop reaches everything it started */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid;
    int err = posix_spawnp(&pid, s->local_command, &actions, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (err) {
        rc = local_fail(error, size, CSP_ELOCAL,
                        "cannot run the local speech command '%s': %s (install espeak-ng, or set "
                        "tts.providers.tts-local-cli.command)",
                        s->local_command, strerror(err));
        goto out;
    }
    slots[3] = csp__cleanup_add_child(pid);
    int status = 0;
    rc = wait_child(report, pid, &status, error, size);
    csp__cleanup_remove(slots[3]);
    if (rc != CSP_OK)
        goto out;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char said[240];
        first_line(errors, said, sizeof said);
        rc = local_fail(error, size, CSP_ELOCAL,
                        "the local speech command '%s' failed (exit status %d)%s%s",
                        s->local_command, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                        said[0] ? ": " : "", said);
        goto out;
    }
    rc = read_wav(error, size, wav, pcm, rate, channels);
out:
    for (size_t i = 1; argv && i < s->local_argc + 6; i++)
        csp__free(argv[i]);
    csp__free(argv);
    free_environment(env);
    if (wav)
        unlink(wav);
    if (input)
        unlink(input);
    if (errors)
        unlink(errors);
    rmdir(dir);
    for (size_t i = 0; i < 5; i++)
        if (i != 3)
            csp__cleanup_remove(slots[i]);
    csp__free(wav);
    csp__free(input);
    csp__free(errors);
    csp__free(text_copy);
    return rc;
}

/* The built-in engine's voices: `espeak-ng --voices`, read through a pipe with a cap. */
csp_code csp__local_voices(const csp_settings *s, csp_report *report, csp_buf *list)
{
    if (!s->local_args_default)
        return csp__fail(report, CSP_EUSAGE,
                         "the local command '%s' has no voice list to show; its voice is "
                         "tts.providers.tts-local-cli.voice (passed as CLAWSPEAK_VOICE)",
                         s->local_command);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return csp__fail(report, CSP_ELOCAL, "cannot make a pipe: %s", strerror(errno));
    char *argv[] = {s->local_command, "--voices", NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    char **env = child_environment(NULL, 0); /* no key reaches a child */
    int err = env ? posix_spawnp(&pid, s->local_command, &actions, NULL, argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&actions);
    free_environment(env);
    close(fds[1]);
    if (err) {
        close(fds[0]);
        return csp__fail(report, CSP_ELOCAL, "cannot run '%s': %s (install espeak-ng)",
                         s->local_command, strerror(err));
    }
    csp_buf raw;
    csp__buf_init(&raw, 1 << 20); /* espeak-ng's list is about 8 KB */
    char block[4096];
    ssize_t n;
    int too_long = 0;
    while ((n = read(fds[0], block, sizeof block)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (too_long = csp__buf_append(&raw, block, (size_t)n) < 0))
            break;
    }
    close(fds[0]);
    if (too_long)
        kill(pid, SIGTERM);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    csp_code rc = CSP_OK;
    if (too_long || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
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

/* --- the provider: one chunk at a time, synchronously, on the network thread --- */

typedef struct local_provider {
    csp_provider base;
    const csp_settings *settings;
    csp_report *report;
} local_provider;

static int local_start(csp_provider *base, const csp_chunk_request *request,
                       const csp_chunk_events *events)
{
    local_provider *l = (local_provider *)base;
    csp_buf pcm;
    long rate = 0;
    int channels = 0;
    csp_attempt_result result;
    memset(&result, 0, sizeof result);
    result.retry_after_s = -1;
    /* the local engine's audio is capped like the network's: by what the text can make */
    csp__buf_init(&pcm, csp__audio_cap(request->len, CSP_LOCAL_MAX_BYTES_PER_SECOND));
    csp_code rc = csp__local_tts(l->settings, l->report, request->text, request->len, &pcm, &rate,
                                 &channels, result.why, sizeof result.why);
    if (rc == CSP_OK) {
        csp_media media = {CSP_MEDIA_PCM, rate, channels};
        events->on_audio_start(events->ctx, &media);
        events->on_audio(events->ctx, pcm.data ? pcm.data : "", pcm.len);
        result.status = CSP_ATTEMPT_OK;
    } else {
        result.status = CSP_ATTEMPT_FAIL;
        result.code = rc;
        /* a missing or broken engine: the next provider of the chain (if any) may speak */
        result.provider_fault = rc == CSP_ELOCAL;
    }
    csp__buf_free(&pcm);
    events->on_done(events->ctx, &result);
    return 0;
}

static int local_poll(csp_provider *base, int wait_ms)
{
    (void)base, (void)wait_ms;
    return 0; /* the work is done inside start */
}
static void local_wakeup(csp_provider *base) { (void)base; }
static void local_free(csp_provider *base) { csp__free(base); }

csp_provider *csp__provider_local_new(const csp_settings *settings, csp_report *report)
{
    local_provider *l = csp__calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base = (csp_provider){"tts-local-cli", 1, local_start, local_poll, local_wakeup, local_free,
                             NULL /* nothing to warm */};
    l->settings = settings;
    l->report = report;
    if (settings->has_speed && settings->local_args_default &&
        espeak_wpm(settings->speed) != (int)(175.0 * settings->speed + 0.5))
        csp__log(report, CSP_LOG_WARN,
                 "speed %g is %d words a minute; espeak-ng takes 80-450, so it speaks at %d",
                 settings->speed, (int)(175.0 * settings->speed + 0.5), espeak_wpm(settings->speed));
    return &l->base;
}

/* For other commands clawspeak runs (a CLI recogniser): the same environment, keys left out. */
char **csp__child_environment(void) { return child_environment(NULL, 0); }
void csp__child_environment_free(char **env) { free_environment(env); }
void csp__child_first_line(const char *path, char *out, size_t size) { first_line(path, out, size); }
