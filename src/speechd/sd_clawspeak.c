/* SPDX-License-Identifier: MIT */
/*
 * sd_clawspeak: a speech-dispatcher output module built on libclawspeak.
 *
 * speech-dispatcher starts it once (argument: its modules/clawspeak.conf) and keeps it
 * running; commands come on stdin, one per line, replies and events go on stdout (the
 * module protocol of speech-dispatcher 0.11: INIT, AUDIO, SET, LIST VOICES, SPEAK,
 * CHAR, KEY, SOUND_ICON, STOP, PAUSE, LOGLEVEL, DEBUG, QUIT; events 700 INDEX MARK,
 * 701 BEGIN, 702 END, 703 STOP, 704 PAUSE). Standard error is the module's log.
 *
 * Being resident is the point: one csp_client for the module's life keeps its HTTP
 * connections (no TCP + TLS handshake per message), and the audio system stays started
 * (no device probing per message). The audio is played here, by the library's sink,
 * not handed to the server: volume, fallback and the device are the library's.
 *
 * Threads: the main thread reads commands and answers them; each message is spoken on
 * a thread of its own, which sends the message's events. Every write to the protocol
 * descriptor holds one lock, so an event never falls inside a multi-line reply.
 */
#include "clawspeak.h"
#include "ssml.h"
#include "voices.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LINE_CAP (1u << 20)            /* one protocol line */
#define MESSAGE_CAP (16u << 20)        /* one message's text: a long document at most */
#define LIST_TIMEOUT_MS "5000"         /* the voice list at startup must not hold the server */

/* --- output: the protocol descriptor, under one lock ----------------------------- */

static int proto_fd = -1;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void write_all(const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(proto_fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(1); /* the server is gone: nothing left to speak for */
        data += n;
        len -= (size_t)n;
    }
}

/* Write a reply or event; the caller holds out_lock. */
static void send_locked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void send_locked(const char *fmt, ...)
{
    char stack[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof stack) {
        write_all(stack, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    write_all(big, (size_t)n);
    free(big);
}

#define SEND(...)                                                                          \
    do {                                                                                   \
        pthread_mutex_lock(&out_lock);                                                     \
        send_locked(__VA_ARGS__);                                                          \
        pthread_mutex_unlock(&out_lock);                                                   \
    } while (0)

/* --- the log: standard error (speech-dispatcher's log file for the module) -------- */

static atomic_int log_level = CSP_LOG_WARN;
/* A copy of standard error made at the start: while the library hides descriptor 2 (device
   probes print noise there), the module's own lines still reach the log. */
static int log_fd = STDERR_FILENO;

static void logf_(csp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(csp_log_level level, const char *fmt, ...)
{
    if ((int)level > atomic_load(&log_level))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dprintf(log_fd, "sd_clawspeak: %s\n", line);
}

/* The library's messages are already redacted: no key reaches the log. */
static void library_log(void *userdata, csp_log_level level, const char *message)
{
    (void)userdata;
    logf_(level, "%s", message);
}

/* --- reading commands --------------------------------------------------------------- */

typedef struct reader {
    char buf[65536];
    size_t start, end;
} reader;

static reader in;

/*
 * One line without its '\n' into a malloc'd string (*len its length). A line over the cap
 * is read to its end and comes back cut at the cap with *over set. NULL: end of input.
 */
static char *read_line(size_t *len, int *over)
{
    size_t cap = 256, n = 0;
    char *line = malloc(cap);
    *over = 0;
    if (!line)
        return NULL;
    for (;;) {
        if (in.start == in.end) {
            ssize_t got = read(STDIN_FILENO, in.buf, sizeof in.buf);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                free(line);
                return NULL;
            }
            in.start = 0;
            in.end = (size_t)got;
        }
        char *nl = memchr(in.buf + in.start, '\n', in.end - in.start);
        size_t take = nl ? (size_t)(nl - (in.buf + in.start)) : in.end - in.start;
        size_t keep = n + take > LINE_CAP ? (n < LINE_CAP ? LINE_CAP - n : 0) : take;
        if (keep < take)
            *over = 1;
        if (n + keep + 1 > cap) {
            while (n + keep + 1 > cap)
                cap *= 2;
            char *bigger = realloc(line, cap);
            if (!bigger) {
                free(line);
                return NULL;
            }
            line = bigger;
        }
        memcpy(line + n, in.buf + in.start, keep);
        n += keep;
        in.start += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    line[n] = '\0';
    *len = n;
    return line;
}

/* --- the module's state --------------------------------------------------------------- */

typedef struct item {
    char *text; /* text to speak, or NULL */
    char *mark; /* a mark, or NULL */
    size_t len;
} item;

typedef struct settings {
    int rate, pitch, volume;
    char language[64], synthesis_voice[128], voice_type[32], punctuation[16];
} settings;

typedef struct module {
    const char *config_path;
    csp_client *client; /* messages: kept for the module's life (warm connections) */
    csp_client *local;  /* CHAR and KEY: espeak-ng, fast for one letter */
    char applied[512], local_applied[512]; /* the overrides each was loaded with */
    settings set;
    sd_voices voices;
    int voices_loaded;
    char *configured_voice;
    int has_key;
    pthread_t audio_keeper;
    int keeper_started;
    /* the message being spoken */
    pthread_t speaker;
    int speaker_running;     /* a thread to join */
    atomic_int busy;         /* its last event is not sent yet */
    atomic_int stop_asked, pause_asked, paused_at_mark, begun;
    csp_client *speaking_client;
    item *items;
    size_t item_count, item_cap;
    size_t text_bytes;
} module;

static module M;

static void free_items(void)
{
    for (size_t i = 0; i < M.item_count; i++) {
        free(M.items[i].text);
        free(M.items[i].mark);
    }
    M.item_count = 0;
    M.text_bytes = 0;
}

static int add_item(const char *text, size_t len, const char *mark)
{
    if (M.item_count == M.item_cap) {
        size_t cap = M.item_cap ? M.item_cap * 2 : 16;
        item *items = realloc(M.items, cap * sizeof *items);
        if (!items)
            return -1;
        M.items = items;
        M.item_cap = cap;
    }
    item *it = &M.items[M.item_count];
    memset(it, 0, sizeof *it);
    if (mark && !(it->mark = strdup(mark)))
        return -1;
    if (text) {
        if (!(it->text = malloc(len + 1)))
            return -1;
        memcpy(it->text, text, len);
        it->text[len] = '\0';
        it->len = len;
    }
    M.item_count++;
    return 0;
}

static int on_ssml_text(void *userdata, const char *text, size_t len)
{
    (void)userdata;
    /* consecutive text pieces join */
    if (M.item_count && M.items[M.item_count - 1].text) {
        item *last = &M.items[M.item_count - 1];
        char *joined = realloc(last->text, last->len + len + 1);
        if (!joined)
            return -1;
        memcpy(joined + last->len, text, len);
        last->len += len;
        joined[last->len] = '\0';
        last->text = joined;
        return 0;
    }
    return add_item(text, len, NULL);
}

static int on_ssml_mark(void *userdata, const char *name)
{
    (void)userdata;
    return add_item(NULL, 0, name);
}

/* --- settings: speech-dispatcher's SET to the library's overrides ---------------------- */

/* speech-dispatcher's rate (-100..100, 0 normal) as a speed: a third to three times. */
static double rate_to_speed(int rate) { return pow(3.0, (double)rate / 100.0); }

static char gender_of(const char *voice_type)
{
    if (!strncasecmp(voice_type, "female", 6) || !strncasecmp(voice_type, "child_female", 12))
        return 'f';
    if (!strncasecmp(voice_type, "male", 4) || !strncasecmp(voice_type, "child_male", 10))
        return 'm';
    return 0;
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static void load_voices(void);

/* Override name (value NULL: take it back), remembering the set for the signature. */
static void override(csp_client *c, char *sig, size_t size, const char *name, const char *value)
{
    csp_client_override(c, name, value);
    size_t used = strlen(sig);
    snprintf(sig + used, size - used, "%s=%s;", name, value ? value : "");
}

/*
 * Load client again if what this message asks for differs from what it was loaded with:
 * speed from the rate, and the voice: by name, else by language (a provider voice, else
 * espeak-ng's for that language), else as configured. The connections kept stay.
 */
static csp_code apply(csp_client *c, char *applied, int local_only)
{
    char sig[512] = "";
    char speed[32];
    snprintf(speed, sizeof speed, "%.3f", rate_to_speed(M.set.rate));
    override(c, sig, sizeof sig, "speed", M.set.rate ? speed : NULL);
    const char *voice = NULL, *provider = NULL;
    char local_voice[64] = "";
    const char *language = M.set.language[0] ? M.set.language : NULL;
    const sd_voice *chosen = NULL;
    if (M.set.synthesis_voice[0] || language) {
        load_voices();
        chosen = sd_voices_choose(&M.voices, M.set.synthesis_voice, language,
                                  gender_of(M.set.voice_type), M.configured_voice);
    }
    /* the voice setting goes to whichever provider speaks first (the settings registry);
       espeak-ng takes its voice for the language ("C", a locale's language, is none) */
    const char *lang = chosen && strcmp(chosen->language, "none") ? chosen->language : language;
    const sd_voice *local = lang ? (load_voices(), sd_voices_local(&M.voices, lang)) : NULL;
    if (local) {
        snprintf(local_voice, sizeof local_voice, "%s", local->language);
        lowercase(local_voice);
    }
    int engine_speaks = local_only || !M.has_key || (chosen && chosen->local);
    if (chosen && !chosen->local && !engine_speaks)
        voice = chosen->name;
    else if (engine_speaks && local_voice[0])
        voice = local_voice;
    if (!local_only)
        provider = M.has_key && chosen && chosen->local ? "local" : NULL; /* no provider voice */
    override(c, sig, sizeof sig, "voice", voice);
    if (!local_only)
        override(c, sig, sizeof sig, "provider", provider);
    if (!strcmp(sig, applied))
        return CSP_OK;
    csp_code rc = csp_client_load(c, M.config_path);
    if (rc != CSP_OK) {
        logf_(CSP_LOG_ERROR, "%s", csp_client_error(c));
        applied[0] = '\0';
        return rc;
    }
    snprintf(applied, 512, "%s", sig);
    logf_(CSP_LOG_INFO, "settings: %s", sig);
    return CSP_OK;
}

/* --- voices ----------------------------------------------------------------------------- */

static void load_voices(void)
{
    if (M.voices_loaded)
        return;
    char *provider = NULL, *local = NULL;
    if (M.has_key) {
        /* a client of its own, with a short timeout: the server waits for this list */
        csp_client *lister = csp_client_new();
        if (lister) {
            csp_client_set_log(lister, library_log, atomic_load(&log_level), NULL);
            csp_client_override(lister, "timeout_ms", LIST_TIMEOUT_MS);
            if (csp_client_load(lister, M.config_path) != CSP_OK ||
                csp_list_voices(lister, &provider) != CSP_OK)
                logf_(CSP_LOG_WARN, "the provider's voices are not listed: %s",
                      csp_client_error(lister));
            csp_client_free(lister);
        }
    }
    if (csp_list_voices(M.local, &local) != CSP_OK)
        logf_(CSP_LOG_WARN, "espeak-ng's voices are not listed: %s", csp_client_error(M.local));
    const char *model = csp_setting_get(M.client, "model");
    if (sd_voices_load(&M.voices, provider, model, local) < 0)
        logf_(CSP_LOG_ERROR, "out of memory listing voices");
    csp_free(provider);
    csp_free(local);
    M.voices_loaded = 1;
}

static void cmd_list_voices(void)
{
    load_voices();
    pthread_mutex_lock(&out_lock);
    if (!M.voices.count) {
        send_locked("304 CANT LIST VOICES\n");
    } else {
        for (size_t i = 0; i < M.voices.count; i++)
            send_locked("200-%s\t%s\tnone\n", M.voices.items[i].name, M.voices.items[i].language);
        send_locked("200 OK VOICE LIST SENT\n");
    }
    pthread_mutex_unlock(&out_lock);
}

/* --- speaking --------------------------------------------------------------------------- */

/* Called with out_lock held: BEGIN once per message, before anything else of it. */
static void begin_locked(void)
{
    if (!atomic_exchange(&M.begun, 1))
        send_locked("701 BEGIN\n");
}

/* The first audio is about to be written to the device (the library's first progress
   call): the message begins. */
static void on_progress(void *userdata, const csp_progress *progress)
{
    (void)userdata, (void)progress;
    if (!atomic_load(&M.begun)) {
        pthread_mutex_lock(&out_lock);
        begin_locked();
        pthread_mutex_unlock(&out_lock);
    }
}

/* The audio before a mark is out. A PAUSE stops at the first of speech-dispatcher's own
   marks (__spd_*), from which it resumes the message later. */
static int on_mark(void *userdata, const char *name)
{
    (void)userdata;
    if (atomic_load(&M.stop_asked))
        return 1; /* nothing after a STOP */
    pthread_mutex_lock(&out_lock);
    begin_locked();
    send_locked("700-%s\n700 INDEX MARK\n", name);
    pthread_mutex_unlock(&out_lock);
    /* the sentence before the mark plays out; nothing after it is asked for */
    if (atomic_load(&M.pause_asked) && !strncmp(name, "__spd_", 6)) {
        atomic_store(&M.paused_at_mark, 1);
        return 1;
    }
    return 0;
}

static void *speak_main(void *arg)
{
    csp_client *c = arg;
    csp_say_options o;
    memset(&o, 0, sizeof o);
    o.no_wait = 1; /* speech-dispatcher queues the messages; the speaking lock is for CLIs */
    o.progress = on_progress;
    o.on_mark = on_mark;
    if (M.set.volume < 100) {
        o.volume_set = 1;
        o.volume = (M.set.volume + 100) / 200.0;
    }
    csp_speaker *sp = NULL;
    csp_code rc = csp_speaker_new(c, &o, &sp);
    for (size_t i = 0; rc == CSP_OK && i < M.item_count; i++)
        rc = M.items[i].mark ? csp_speaker_mark(sp, M.items[i].mark)
                             : csp_speaker_write(sp, M.items[i].text, M.items[i].len);
    if (sp) {
        csp_code finished = csp_speaker_finish(sp);
        if (rc == CSP_OK)
            rc = finished;
        csp_speaker_free(sp);
    }
    int paused = atomic_load(&M.paused_at_mark);
    if (rc != CSP_OK && rc != CSP_ECANCELED && rc != CSP_EINPUT)
        logf_(CSP_LOG_ERROR, "%s", csp_client_error(c));
    pthread_mutex_lock(&out_lock);
    begin_locked();
    if (paused)
        send_locked("704 PAUSE\n");
    else if (rc == CSP_OK || rc == CSP_EINPUT) /* (nothing speakable in it: said, in a way) */
        send_locked("702 END\n");
    else
        send_locked("703 STOP\n"); /* a STOP, or a failure that ended the message */
    atomic_store(&M.busy, 0);
    pthread_mutex_unlock(&out_lock);
    return NULL;
}

static void join_speaker(void)
{
    if (M.speaker_running) {
        pthread_join(M.speaker, NULL);
        M.speaker_running = 0;
    }
}

/* KEY names ("shift_a", "kp-enter", "double-quote"): words to say. */
static void key_words(char *text)
{
    for (char *p = text; *p; p++)
        if (*p == '_' || *p == '-')
            *p = ' ';
}

typedef enum { MSG_TEXT, MSG_CHAR, MSG_KEY, MSG_ICON } msg_kind;

/* SPEAK, CHAR, KEY, SOUND_ICON: the data lines up to ".", then speak on a thread. */
static void cmd_speak(msg_kind kind)
{
    SEND("202 OK RECEIVING MESSAGE\n");
    char *text = NULL;
    size_t len = 0, lines = 0;
    int too_long = 0, eof = 0;
    for (;;) {
        size_t n;
        int over;
        char *line = read_line(&n, &over);
        if (!line) {
            eof = 1;
            break;
        }
        if (!strcmp(line, ".")) {
            free(line);
            break;
        }
        const char *data = line[0] == '.' ? line + 1 : line; /* ".." was an escaped "." */
        n -= (size_t)(data - line);
        lines++;
        if (over || too_long || len + n + 1 > MESSAGE_CAP) {
            too_long = 1;
            free(line);
            continue;
        }
        char *grown = realloc(text, len + n + 2);
        if (!grown) {
            too_long = 1;
            free(line);
            continue;
        }
        text = grown;
        if (len)
            text[len++] = '\n';
        memcpy(text + len, data, n);
        len += n;
        text[len] = '\0';
        free(line);
    }
    if (eof) {
        free(text);
        exit(0); /* the server went away mid-message */
    }
    const char *why = too_long ? "too long" : !len ? "empty" : NULL;
    if (!why && kind != MSG_TEXT && lines > 1) {
        free(text);
        SEND("305 DATA MORE THAN ONE LINE\n");
        return;
    }
    if (!why && atomic_load(&M.busy))
        why = "already speaking";
    if (why) {
        logf_(CSP_LOG_WARN, "cannot speak the message: %s", why);
        free(text);
        SEND("301 ERROR CANT SPEAK\n");
        return;
    }
    join_speaker();
    free_items();
    int failed = 0;
    csp_client *c = M.client;
    if (kind == MSG_TEXT) {
        static const ssml_ops ops = {on_ssml_text, on_ssml_mark};
        failed = ssml_walk(text, len, &ops, NULL) != 0;
    } else {
        /* one character or key: espeak-ng is there at once, no request to wait for */
        c = M.local;
        if (kind == MSG_CHAR && (!strcmp(text, "space") || !strcmp(text, " ")))
            strcpy(text, "space");
        if (kind == MSG_KEY || kind == MSG_ICON)
            key_words(text);
        failed = add_item(text, strlen(text), NULL) < 0;
    }
    free(text);
    if (failed || apply(c, c == M.local ? M.local_applied : M.applied, c == M.local) != CSP_OK) {
        free_items();
        SEND("301 ERROR CANT SPEAK\n");
        return;
    }
    /* a STOP or PAUSE before this message is no concern of it */
    atomic_store(&M.stop_asked, 0);
    atomic_store(&M.pause_asked, 0);
    atomic_store(&M.paused_at_mark, 0);
    atomic_store(&M.begun, 0);
    csp_client_clear_cancel(c);
    M.speaking_client = c;
    /* the reply goes before any event of the message: the thread starts under the lock */
    pthread_mutex_lock(&out_lock);
    atomic_store(&M.busy, 1);
    if (pthread_create(&M.speaker, NULL, speak_main, c) != 0) {
        atomic_store(&M.busy, 0);
        send_locked("301 ERROR CANT SPEAK\n");
    } else {
        M.speaker_running = 1;
        send_locked("200 OK SPEAKING\n");
    }
    pthread_mutex_unlock(&out_lock);
}

static void cmd_stop(void)
{
    if (!atomic_load(&M.busy))
        return; /* nothing speaks: not an error, and nothing to report */
    atomic_store(&M.stop_asked, 1);
    csp_client_cancel(M.speaking_client);
}

static void cmd_pause(void)
{
    if (atomic_load(&M.busy))
        atomic_store(&M.pause_asked, 1);
}

/* --- SET, AUDIO, LOGLEVEL: "name=value" lines up to "." -------------------------------- */

static int set_number(int *field, const char *value, int min, int max)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (end == value || *end || v < min || v > max)
        return -1;
    *field = (int)v;
    return 0;
}

static int set_text(char *field, size_t size, const char *value)
{
    if (!strcmp(value, "NULL")) {
        field[0] = '\0';
        return 0;
    }
    if (strlen(value) >= size)
        return -1;
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20)
            return -1;
    strcpy(field, value);
    return 0;
}

static int set_one(const char *name, const char *value)
{
    if (!strcmp(name, "rate"))
        return set_number(&M.set.rate, value, -100, 100);
    if (!strcmp(name, "pitch"))
        return set_number(&M.set.pitch, value, -100, 100); /* no provider takes a pitch */
    if (!strcmp(name, "volume"))
        return set_number(&M.set.volume, value, -100, 100);
    if (!strcmp(name, "language"))
        return set_text(M.set.language, sizeof M.set.language, value);
    if (!strcmp(name, "synthesis_voice"))
        return set_text(M.set.synthesis_voice, sizeof M.set.synthesis_voice, value);
    if (!strcmp(name, "voice"))
        return set_text(M.set.voice_type, sizeof M.set.voice_type, value);
    if (!strcmp(name, "punctuation_mode"))
        return set_text(M.set.punctuation, sizeof M.set.punctuation, value);
    /* pitch_range, spelling_mode, cap_let_recogn...: taken, with nothing to change */
    return 0;
}

static int audio_one(const char *name, const char *value)
{
    /* the server offers to play the audio itself: no, the library plays it (its device,
       volume and fallback), so the server sends its own audio settings next */
    if (!strcmp(name, "audio_output_method") && !strcmp(value, "server"))
        return -1;
    return 0;
}

static int loglevel_one(const char *name, const char *value)
{
    if (strcmp(name, "log_level") != 0)
        return 0;
    int level = atoi(value);
    atomic_store(&log_level, level >= 5 ? CSP_LOG_DEBUG : level >= 4 ? CSP_LOG_INFO : CSP_LOG_WARN);
    csp_client_set_log(M.client, library_log, atomic_load(&log_level), NULL);
    csp_client_set_log(M.local, library_log, atomic_load(&log_level), NULL);
    return 0;
}

/* Returns 0 when every line was taken; else the error reply was sent. */
static int read_params(int ack, const char *what, int (*one)(const char *, const char *))
{
    SEND("%d OK RECEIVING %sSETTINGS\n", ack, what);
    const char *err = NULL;
    for (;;) {
        size_t n;
        int over;
        char *line = read_line(&n, &over);
        if (!line)
            exit(0);
        if (!strcmp(line, ".")) {
            free(line);
            break;
        }
        char *eq = strchr(line, '=');
        if (!eq || over || !eq[1]) {
            err = "302 ERROR BAD SYNTAX";
        } else {
            *eq = '\0';
            if (one(line, eq + 1) != 0)
                err = "303 ERROR INVALID PARAMETER OR VALUE";
        }
        free(line);
    }
    if (err)
        SEND("%s\n", err);
    return err ? -1 : 0;
}

/* --- startup ------------------------------------------------------------------------------- */

/* modules/clawspeak.conf: "ClawspeakConfig PATH" names the OpenClaw config (default: where
   OpenClaw looks); speech-dispatcher's own keys are ignored. */
static char *read_module_conf(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char line[4096], *found = NULL;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        if (strncmp(p, "ClawspeakConfig", 15) != 0 || (p[15] != ' ' && p[15] != '\t'))
            continue;
        p += 15;
        p += strspn(p, " \t\"");
        size_t n = strcspn(p, "\"\r\n");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n)
            found = strndup(p, n);
    }
    if (f)
        fclose(f);
    return found;
}

static void *keep_audio(void *arg)
{
    (void)arg;
    csp_audio_keep(1); /* PortAudio's device probe once, not once a message */
    return NULL;
}

static int init(char **why)
{
    M.set.volume = 100;
    if (!(M.client = csp_client_new()) || !(M.local = csp_client_new())) {
        *why = strdup("out of memory");
        return -1;
    }
    csp_client_set_log(M.client, library_log, CSP_LOG_WARN, NULL);
    csp_client_set_log(M.local, library_log, CSP_LOG_WARN, NULL);
    csp_client_override(M.local, "provider", "local");
    if (csp_client_load(M.client, M.config_path) != CSP_OK ||
        csp_client_load(M.local, M.config_path) != CSP_OK) {
        const char *e = csp_client_error(M.client);
        *why = strdup(*e ? e : csp_client_error(M.local));
        return -1;
    }
    const char *key = csp_setting_get(M.client, "api_key");
    M.has_key = key && *key && *key != '('; /* "(not set)" */
    const char *voice = csp_setting_get(M.client, "voice");
    M.configured_voice = voice ? strdup(voice) : NULL;
    if (pthread_create(&M.audio_keeper, NULL, keep_audio, NULL) == 0)
        M.keeper_started = 1;
    const char *provider = csp_setting_get(M.client, "provider");
    char *msg = malloc(256);
    if (msg)
        snprintf(msg, 256, "clawspeak %s: %s", csp_version(),
                 M.has_key ? (provider ? provider : "openrouter") : "espeak-ng (no API key)");
    *why = msg;
    return 0;
}

static void shutdown_module(void)
{
    if (atomic_load(&M.busy)) {
        atomic_store(&M.stop_asked, 1);
        csp_client_cancel(M.speaking_client);
    }
    join_speaker();
    free_items();
    free(M.items);
    if (M.keeper_started) {
        pthread_join(M.audio_keeper, NULL);
        csp_audio_keep(0);
    }
    sd_voices_free(&M.voices);
    free(M.configured_voice);
    csp_client_free(M.client);
    csp_client_free(M.local);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    /* the protocol gets a descriptor of its own; fd 1 becomes the log too, so nothing a
       library or a child prints can land in the middle of a reply */
    proto_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    int copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (copy >= 0)
        log_fd = copy;
    if (proto_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fprintf(stderr, "sd_clawspeak: cannot set up the protocol descriptor\n");
        return 1;
    }
    if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-h") ||
                     !strcmp(argv[1], "--help"))) {
        dprintf(proto_fd,
                "sd_clawspeak %s: a speech-dispatcher output module (started by "
                "speech-dispatcher, not by hand; see clawspeak's README)\n",
                csp_version());
        return 0;
    }
    char *conf = read_module_conf(argc > 1 ? argv[1] : NULL);
    M.config_path = conf;
    size_t n;
    int over;
    char *line = read_line(&n, &over);
    if (!line || strcmp(line, "INIT") != 0) {
        fprintf(stderr, "sd_clawspeak: the server did not start with INIT\n");
        free(line);
        free(conf);
        return 3;
    }
    free(line);
    char *why = NULL;
    if (init(&why) != 0) {
        /* the reason is a library error: redacted, one line */
        SEND("399-%s\n399 ERR CANT INIT MODULE\n", why ? why : "out of memory");
        fprintf(stderr, "sd_clawspeak: %s\n", why ? why : "out of memory");
        free(why);
        shutdown_module();
        free(conf);
        return 1;
    }
    SEND("299-%s\n299 OK LOADED SUCCESSFULLY\n", why ? why : "clawspeak");
    free(why);
    while ((line = read_line(&n, &over)) != NULL) {
        if (!strcmp(line, "SPEAK"))
            cmd_speak(MSG_TEXT);
        else if (!strcmp(line, "CHAR"))
            cmd_speak(MSG_CHAR);
        else if (!strcmp(line, "KEY"))
            cmd_speak(MSG_KEY);
        else if (!strcmp(line, "SOUND_ICON"))
            cmd_speak(MSG_ICON);
        else if (!strcmp(line, "STOP"))
            cmd_stop();
        else if (!strcmp(line, "PAUSE"))
            cmd_pause();
        else if (!strcmp(line, "LIST VOICES"))
            cmd_list_voices();
        else if (!strcmp(line, "SET")) {
            if (read_params(203, "", set_one) == 0)
                SEND("203 OK SETTINGS RECEIVED\n");
        } else if (!strcmp(line, "AUDIO")) {
            if (read_params(207, "AUDIO ", audio_one) == 0)
                SEND("203 OK AUDIO INITIALIZED\n");
        } else if (!strcmp(line, "LOGLEVEL")) {
            if (read_params(207, "LOGLEVEL ", loglevel_one) == 0)
                SEND("203 OK LOGLEVEL SET\n");
        } else if (!strncmp(line, "DEBUG", 5)) {
            SEND("200 OK DEBUGGING %s\n", strstr(line, " ON") ? "ON" : "OFF");
        } else if (!strcmp(line, "QUIT")) {
            free(line);
            shutdown_module();
            SEND("210 OK QUIT\n");
            free(conf);
            return 0;
        } else {
            SEND("300 ERR UNKNOWN COMMAND\n");
        }
        free(line);
    }
    shutdown_module(); /* the server closed our stdin */
    free(conf);
    return 0;
}
