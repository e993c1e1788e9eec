/* SPDX-License-Identifier: MIT */
/* audio_out.c: the default output chosen at run time, and the sink that plays through it. */
#include "audio_out.h"

#include "alloc.h"
#include "audio_system.h"
#include "load_order.h"
#include "portaudio_lib.h"
#include "pulse.h"
#include "report.h"
#include "sink.h"

#include <alsa/asoundlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long csp__out_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the choice ---------------------------------------------------------------------- */

typedef struct choice {
    csp_out_kind kind;
    csp_pulse *pulse;
    snd_pcm_t *pcm;
} choice;

/* How long a server that accepted the socket may take to say hello before ALSA plays. */
#define PULSE_CONNECT_MS 1500

static void choose(choice *c)
{
    memset(c, 0, sizeof *c);
    if (csp__pulse_expected() && (c->pulse = csp__pulse_connect(PULSE_CONNECT_MS))) {
        c->kind = CSP_OUT_PULSE;
        return;
    }
    if ((c->pcm = csp__alsa_open_default())) {
        c->kind = CSP_OUT_ALSA;
        return;
    }
    c->kind = CSP_OUT_PORTAUDIO;
    csp__audio_warm_up();
}

static void release(choice *c)
{
    csp__pulse_free(c->pulse);
    if (c->pcm)
        csp__alsa_close(c->pcm);
    memset(c, 0, sizeof *c);
}

/* The warm-up: one choice made from the top of the run on its own thread, adopted by the
   first sink; later sinks (a chat's next reply) choose again themselves. */
static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t warm_done = PTHREAD_COND_INITIALIZER;
static enum { WARM_NONE, WARM_RUNNING, WARM_READY, WARM_TAKEN } warm_state;
static choice warm_choice;
static char described[160]; /* what the last choice plays through, for --verbose/devices */

static void *warm_main(void *arg)
{
    (void)arg;
    csp__load_wait_first(50); /* libcurl, when a request comes first (load_order.h) */
    choice c;
    choose(&c);
    pthread_mutex_lock(&warm_lock);
    warm_choice = c;
    warm_state = WARM_READY;
    pthread_cond_broadcast(&warm_done);
    pthread_mutex_unlock(&warm_lock);
    return NULL;
}

/* At exit (a run that ended before it played: a usage error found late, a failed
   request): a choice still being made is waited for, boundedly, so exit does not free
   what the device's libraries are still reading (valgrind saw libasound's config files
   closed under __libc_freeres). */
#define EXIT_WAIT_MS 2000
static void end_unadopted(void)
{
    pthread_mutex_lock(&warm_lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += EXIT_WAIT_MS / 1000;
    while (warm_state == WARM_RUNNING &&
           pthread_cond_timedwait(&warm_done, &warm_lock, &until) == 0)
        ;
    if (warm_state == WARM_READY) {
        release(&warm_choice);
        warm_state = WARM_TAKEN;
    }
    pthread_mutex_unlock(&warm_lock);
}

void csp__out_warm_up(void)
{
    pthread_mutex_lock(&warm_lock);
    if (warm_state == WARM_NONE) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        /* detached: a sink waits for it with a cancel-aware bound instead of a join */
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, warm_main, NULL) == 0) {
            warm_state = WARM_RUNNING;
            atexit(end_unadopted);
        }
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&warm_lock);
}

/* The warm-up's choice, or a new one; CSP_ECANCELED when a cancel came while it waited. */
static csp_code take_choice(csp_report *report, choice *out)
{
    pthread_mutex_lock(&warm_lock);
    while (warm_state == WARM_RUNNING) {
        if (csp__canceled(report)) {
            pthread_mutex_unlock(&warm_lock);
            return CSP_ECANCELED;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 20 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&warm_done, &warm_lock, &until);
    }
    int adopt = warm_state == WARM_READY;
    if (adopt) {
        *out = warm_choice;
        warm_state = WARM_TAKEN;
    }
    pthread_mutex_unlock(&warm_lock);
    if (!adopt)
        choose(out);
    return CSP_OK;
}

static void describe_choice(const choice *c, char *buf, size_t size)
{
    if (c->kind == CSP_OUT_PULSE)
        csp__pulse_describe(c->pulse, buf, size);
    else if (c->kind == CSP_OUT_ALSA)
        snprintf(buf, size, "ALSA's 'default' device");
    else
        snprintf(buf, size, "PortAudio's default device");
}

void csp__out_describe(char *buf, size_t size)
{
    choice c;
    choose(&c);
    describe_choice(&c, buf, size);
    release(&c);
}

/* --- closing what may hang --------------------------------------------------------- */

static atomic_int wedged;

typedef struct closer {
    csp_out_kind kind;
    void *handle;
    int drain;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, abandoned;
} closer;

static void *close_main(void *arg)
{
    closer *c = arg;
    if (c->kind == CSP_OUT_ALSA) {
        snd_pcm_drop(c->handle); /* sink_alsa.c played it out already */
        snd_pcm_close(c->handle);
    } else {
        csp__stderr_hide(); /* PortAudio's ALSA layer prints its own complaints */
        if (c->drain)
            csp__portaudio.StopStream(c->handle);
        else
            csp__portaudio.AbortStream(c->handle);
        csp__portaudio.CloseStream(c->handle);
        csp__stderr_restore();
    }
    pthread_mutex_lock(&c->lock);
    c->done = 1;
    int abandoned = c->abandoned;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (abandoned) {
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        csp__free(c);
    }
    return NULL;
}

/* A close returns within this long (playing out the last of the audio: DRAIN_WAIT_MS),
   even when the plugin below waits on a frozen server */
#define CLOSE_WAIT_MS 300
#define DRAIN_WAIT_MS 2000

void csp__out_bounded_close(csp_out_kind kind, void *handle, int drain)
{
    closer *c = csp__calloc(1, sizeof *c);
    pthread_t t;
    pthread_attr_t attr;
    if (!c)
        return; /* leaked: the process is out of memory anyway */
    c->kind = kind;
    c->handle = handle;
    c->drain = drain;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, close_main, c) != 0) {
        pthread_attr_destroy(&attr);
        c->abandoned = 0;
        close_main(c); /* no thread: close here */
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        csp__free(c);
        return;
    }
    pthread_attr_destroy(&attr);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (drain ? DRAIN_WAIT_MS : CLOSE_WAIT_MS) * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&c->lock);
    while (!c->done && pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0)
        ;
    int done = c->done;
    if (!done) {
        c->abandoned = 1; /* the closer frees it if it ever returns */
        atomic_store(&wedged, 1);
    }
    pthread_mutex_unlock(&c->lock);
    if (done) {
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        csp__free(c);
    }
}

int csp__out_wedged(void) { return atomic_load(&wedged); }

/* --- the sink ------------------------------------------------------------------------ */

typedef struct device_sink {
    csp_sink base;
    csp_sink *inner;
    csp_out_kind kind;
    int wait_turn;
    char *device; /* --device: PortAudio's */
} device_sink;

static csp_code use_portaudio(device_sink *s)
{
    s->kind = CSP_OUT_PORTAUDIO;
    return csp__sink_portaudio_new(s->base.report, s->device, s->wait_turn, &s->inner);
}

/* The backend, once: the warm-up's choice adopted (waiting for it, cancel-aware). */
static csp_code resolve(device_sink *s)
{
    if (s->inner)
        return CSP_OK;
    if (s->device)
        return use_portaudio(s);
    choice c;
    csp_code rc = take_choice(s->base.report, &c);
    if (rc != CSP_OK)
        return rc;
    describe_choice(&c, described, sizeof described);
    csp__log(s->base.report, CSP_LOG_INFO, "playing through %s", described);
    s->kind = c.kind;
    if (c.kind == CSP_OUT_PULSE)
        return csp__sink_pulse_new(s->base.report, c.pulse, s->wait_turn, &s->inner);
    if (c.kind == CSP_OUT_ALSA)
        return csp__sink_alsa_new(s->base.report, c.pcm, s->wait_turn, &s->inner);
    return use_portaudio(s);
}

/* The fast backend could not take the stream (a format ALSA's device refuses): PortAudio
   tries, before any audio was written. */
static int fall_back(device_sink *s, csp_code rc)
{
    if (rc != CSP_EAUDIO || s->kind == CSP_OUT_PORTAUDIO || s->device)
        return 0;
    if (csp__portaudio_load() != 0)
        return 0; /* no PortAudio to try: the backend's own error stands */
    csp__log(s->base.report, CSP_LOG_INFO, "%s; playing through PortAudio instead",
             s->base.report->error);
    s->base.report->error[0] = '\0';
    csp__sink_finish(s->inner, 0);
    csp__sink_free(s->inner);
    s->inner = NULL;
    return use_portaudio(s) == CSP_OK;
}

static long dev_rate_for(csp_sink *sink, long rate, int channels)
{
    device_sink *s = (device_sink *)sink;
    if (resolve(s) != CSP_OK)
        return rate; /* open reports why */
    return csp__sink_rate_for(s->inner, rate, channels);
}

static csp_code dev_open(csp_sink *sink, long rate, int channels)
{
    device_sink *s = (device_sink *)sink;
    csp_code rc = resolve(s);
    if (rc != CSP_OK)
        return rc;
    rc = csp__sink_open(s->inner, rate, channels);
    if (rc != CSP_OK && fall_back(s, rc))
        rc = csp__sink_open(s->inner, rate, channels);
    return rc;
}

static csp_code dev_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    return csp__sink_write(((device_sink *)sink)->inner, samples, frames);
}

static csp_code dev_finish(csp_sink *sink, int commit)
{
    device_sink *s = (device_sink *)sink;
    return s->inner ? csp__sink_finish(s->inner, commit) : CSP_OK;
}

static void dev_free(csp_sink *sink)
{
    device_sink *s = (device_sink *)sink;
    if (!s)
        return;
    csp__sink_free(s->inner);
    csp__free(s->device);
    csp__free(s);
}

/* A failure already known, without waiting: only once the backend is chosen. */
static csp_code dev_check(csp_sink *sink)
{
    device_sink *s = (device_sink *)sink;
    if (!s->inner && !s->device) {
        pthread_mutex_lock(&warm_lock);
        int running = warm_state == WARM_RUNNING;
        pthread_mutex_unlock(&warm_lock);
        if (running)
            return CSP_OK;
    }
    csp_code rc = resolve(s);
    return rc == CSP_OK ? csp__sink_check(s->inner) : rc;
}

static csp_code dev_rest(csp_sink *sink)
{
    device_sink *s = (device_sink *)sink;
    return s->inner ? csp__sink_rest(s->inner) : CSP_OK;
}

static const csp_sink_ops dev_ops = {.open = dev_open, .write = dev_write, .finish = dev_finish,
                                     .free = dev_free, .rate_for = dev_rate_for,
                                     .check = dev_check, .rest = dev_rest};

static atomic_int need_reference;
void csp__out_need_reference(void) { atomic_store(&need_reference, 1); }

csp_code csp__sink_device_new(csp_report *report, const char *device, int wait_turn,
                              csp_sink **out)
{
    device_sink *s = csp__calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    s->base.ops = &dev_ops;
    s->base.report = report;
    s->wait_turn = wait_turn;
    if (device && !(s->device = csp__strdup(device))) {
        csp__free(s);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    if (device || atomic_load(&need_reference)) {
        csp_code rc = use_portaudio(s); /* PortAudio starts on its thread now, as before */
        if (rc != CSP_OK) {
            dev_free(&s->base);
            return rc;
        }
    } else {
        csp__out_warm_up(); /* a library caller that did not warm up: start choosing now */
    }
    *out = &s->base;
    return CSP_OK;
}

void csp_audio_warm_up_for(const char *device, int plays, int records)
{
    if (plays && !device)
        csp__out_warm_up();
    /* the microphone is the sound server's when one answers (capture.c) */
    if (device || (records && !csp__pulse_expected()))
        csp__audio_warm_up();
}

void csp_audio_warm_up(void) { csp_audio_warm_up_for(NULL, 1, 0); }
