/* SPDX-License-Identifier: MIT */
/*
 * commands.c: the subcommands. Each reads its input, calls the library and
 * prints results; audio goes to stdout only with -o -, all else to stderr.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A prompt from standard input: a model's context holds about this much, and more is a mistake. */
#define PROMPT_STDIN_MAX ((size_t)1 << 20)

/* All of in, at most max bytes (more is CSP_EINPUT, said here). */
static char *read_all(FILE *in, size_t max, size_t *len, csp_code *rc)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    *rc = CSP_OK;
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0)
            break;
        if (n > max) {
            free(buf);
            fprintf(stderr, "clawspeak: standard input is over %zu KiB, more than a prompt can "
                            "carry; give a part of it\n", max >> 10);
            *rc = CSP_EINPUT;
            return NULL;
        }
        if (n == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (!buf) {
        *rc = CSP_ENOMEM;
        return NULL;
    }
    if (ferror(in)) {
        free(buf);
        *rc = cli_interrupted() ? CSP_ECANCELED : CSP_EINPUT;
        return NULL;
    }
    *len = n;
    return buf;
}

/* The text for say from its arguments, joined by spaces. */
static csp_code words_text(const cli_args *args, char **text, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < args->word_count; i++)
        total += strlen(args->words[i]) + 1;
    *text = malloc(total);
    if (!*text)
        return CSP_ENOMEM;
    char *p = *text;
    for (size_t i = 0; i < args->word_count; i++) {
        size_t n = strlen(args->words[i]);
        memcpy(p, args->words[i], n);
        p += n;
        *p++ = ' ';
    }
    *len = total - 1;
    return CSP_OK;
}


/*
 * The progress bar, on a terminal only: for a conversion to a file from the
 * start, for playback once it has gone on for a while (a short "say Hi."
 * shows none), and erased when the run ends so the scrollback keeps none.
 */
typedef struct progress_bar {
    int shown, to_file;
} progress_bar;

#define PROGRESS_AFTER_SECONDS 2.0 /* playback: a run this long gets a bar */

static void draw_progress(void *userdata, const csp_progress *p)
{
    progress_bar *bar = userdata;
    if (!bar->to_file && p->elapsed_seconds < PROGRESS_AFTER_SECONDS)
        return;
    double rate = p->elapsed_seconds > 0 ? p->audio_seconds / p->elapsed_seconds : 0;
    char eta[32] = "";
    if (p->chunks_total && p->chunks_done && p->chunks_done < p->chunks_total) {
        double left = p->elapsed_seconds / (double)p->chunks_done *
                      (double)(p->chunks_total - p->chunks_done);
        snprintf(eta, sizeof eta, " ETA %.0fs", left);
    }
    char total[24] = "?";
    if (p->chunks_total)
        snprintf(total, sizeof total, "%zu", p->chunks_total);
    int width = 20, filled = p->chunks_total ? (int)(width * p->chunks_done / p->chunks_total) : 0;
    fprintf(stderr, "\r[%.*s%*s] chunk %zu/%s  %.1fs audio  %.1fx%s\033[K", filled,
            "####################", width - filled, "", p->chunks_done, total, p->audio_seconds,
            rate, eta);
    fflush(stderr);
    bar->shown = 1;
}

/* The bar goes when the run ends: the line is cleared for what comes next. */
static void erase_progress(progress_bar *bar)
{
    if (!bar->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    bar->shown = 0;
}

static void fill_say_options(const cli_args *args, csp_say_options *o, progress_bar *bar)
{
    memset(o, 0, sizeof *o);
    o->output_path = args->output;
    o->output_format = args->format;
    o->play = args->play;
    o->device = args->device;
    o->jobs = args->jobs;
    o->pause_ms = args->pause_ms_set ? (args->pause_ms == 0 ? -1 : args->pause_ms) : 0;
    o->max_behind_s = args->max_behind;
    o->markdown = args->markdown;
    o->read_code = args->read_code;
    o->no_wait = args->no_wait;
    o->sample_rate = args->sample_rate;
    o->volume_set = args->volume_set;
    o->volume = args->volume;
    o->normalize = args->normalize;
    o->lead_in_ms = args->lead_in_ms;
    o->subtitles_path = args->subtitles;
    /* a conversion to a file keeps its paid chunks until it is whole (say only: a reply
       is never the same twice) */
    o->chunks = args->command != CLI_SAY ? CSP_CHUNKS_DISCARD
                : args->resume          ? CSP_CHUNKS_RESUME
                                        : CSP_CHUNKS_KEEP;
    /* the bar only on a terminal, and never when audio goes to stdout */
    if (!args->quiet && isatty(fileno(stderr)) && !(args->output && !strcmp(args->output, "-"))) {
        bar->to_file = args->output || args->output_dir;
        o->progress = draw_progress;
        o->progress_userdata = bar;
    }
}

/*
 * A name as it may go to the terminal (csp_printable: escapes, line breaks and bytes that
 * are not UTF-8 become '?'). A file name is outside text like any server byte: "[1/2]
 * ESC]0;pwn BEL.txt" must not retitle the terminal, a newline must not forge a line. Four
 * buffers in turn, so one message can show several names.
 */
static const char *printable(const char *name)
{
    static _Thread_local char shown[4][4200];
    static _Thread_local unsigned next;
    char *out = shown[next++ % 4];
    csp_printable(name, out, sizeof shown[0]);
    return out;
}

/* -f x -o x (or through a link): writing would destroy the text being read. */
static int input_is_output(const cli_args *args)
{
    struct stat in, out;
    if (!args->output || !strcmp(args->output, "-") || stat(args->output, &out) != 0)
        return 0;
    for (size_t i = 0; i < args->file_count; i++)
        if (strcmp(args->files[i], "-") && stat(args->files[i], &in) == 0 &&
            in.st_dev == out.st_dev && in.st_ino == out.st_ino)
            return 1;
    return 0;
}

/* -f files (and '-'): one stream, in order, a paragraph break between files. */
static csp_code say_files(csp_client *client, const cli_args *args, const csp_say_options *options)
{
    csp_code rc = CSP_OK;
    int fds[CLI_MAX_WORDS];
    /* every file opens before anything is spoken: a typo fails at once, not halfway */
    for (size_t i = 0; i < args->file_count; i++) {
        fds[i] = strcmp(args->files[i], "-") ? open(args->files[i], O_RDONLY | O_CLOEXEC)
                                              : STDIN_FILENO;
        struct stat st;
        if (fds[i] < 0 && rc == CSP_OK) {
            fprintf(stderr, "clawspeak: %s: %s\n", printable(args->files[i]), strerror(errno));
            rc = CSP_EINPUT;
        } else if (fds[i] >= 0 && fstat(fds[i], &st) == 0 && S_ISDIR(st.st_mode) && rc == CSP_OK) {
            fprintf(stderr, "clawspeak: %s: is a directory; give a text file\n", printable(args->files[i]));
            rc = CSP_EINPUT;
        }
    }
    if (rc == CSP_OK)
        rc = csp_say_fds(client, fds, args->files, args->file_count, options);
    for (size_t i = 0; i < args->file_count; i++)
        if (fds[i] >= 0 && fds[i] != STDIN_FILENO)
            close(fds[i]);
    return rc;
}

/* Code points in a UTF-8 byte run (continuation bytes do not count). */
static long long count_characters(const char *bytes, size_t len)
{
    long long n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)bytes[i] & 0xC0) != 0x80;
    return n;
}

/* Characters say is about to send, when known before it starts: -1 for a stream. */
static long long known_characters(const cli_args *args)
{
    long long total = 0;
    for (size_t i = 0; i < args->word_count; i++) /* joined by spaces */
        total += count_characters(args->words[i], strlen(args->words[i])) + (i > 0);
    for (size_t i = 0; i < args->file_count; i++) {
        struct stat st;
        int fd = strcmp(args->files[i], "-") ? open(args->files[i], O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        char block[65536];
        ssize_t n;
        while ((n = read(fd, block, sizeof block)) > 0)
            total += count_characters(block, (size_t)n);
        close(fd);
    }
    if (args->word_count || args->file_count)
        return total;
    /* say < book.txt: a file on standard input is known too (read where it stands, not moved) */
    struct stat st;
    if (fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    off_t at = lseek(STDIN_FILENO, 0, SEEK_CUR);
    char block[65536];
    ssize_t n;
    while (at >= 0 && (n = pread(STDIN_FILENO, block, sizeof block, at)) > 0) {
        total += count_characters(block, (size_t)n);
        at += n;
    }
    return total;
}

/*
 * Before a large text goes to a paid API, on a terminal: say how much and,
 * where /models gives a price, what it will cost; ask. --yes skips it, and
 * a pipe or a script is never asked. Returns CSP_OK to go on.
 */
static csp_code confirm_large_text(csp_client *client, const cli_args *args)
{
    long long limit = args->confirm_over_set ? args->confirm_over : 20000;
    const char *provider = csp_setting_get(client, "provider");
    /* the local engine costs nothing: named as 'local' or 'tts-local-cli', or standing in
       for a missing key (no price is asked of /models then either) */
    if (args->yes || args->lines || !isatty(fileno(stderr)) ||
        (provider && (!strcmp(provider, "tts-local-cli") || !strcmp(provider, "local"))))
        return CSP_OK;
    long long chars = known_characters(args);
    if (chars <= limit)
        return CSP_OK;
    /* the answer comes from the terminal, also when the text comes from a file on stdin */
    FILE *answers = isatty(STDIN_FILENO) ? stdin : fopen("/dev/tty", "re");
    if (!answers)
        return CSP_OK; /* no terminal to ask: a script */
    char cost[120] = "";
    double price;
    if (csp_speech_price(client, &price) == CSP_OK && price >= 0)
        snprintf(cost, sizeof cost, " (about $%.2f at $%.2f per million characters)",
                 price * (double)chars, price * 1e6);
    fprintf(stderr, "clawspeak: about to send %lld characters to %s%s; go on? [y/N] ", chars,
            csp_setting_get(client, "model"), cost);
    fflush(stderr);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = cli_interrupted() ? -1 : getline(&line, &cap, answers);
    int yes = n > 0 && (line[0] == 'y' || line[0] == 'Y');
    free(line);
    if (answers != stdin)
        fclose(answers);
    if (yes)
        return CSP_OK;
    if (n <= 0)
        fputc('\n', stderr);
    if (cli_interrupted()) {
        /* said here: the client's last error may be the price lookup's, which is no news */
        fprintf(stderr, "clawspeak: interrupted; nothing was sent\n");
        return CLI_INTERRUPTED_SAID;
    }
    fprintf(stderr, "clawspeak: nothing was sent (--yes skips this question)\n");
    return CSP_ECANCELED;
}

/* DIR/NAME.FORMAT for -f FILE: the file's name without its last extension. */
static char *converted_name(const char *dir, const char *file, const char *format)
{
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    const char *dot = strrchr(base, '.');
    int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    size_t size = strlen(dir) + strlen(base) + strlen(format) + 3;
    char *path = malloc(size);
    if (path)
        snprintf(path, size, "%s/%.*s.%s", dir, len, base, format);
    return path;
}

/*
 * --output-dir: each -f FILE becomes DIR/NAME.FORMAT, one after another, so
 * --jobs is one request budget for the whole batch. A target newer than
 * its text is skipped unless --force; one line per file says what happened.
 */
static csp_code convert_files(csp_client *client, const cli_args *args, csp_say_options *options)
{
    const char *format = args->format ? args->format : "wav";
    char *targets[CLI_MAX_WORDS] = {0};
    csp_code rc = CSP_OK;
    if (mkdir(args->output_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "clawspeak: %s: %s\n", printable(args->output_dir), strerror(errno));
        return CSP_EOUTPUT;
    }
    /* every name is checked before anything is sent: a clash or a typo fails at once */
    for (size_t i = 0; rc == CSP_OK && i < args->file_count; i++) {
        struct stat st;
        const char *why = !strcmp(args->files[i], "-") ? "--output-dir converts files, not standard input"
                          : stat(args->files[i], &st) != 0 ? strerror(errno)
                          : !S_ISREG(st.st_mode)            ? "not a regular file"
                                                            : NULL;
        if (why) {
            fprintf(stderr, "clawspeak: %s: %s\n", printable(args->files[i]), why);
            rc = CSP_EINPUT;
            break;
        }
        if (!(targets[i] = converted_name(args->output_dir, args->files[i], format))) {
            rc = CSP_ENOMEM;
            break;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(targets[k], targets[i])) {
                fprintf(stderr, "clawspeak: %s and %s would both become %s; convert them "
                        "separately\n", printable(args->files[k]), printable(args->files[i]),
                        printable(targets[i]));
                rc = CSP_EUSAGE;
            }
    }
    size_t done = 0, skipped = 0;
    for (size_t i = 0; rc == CSP_OK && i < args->file_count; i++) {
        struct stat in, out;
        stat(args->files[i], &in);
        int exists = stat(targets[i], &out) == 0;
        if (exists && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
            fprintf(stderr, "clawspeak: %s would be written over itself\n", printable(args->files[i]));
            rc = CSP_EUSAGE;
            break;
        }
        if (exists && !args->force && out.st_mtime >= in.st_mtime) {
            if (!args->quiet)
                fprintf(stderr, "[%zu/%zu] %s: already converted (%s); --force converts it again\n",
                        i + 1, args->file_count, printable(args->files[i]), printable(targets[i]));
            skipped++;
            continue;
        }
        int fd = open(args->files[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "clawspeak: %s: %s\n", printable(args->files[i]), strerror(errno));
            rc = CSP_EINPUT;
            break;
        }
        options->output_path = targets[i];
        options->output_format = format;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = csp_say_fd(client, fd, options);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        close(fd);
        if (options->progress)
            erase_progress(options->progress_userdata);
        if (rc != CSP_OK) {
            fprintf(stderr, "[%zu/%zu] %s: not converted\n", i + 1, args->file_count, printable(args->files[i]));
            if (i + 1 < args->file_count)
                fprintf(stderr, "clawspeak: stopped: %zu converted, %zu skipped, %zu not tried "
                        "(from %s on)\n", done, skipped, args->file_count - i - 1,
                        printable(args->files[i + 1]));
            break;
        }
        done++;
        if (!args->quiet)
            fprintf(stderr, "[%zu/%zu] %s -> %s (in %.1f s)\n", i + 1, args->file_count,
                    printable(args->files[i]), printable(targets[i]),
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    if (!args->quiet && args->file_count > 1 && rc == CSP_OK)
        fprintf(stderr, "converted %zu, skipped %zu (already converted)\n", done, skipped);
    for (size_t i = 0; i < args->file_count; i++)
        free(targets[i]);
    return rc;
}

static csp_code cmd_say(csp_client *client, const cli_args *args)
{
    if (input_is_output(args)) {
        fprintf(stderr, "clawspeak: %s is both the input (-f) and the output (-o); choose another "
                        "output\n", printable(args->output));
        return CSP_EUSAGE;
    }
    csp_code rc = confirm_large_text(client, args);
    if (rc != CSP_OK)
        return rc == CSP_ECANCELED ? CLI_DECLINED : rc;
    csp_say_options options;
    progress_bar bar = {0};
    fill_say_options(args, &options, &bar);
    if (args->output_dir) {
        rc = convert_files(client, args, &options);
        return rc;
    }
    if (args->lines) {
        if (args->word_count) {
            fprintf(stderr, "clawspeak: --lines reads standard input; give no TEXT\n");
            return CSP_EUSAGE;
        }
        options.progress = NULL;
        rc = csp_say_lines(client, STDIN_FILENO, &options);
    } else if (args->file_count) {
        rc = say_files(client, args, &options);
    } else if (args->word_count) {
        char *text = NULL;
        size_t len = 0;
        if ((rc = words_text(args, &text, &len)) != CSP_OK) {
            fprintf(stderr, "clawspeak: out of memory\n");
            return rc;
        }
        rc = csp_say(client, text, len, &options);
        free(text);
    } else {
        /* no text: standard input; on a terminal, what is typed until Ctrl-D, as espeak-ng
           and say read it (each sentence is spoken as soon as it is whole) */
        if (isatty(STDIN_FILENO) && !args->quiet)
            fprintf(stderr, "clawspeak: type the text to say; Ctrl-D on a line of its own ends it\n");
        rc = csp_say_fd(client, STDIN_FILENO, &options);
    }
    erase_progress(&bar);
    return rc;
}

/* --- listening ------------------------------------------------------------ */

/* The level meter: drawn from the recording thread, only on a terminal, only while listening. */
typedef struct level_meter {
    pthread_mutex_t lock;
    int enabled, active, shown, frames;
} level_meter;

static level_meter meter = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};

static void draw_level(void *userdata, double level_db, int speech)
{
    (void)userdata;
    pthread_mutex_lock(&meter.lock);
    if (meter.enabled && meter.active && meter.frames++ % 5 == 0) { /* 10 a second */
        int width = 30, filled = (int)((level_db + 60) / 60 * width);
        filled = filled < 0 ? 0 : filled > width ? width : filled;
        fprintf(stderr, "\r%s [%.*s%*s] %4.0f dB ", speech ? "speech   " : "listening",
                filled, "##############################", width - filled, "", level_db);
        fflush(stderr);
        meter.shown = 1;
    }
    pthread_mutex_unlock(&meter.lock);
}

static void meter_set(int active)
{
    pthread_mutex_lock(&meter.lock);
    meter.active = active;
    if (!active && meter.shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        meter.shown = 0;
    }
    pthread_mutex_unlock(&meter.lock);
}

static csp_code open_listener(csp_client *client, const cli_args *args, int echo_cancel,
                              csp_listener **out)
{
    csp_listen_options lo;
    memset(&lo, 0, sizeof lo);
    lo.device = args->input_device ? args->input_device
                : args->command == CLI_LISTEN ? args->device : NULL;
    lo.silence_ms = args->silence_ms;
    lo.echo_cancel = echo_cancel;
    lo.level = draw_level;
    meter.enabled = !args->quiet && isatty(fileno(stderr));
    return csp_listener_new(client, &lo, out);
}

/* FILE for one utterance, FILE-N.EXT (N from 1) when --continuous gives several. */
static char *recording_name(const char *path, int continuous, unsigned n)
{
    if (!continuous)
        return strdup(path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - path) : strlen(path);
    size_t size = strlen(path) + 24;
    char *name = malloc(size);
    if (name)
        snprintf(name, size, "%.*s-%u%s", (int)stem, path, n, path + stem);
    return name;
}

/* The next utterance, saved when asked (-o), as text: the one place listen and ask --listen
   turn speech into a prompt. */
static csp_code heard_text(csp_client *client, csp_listener *listener, const cli_args *args,
                           unsigned n, char **text)
{
    int16_t *pcm = NULL;
    size_t frames = 0;
    *text = NULL;
    meter_set(1);
    csp_code rc = csp_listener_next(listener, &pcm, &frames);
    meter_set(0);
    if (rc == CSP_OK && args->command == CLI_LISTEN && args->output) {
        char *path = recording_name(args->output, args->continuous, n);
        rc = path ? csp_listener_save(listener, path, pcm, frames) : CSP_ENOMEM;
        if (rc == CSP_OK && args->verbose)
            fprintf(stderr, "clawspeak: saved %.1f s to %s\n", (double)frames / 16000, printable(path));
        free(path);
    }
    if (rc == CSP_OK)
        rc = csp_listener_transcribe(listener, pcm, frames, text);
    csp_free(pcm);
    (void)client;
    return rc;
}

static csp_code cmd_listen(csp_client *client, const cli_args *args)
{
    csp_listener *listener = NULL;
    csp_code rc = open_listener(client, args, 0, &listener);
    for (unsigned n = 1; rc == CSP_OK; n++) {
        char *text = NULL;
        rc = heard_text(client, listener, args, n, &text);
        if (rc == CSP_OK) {
            puts(text);
            fflush(stdout);
        }
        csp_free(text);
        if (!args->continuous)
            break;
    }
    csp_listener_free(listener);
    /* Ctrl-C is how --continuous is meant to end: a clean stop, not a failure */
    if (args->continuous && rc == CSP_ECANCELED && cli_interrupt_signal() == SIGINT)
        rc = CSP_OK;
    return rc;
}

static void print_text(void *userdata, const char *text, size_t len)
{
    (void)userdata; /* the console knows where the text goes */
    cli_console_text(text, len);
}

/* The conversation so far: grows with each turn of --chat. */
typedef struct history {
    csp_chat_message *messages;
    char **owned;
    size_t count, cap;
} history;

static int history_add(history *h, const char *role, char *content, int owned)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        csp_chat_message *m = realloc(h->messages, cap * sizeof *m);
        if (!m)
            return -1;
        h->messages = m;
        char **o = realloc(h->owned, cap * sizeof *o);
        if (!o)
            return -1;
        h->owned = o;
        h->cap = cap;
    }
    h->messages[h->count] = (csp_chat_message){role, content};
    h->owned[h->count] = owned ? content : NULL;
    h->count++;
    return 0;
}

static void history_free(history *h)
{
    for (size_t i = 0; i < h->count; i++)
        free(h->owned[i]);
    free(h->messages);
    free(h->owned);
}

/*
 * 1 + the offset of the first byte that is not strict UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF), or 0 when all is valid. The CLI sees only the public API, and
 * the library checks again where text enters; this lets a chat fail before its first turn.
 */
static size_t utf8_bad_byte(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; s[i];) {
        size_t n = s[i] < 0x80 ? 1 : s[i] >= 0xC2 && s[i] <= 0xDF ? 2 : s[i] >= 0xE0 && s[i] <= 0xEF ? 3
                 : s[i] >= 0xF0 && s[i] <= 0xF4 ? 4 : 0;
        unsigned lo = s[i] == 0xE0 ? 0xA0 : s[i] == 0xF0 ? 0x90 : 0x80;
        unsigned hi = s[i] == 0xED ? 0x9F : s[i] == 0xF4 ? 0x8F : 0xBF;
        if (!n)
            return i + 1;
        for (size_t k = 1; k < n; k++)
            if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xBF))
                return i + 1;
        i += n;
    }
    return 0;
}

/*
 * Piped standard input beside a PROMPT joins it as context, as llm and
 * similar tools do ("git diff | clawspeak ask 'review this'"): the text,
 * a blank line, then the prompt. Only a pipe or a file is read: a
 * terminal, /dev/null or a closed descriptor adds nothing. NULL with *rc
 * CSP_OK when there is none.
 */
static char *piped_context(const cli_args *args, size_t *len, csp_code *rc)
{
    struct stat st;
    *rc = CSP_OK;
    *len = 0;
    if (args->chat || fstat(STDIN_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode)))
        return NULL;
    char *text = read_all(stdin, PROMPT_STDIN_MAX, len, rc);
    if (text && !*len) {
        free(text);
        return NULL;
    }
    if (text && memchr(text, '\0', *len)) {
        /* the prompt is text: a NUL would cut it short without a word */
        fprintf(stderr, "clawspeak: standard input holds a NUL byte (binary data?); pipe text "
                        "in, or < /dev/null to send none\n");
        free(text);
        *rc = CSP_EINPUT;
        return NULL;
    }
    if (text && args->verbose) {
        size_t lines = text[*len - 1] != '\n';
        for (size_t i = 0; i < *len; i++)
            lines += text[i] == '\n';
        fprintf(stderr, "clawspeak: the prompt carries %zu byte%s (%zu line%s) from standard input\n",
                *len, *len == 1 ? "" : "s", lines, lines == 1 ? "" : "s");
    }
    return text;
}

/* The prompt from the arguments (with piped context), or all of standard input. */
static char *first_prompt(const cli_args *args, csp_code *rc)
{
    *rc = CSP_OK;
    if (args->word_count) {
        size_t total = 1, blank = 1, context_len = 0;
        for (size_t i = 0; i < args->word_count; i++)
            blank = blank && !args->words[i][strspn(args->words[i], " \t\r\n")];
        if (blank) {
            fprintf(stderr, "clawspeak: the prompt is empty; give a question to ask\n");
            *rc = CSP_EUSAGE;
            return NULL;
        }
        char *context = piped_context(args, &context_len, rc);
        if (*rc != CSP_OK)
            return NULL;
        for (size_t i = 0; i < args->word_count; i++)
            total += strlen(args->words[i]) + 1;
        total += context_len + 2;
        char *prompt = malloc(total), *p = prompt;
        if (prompt && context) {
            memcpy(p, context, context_len);
            p += context_len;
            /* the context ends, a blank line, then the question */
            if (context[context_len - 1] != '\n')
                *p++ = '\n';
            *p++ = '\n';
        }
        for (size_t i = 0; prompt && i < args->word_count; i++) {
            size_t n = strlen(args->words[i]);
            memcpy(p, args->words[i], n);
            p += n;
            if (i + 1 < args->word_count)
                *p++ = ' ';
        }
        if (prompt)
            *p = '\0';
        free(context);
        if (!prompt)
            *rc = CSP_ENOMEM;
        size_t bad = prompt ? utf8_bad_byte(prompt) : 0;
        if (bad) {
            fprintf(stderr, "clawspeak: the prompt is not valid UTF-8 text (byte %zu); nothing "
                            "was sent\n", bad);
            free(prompt);
            *rc = CSP_EUSAGE;
            return NULL;
        }
        return prompt;
    }
    if (args->chat)
        return NULL; /* the turns come from the terminal */
    if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "clawspeak: ask needs a PROMPT (or one on standard input)\n");
        *rc = CSP_EUSAGE;
        return NULL;
    }
    size_t len = 0;
    char *prompt = read_all(stdin, PROMPT_STDIN_MAX, &len, rc);
    char *grown = prompt ? realloc(prompt, len + 1) : NULL;
    if (!grown) {
        free(prompt);
        if (*rc == CSP_OK)
            *rc = CSP_ENOMEM;
        return NULL;
    }
    grown[len] = '\0';
    return grown;
}

/*
 * The next line typed in --chat, any length; NULL at the end. A pipe is read
 * with getline. On a terminal (le) the line is edited and goes into the
 * history; Ctrl-C drops the line being typed, and at an empty prompt says
 * how to leave: a second Ctrl-C there ends the chat, as Ctrl-D does.
 */
static char *next_turn(cli_lineedit *le, csp_client *client)
{
    int hinted = 0;
    while (le) {
        cli_line_status status;
        char *line = cli_lineedit_read(le, &status);
        if (status == CLI_LINE_TEXT && *line) {
            cli_lineedit_remember(le, line);
            return line;
        }
        free(line);
        if (status == CLI_LINE_END || (status != CLI_LINE_TEXT && cli_interrupt_signal() != SIGINT)) {
            fputc('\n', stderr); /* the shell's prompt starts on a line of its own */
            return NULL; /* Ctrl-D; or SIGTERM, SIGHUP, SIGQUIT: the run stops (130) */
        }
        if (status == CLI_LINE_TEXT)
            continue; /* an empty line */
        csp_client_clear_cancel(client); /* Ctrl-C at the prompt stops no reply */
        cli_interrupt_handled();
        if (status == CLI_LINE_INTERRUPTED && hinted) {
            fputs("^C\n", stderr);
            return NULL;
        }
        hinted = status == CLI_LINE_INTERRUPTED;
        fputs(hinted ? "^C\n(Ctrl-C again or Ctrl-D to leave)\n" : "^C\n", stderr);
    }
    char *line = NULL;
    size_t cap = 0;
    int prompt = isatty(STDIN_FILENO); /* a prompt is for a person, not for a pipe */
    for (;;) {
        if (prompt)
            fprintf(stderr, "> ");
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) {
            free(line);
            return NULL;
        }
        line[strcspn(line, "\n")] = '\0';
        if (*line)
            return line;
    }
}

/* The source of a resolved setting, as config prints it ("default" when nothing set it). */
static const char *setting_source(const csp_client *client, const char *wanted)
{
    const char *name, *value, *source;
    for (size_t i = 0; i < csp_setting_count(client); i++)
        if (csp_setting_at(client, i, &name, &value, &source) == CSP_OK && !strcmp(name, wanted))
            return source;
    return "";
}

/*
 * Whether ask speaks: it does unless the config (or the local preferences)
 * says otherwise with tts.auto; --speak and --no-speak decide; and options
 * that only make sense with speech (-o, --subtitles, --barge-in,
 * --echo-cancel) speak the reply whatever tts.auto says.
 */
static csp_speak_mode ask_speaks(const csp_client *client, const cli_args *args)
{
    if (args->no_speak)
        return CSP_SPEAK_NEVER;
    if (args->speak || args->output || args->subtitles || args->barge_in || args->echo_cancel)
        return CSP_SPEAK_ALWAYS;
    const char *source = setting_source(client, "auto");
    if (!strncmp(source, "default", 7))
        return CSP_SPEAK_ALWAYS; /* no tts.auto anywhere: a spoken answer is what ask is for */
    const char *mode = csp_setting_get(client, "auto");
    if (mode && !strcmp(mode, "off") && !args->quiet && isatty(fileno(stderr)))
        fprintf(stderr, "clawspeak: the reply is not spoken: tts.auto is \"off\" (%s); --speak "
                        "speaks it\n", source);
    return CSP_SPEAK_AUTO;
}

static csp_code cmd_ask(csp_client *client, const cli_args *args)
{
    csp_ask_options options;
    progress_bar bar = {0};
    memset(&options, 0, sizeof options);
    fill_say_options(args, &options.say, &bar);
    options.say.progress = NULL;
    options.speak = ask_speaks(client, args);
    options.on_text = print_text;
    /* stdout carries audio only when asked; then the reply text goes to stderr */
    FILE *text_out = args->output && !strcmp(args->output, "-") ? stderr : stdout;
    cli_console_set_text(text_out);
    history h = {0};
    cli_lineedit *le = NULL;
    csp_code rc = CSP_OK;
    csp_listener *listener = NULL;
    char *prompt = NULL;
    /* the system message goes into every request's JSON: checked before anything starts */
    size_t bad = args->system_prompt ? utf8_bad_byte(args->system_prompt) : 0;
    if (bad) {
        fprintf(stderr, "clawspeak: --system: the value is not valid UTF-8 text (byte %zu); "
                        "nothing was sent\n", bad);
        return CSP_EUSAGE;
    }
    if (args->listen || args->barge_in) {
        /* the microphone opens first: a missing one fails before anything is sent */
        if ((rc = open_listener(client, args, args->echo_cancel, &listener)) != CSP_OK)
            return rc;
        options.barge_in = args->barge_in ? listener : NULL;
        options.inbound = args->listen;
    }
    if (!args->listen && (prompt = first_prompt(args, &rc), rc != CSP_OK)) {
        csp_listener_free(listener);
        return rc;
    }
    if (args->listen && args->word_count) {
        fprintf(stderr, "clawspeak: with --listen the prompt is spoken; give no PROMPT\n");
        csp_listener_free(listener);
        return CSP_EUSAGE;
    }
    if (args->chat && !args->listen)
        le = cli_lineedit_new(args->verbose); /* NULL on a pipe: read plain lines */
    if (args->system_prompt && history_add(&h, "system", (char *)args->system_prompt, 0) < 0)
        rc = CSP_ENOMEM;
    unsigned turn = 0;
    while (rc == CSP_OK) {
        if (args->listen) {
            if ((rc = heard_text(client, listener, args, ++turn, &prompt)) != CSP_OK)
                break;
            if (!args->quiet)
                fprintf(stderr, "> %s\n", prompt); /* what was heard, as a typed turn shows */
        }
        if (!prompt && args->chat && !(prompt = next_turn(le, client))) {
            if (cli_interrupted())
                rc = CSP_ECANCELED;
            break;
        }
        if (!prompt || history_add(&h, "user", prompt, 1) < 0) {
            free(prompt);
            rc = CSP_ENOMEM;
            break;
        }
        prompt = NULL;
        char *reply = NULL;
        rc = csp_ask(client, h.messages, h.count, &options, &reply);
        cli_console_end_text(); /* ends the reply's line, if it printed one */
        if (rc == CSP_ECANCELED && csp_listener_barged_in(listener)) {
            /* the user spoke over the reply: it stops, and what they say is the next turn
               (their question stays in the history; the cut reply does not) */
            if (!args->quiet)
                fprintf(stderr, "clawspeak: (reply interrupted)\n");
            rc = CSP_OK;
            csp_free(reply);
            if (args->chat && args->listen)
                continue;
            break;
        }
        if (rc == CSP_ECANCELED && args->chat && cli_interrupt_signal() == SIGINT) {
            /* in a chat, Ctrl-C stops this reply only; the next turn goes on
               (SIGTERM, SIGHUP and SIGQUIT end the run) */
            fprintf(stderr, "clawspeak: (reply stopped)\n");
            csp_client_clear_cancel(client);
            cli_interrupt_handled();
            rc = CSP_OK;
            h.count--; /* the unanswered turn leaves the history */
            free(h.owned[h.count]);
            continue;
        }
        if (rc == CSP_OK && reply) {
            char *kept = strdup(reply);
            if (!kept || history_add(&h, "assistant", kept, 1) < 0) {
                free(kept);
                rc = CSP_ENOMEM;
            }
        }
        csp_free(reply);
        if (!args->chat)
            break;
    }
    if (rc == CSP_ENOMEM && !*csp_client_error(client))
        fprintf(stderr, "clawspeak: out of memory\n");
    cli_lineedit_free(le);
    history_free(&h);
    csp_listener_free(listener);
    return rc;
}

/* Print a JSON document on stdout and free it; NULL (built out of memory) is ENOMEM. */
static csp_code print_json(cJSON *root)
{
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return CSP_ENOMEM;
    puts(text);
    cJSON_free(text);
    return CSP_OK;
}

static csp_code cmd_config(csp_client *client, const cli_args *args)
{
    size_t count = csp_setting_count(client);
    const char *name, *value, *source;
    if (args->json) {
        cJSON *root = cJSON_CreateObject();
        /* the shape (documented in the README): {"name": {"value": ..., "source": "..."}},
           values typed: numbers as numbers, an unset value as null */
        for (size_t i = 0; root && i < count; i++) {
            csp_setting_at(client, i, &name, &value, &source);
            cJSON *item = cJSON_AddObjectToObject(root, name);
            char *end;
            double number = strtod(value, &end);
            const csp_setting_info *info = csp_setting_info_find(name);
            int numeric = info && (info->type == CSP_SETTING_NUMBER ||
                                   info->type == CSP_SETTING_INTEGER);
            if (!strcmp(value, "(not set)"))
                cJSON_AddNullToObject(item, "value");
            else if (numeric && *value && !*end)
                cJSON_AddNumberToObject(item, "value", number);
            else
                cJSON_AddStringToObject(item, "value", value);
            cJSON_AddStringToObject(item, "source", source);
        }
        return print_json(root);
    }
    for (size_t i = 0; i < count; i++) {
        csp_setting_at(client, i, &name, &value, &source);
        printf("%-19s %-40s  (%s)\n", name, value, source);
    }
    return CSP_OK;
}

/* voices --json: {"models": [{"id": "...", "voices": ["...", ...]}, ...]} */
static csp_code print_voices_json(csp_client *client)
{
    char *list = NULL;
    csp_code rc = csp_list_voices(client, &list);
    if (rc != CSP_OK)
        return rc;
    cJSON *root = cJSON_CreateObject(), *models = cJSON_AddArrayToObject(root, "models");
    cJSON *voices = NULL;
    for (char *line = strtok(list, "\n"); line && models; line = strtok(NULL, "\n")) {
        if (line[0] != ' ') {
            cJSON *model = cJSON_CreateObject();
            cJSON_AddItemToArray(models, model);
            cJSON_AddStringToObject(model, "id", line);
            voices = cJSON_AddArrayToObject(model, "voices");
        } else if (voices) {
            /* "  id" or, for the local engine, "  id  description": the id is what -v takes */
            line += strspn(line, " ");
            char *description = strstr(line, "  ");
            if (description)
                *description = '\0';
            cJSON_AddItemToArray(voices, cJSON_CreateString(line));
        }
    }
    csp_free(list);
    return print_json(root);
}

static csp_code print_list(csp_code (*list_fn)(csp_client *, char **), csp_client *client)
{
    char *list = NULL;
    csp_code rc = list_fn(client, &list);
    if (rc == CSP_OK)
        fputs(list, stdout);
    csp_free(list);
    return rc;
}

static csp_code cmd_models(csp_client *client, const cli_args *args)
{
    if (args->word_count == 0 || (args->word_count == 1 && !strcmp(args->words[0], "list"))) {
        csp_code rc = csp_client_load(client, args->config_path);
        return rc == CSP_OK ? print_list(csp_list_models, client) : rc;
    }
    if (args->word_count != 2 || strcmp(args->words[0], "set") != 0) {
        fprintf(stderr, "clawspeak: usage: clawspeak models [list] | models set REF (e.g. "
                        "openrouter/auto)\n");
        return CSP_EUSAGE;
    }
    csp_code rc = csp_config_set_model(client, args->config_path, args->words[1]);
    if (rc == CSP_OK)
        fprintf(stderr, "agents.defaults.model.primary = %s\n", printable(args->words[1]));
    return rc;
}

/* What transcribe prints: plain text, or one JSON object a line (--json). */
typedef struct transcript_out {
    const cli_args *args;
    FILE *direct;  /* stdout, or NULL: collected for -o FILE */
    char *collected;
    size_t len, cap;
    int nomem;
} transcript_out;

static void out_append(transcript_out *o, const char *text, size_t len)
{
    if (o->direct) {
        fwrite(text, 1, len, o->direct);
        fflush(o->direct);
        return;
    }
    if (o->len + len + 1 > o->cap) {
        size_t cap = (o->len + len + 1) * 2;
        char *grown = realloc(o->collected, cap);
        if (!grown) {
            o->nomem = 1;
            return;
        }
        o->collected = grown;
        o->cap = cap;
    }
    memcpy(o->collected + o->len, text, len);
    o->len += len;
}

static void on_transcript(void *userdata, size_t index, const csp_transcript *t)
{
    (void)index;
    transcript_out *o = userdata;
    if (!*t->text)
        fprintf(stderr, "clawspeak: %s: nothing was said (the transcript is empty)\n", printable(t->name));
    if (o->args->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "file", t->name);
        cJSON_AddStringToObject(root, "text", t->text);
        cJSON_AddStringToObject(root, "model", t->model);
        cJSON_AddNumberToObject(root, "duration", t->duration_s);
        cJSON_AddNumberToObject(root, "pieces", (double)t->pieces);
        cJSON *usage = cJSON_AddObjectToObject(root, "usage");
        /* a sum of pieces' costs (0.0014000000000000004): dollars to 1e-10 print as given */
        if (t->has_cost)
            cJSON_AddNumberToObject(usage, "cost", round(t->cost * 1e10) / 1e10);
        else
            cJSON_AddNullToObject(usage, "cost");
        if (t->has_billed_seconds)
            cJSON_AddNumberToObject(usage, "seconds", t->billed_seconds);
        else
            cJSON_AddNullToObject(usage, "seconds");
        cJSON_AddBoolToObject(root, "cut", t->cut);
        char *line = root ? cJSON_PrintUnformatted(root) : NULL;
        cJSON_Delete(root);
        if (!line) {
            o->nomem = 1;
            return;
        }
        out_append(o, line, strlen(line));
        out_append(o, "\n", 1);
        cJSON_free(line);
    } else if (*t->text) {
        out_append(o, t->text, strlen(t->text));
        out_append(o, "\n", 1);
    }
}

static csp_code cmd_transcribe(csp_client *client, const cli_args *args)
{
    const char *stdin_name = "-";
    const char *const *names = args->words;
    size_t count = args->word_count;
    if (!count) {
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr, "clawspeak: transcribe needs FILE... ('-' for standard input)\n");
            return CSP_EUSAGE;
        }
        names = &stdin_name;
        count = 1;
    }
    int *fds = calloc(count, sizeof *fds);
    const char **shown = calloc(count, sizeof *shown);
    csp_code rc = fds && shown ? CSP_OK : CSP_ENOMEM;
    for (size_t i = 0; i < count && rc == CSP_OK; i++)
        fds[i] = -1;
    /* every file opens before anything is sent: a typo fails at once */
    for (size_t i = 0; i < count && rc == CSP_OK; i++) {
        int is_stdin = !strcmp(names[i], "-");
        shown[i] = is_stdin ? "standard input" : names[i];
        fds[i] = is_stdin ? STDIN_FILENO : open(names[i], O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            fprintf(stderr, "clawspeak: %s: %s\n", printable(names[i]), errno == EINTR ? "interrupted" : strerror(errno));
            rc = errno == EINTR ? CSP_ECANCELED : CSP_EINPUT;
        }
        struct stat in, out;
        if (fds[i] >= 0 && args->output && strcmp(args->output, "-") && fstat(fds[i], &in) == 0 &&
            S_ISREG(in.st_mode) && stat(args->output, &out) == 0 && in.st_dev == out.st_dev &&
            in.st_ino == out.st_ino) {
            /* the transcript would replace the recording */
            fprintf(stderr, "clawspeak: %s is both an input and the output (-o); choose another "
                            "output\n", printable(names[i]));
            rc = CSP_EUSAGE;
        }
        for (size_t k = 0; is_stdin && k < i; k++)
            if (!strcmp(names[k], "-")) {
                fprintf(stderr, "clawspeak: standard input ('-') can be read once only\n");
                rc = CSP_EUSAGE;
            }
    }
    int to_stdout = !args->output || !strcmp(args->output, "-");
    transcript_out out = {args, to_stdout ? stdout : NULL, NULL, 0, 0, 0};
    csp_transcribe_options options = {args->jobs, on_transcript, &out};
    if (rc == CSP_OK)
        rc = csp_transcribe_fds(client, fds, shown, count, &options);
    if (rc == CSP_OK && out.nomem)
        rc = CSP_ENOMEM;
    /* the file appears whole or not at all, and only when every input was heard */
    if (rc == CSP_OK && !to_stdout)
        rc = csp_save_file(client, args->output, out.collected ? out.collected : "", out.len);
    for (size_t i = 0; fds && i < count; i++)
        if (fds[i] > STDIN_FILENO)
            close(fds[i]);
    free(fds);
    free(shown);
    free(out.collected);
    if (rc == CSP_ENOMEM && !*csp_client_error(client))
        fprintf(stderr, "clawspeak: out of memory\n");
    return rc;
}

csp_code cli_run(csp_client *client, const cli_args *args)
{
    for (size_t i = 0; i < args->override_count; i++) {
        csp_code rc = csp_client_override_as(client, args->overrides[i].name,
                                             args->overrides[i].value, args->overrides[i].typed);
        if (rc != CSP_OK)
            return rc;
    }
    if (args->command == CLI_MODELS)
        return cmd_models(client, args);
    if (args->command == CLI_DEVICES)
        return print_list(csp_list_devices, client);
    if (args->command == CLI_LISTEN && args->word_count) {
        fprintf(stderr, "clawspeak: 'listen' takes no arguments\n");
        return CSP_EUSAGE;
    }
    if (args->command != CLI_SAY && args->command != CLI_ASK && args->command != CLI_TRANSCRIBE &&
        args->word_count) {
        fprintf(stderr, "clawspeak: '%s' takes no arguments\n", cli_command_name(args->command));
        return CSP_EUSAGE;
    }
    csp_code rc = csp_client_load(client, args->config_path);
    if (rc != CSP_OK)
        return rc;
    if (args->list_voices)
        return print_list(csp_list_voices, client);
    switch (args->command) {
    case CLI_SAY: return cmd_say(client, args);
    case CLI_ASK: return cmd_ask(client, args);
    case CLI_TRANSCRIBE: return cmd_transcribe(client, args);
    case CLI_LISTEN: return cmd_listen(client, args);
    case CLI_CONFIG: return cmd_config(client, args);
    case CLI_VOICES: return args->json ? print_voices_json(client) : print_list(csp_list_voices, client);
    default: return CSP_EUSAGE;
    }
}
