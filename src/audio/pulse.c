/* SPDX-License-Identifier: MIT */
/* pulse.c: libpulse loaded on demand, the connection, and playback through it (pulse.h). */
#include "pulse.h"

#include "alloc.h"
#include "capture.h"
#include "pulse_lib.h"
#include "report.h"
#include "sink.h"
#include "speaking_lock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int csp__pulse_expected(void)
{
    const char *server = getenv("PULSE_SERVER");
    if (server && *server)
        return 1;
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    char path[4096];
    struct stat st;
    if (!runtime || !*runtime || snprintf(path, sizeof path, "%s/pulse/native", runtime) >= (int)sizeof path)
        return 0;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

long long csp__pulse_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int csp__pulse_pump(csp_pulse *c, int ms)
{
    if (csp__pa.mainloop_prepare(c->loop, ms * 1000) < 0)
        return -1;
    if (csp__pa.mainloop_poll(c->loop) < 0)
        return -1;
    return csp__pa.mainloop_dispatch(c->loop) < 0 ? -1 : 0;
}

int csp__pulse_alive(csp_pulse *c)
{
    return csp__pa.context_get_state(c->context) == PA_CONTEXT_READY;
}

static void server_info(pa_context *context, const pa_server_info *info, void *userdata)
{
    (void)context;
    csp_pulse *c = userdata;
    if (info)
        snprintf(c->server_name, sizeof c->server_name, "%s %s",
                 !info->server_name ? "?" : strcmp(info->server_name, "pulseaudio") == 0 ? "PulseAudio" : info->server_name,
                 info->server_version ? info->server_version : "");
}

csp_pulse *csp__pulse_connect(int timeout_ms)
{
    if (csp__pulse_load() != 0)
        return NULL;
    csp_pulse *c = csp__calloc(1, sizeof *c);
    if (!c || !(c->loop = csp__pa.mainloop_new())) {
        csp__free(c);
        return NULL;
    }
    /* one at a time: two new contexts at once (the playback's warm-up and the microphone)
       race to create the cookie file, and libpulse complains on stderr */
    static pthread_mutex_t creating = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&creating);
    c->context = csp__pa.context_new(csp__pa.mainloop_get_api(c->loop), "clawspeak");
    /* no autospawn: a server that is not running is not started behind the user's back */
    int connecting = c->context &&
                     csp__pa.context_connect(c->context, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) == 0;
    pthread_mutex_unlock(&creating);
    if (!connecting) {
        csp__pulse_free(c);
        return NULL;
    }
    long long deadline = csp__pulse_now_ms() + timeout_ms;
    pa_context_state_t state;
    while ((state = csp__pa.context_get_state(c->context)) != PA_CONTEXT_READY) {
        if (!PA_CONTEXT_IS_GOOD(state) || csp__pulse_now_ms() > deadline ||
            csp__pulse_pump(c, 20) < 0) {
            csp__pulse_free(c);
            return NULL;
        }
    }
    /* one round trip on a local socket: which server it is, for --verbose and devices */
    pa_operation *op = csp__pa.context_get_server_info(c->context, server_info, c);
    while (op && csp__pa.operation_get_state(op) == PA_OPERATION_RUNNING &&
           csp__pulse_alive(c) && csp__pulse_now_ms() <= deadline && csp__pulse_pump(c, 20) == 0)
        ;
    if (op)
        csp__pa.operation_unref(op);
    return c;
}

void csp__pulse_free(csp_pulse *c)
{
    if (!c)
        return;
    /* disconnect sends nothing we wait for: it returns at once, even with a frozen server */
    if (c->context) {
        csp__pa.context_disconnect(c->context);
        csp__pa.context_unref(c->context);
    }
    if (c->loop)
        csp__pa.mainloop_free(c->loop);
    csp__free(c);
}

void csp__pulse_describe(csp_pulse *c, char *buf, size_t size)
{
    const char *server = csp__pa.context_get_server(c->context);
    snprintf(buf, size, "%s at %s", c->server_name[0] ? c->server_name : "a PulseAudio server",
             server ? server : "the default server");
}

/* --- playback --------------------------------------------------------------------------- */

/* The server starts playing once PREBUF_MS is queued and keeps TARGET_MS ahead: small, so
   the first sample is heard early, and enough for a busy machine (the decoder runs far
   ahead of real time once the first bytes are in). */
#define TARGET_MS 100
#define PREBUF_MS 40
/* The server took nothing this long while audio waited: frozen or gone */
#define STALL_MS 10000

typedef struct pulse_sink {
    csp_sink base;
    csp_pulse *c;
    pa_stream *stream;
    long stream_rate;
    int stream_channels;
    int wait_turn, lock_fd;
    int wrote; /* anything written to the stream */
} pulse_sink;

static csp_code server_failed(pulse_sink *s, const char *what)
{
    int err = csp__pa.context_errno(s->c->context);
    return csp__fail(s->base.report, CSP_EAUDIO, "%s: %s; save to a file instead with -o FILE",
                     what, err ? csp__pa.strerror(err) : "no answer");
}

static void close_stream(pulse_sink *s)
{
    if (s->stream) {
        csp__pa.stream_disconnect(s->stream); /* the server drops what is queued */
        csp__pa.stream_unref(s->stream);
        s->stream = NULL;
    }
}

static csp_code take_turn(pulse_sink *s)
{
    if (s->wait_turn && s->lock_fd < 0)
        return csp__speaking_lock(s->base.report, &s->lock_fd);
    return CSP_OK;
}

static csp_code open_stream(pulse_sink *s, long rate, int channels)
{
    csp_report *report = s->base.report;
    pa_sample_spec spec = {.format = PA_SAMPLE_S16NE, .rate = (uint32_t)rate, .channels = (uint8_t)channels};
    size_t frame = (size_t)channels * 2;
    pa_buffer_attr attr = {
        .maxlength = (uint32_t)-1,
        .tlength = (uint32_t)((size_t)rate * TARGET_MS / 1000 * frame),
        .prebuf = (uint32_t)((size_t)rate * PREBUF_MS / 1000 * frame),
        .minreq = (uint32_t)((size_t)rate * 10 / 1000 * frame),
        .fragsize = (uint32_t)-1,
    };
    close_stream(s);
    if (!csp__pulse_alive(s->c))
        return server_failed(s, "the sound server went away");
    if (!(s->stream = csp__pa.stream_new(s->c->context, "speech", &spec, NULL)))
        return server_failed(s, "cannot play through the sound server");
    /* "": the server's default sink, or $PULSE_SINK; else the echo canceller's */
    char to[64];
    csp__pulse_playback_sink(to, sizeof to);
    if (csp__pa.stream_connect_playback(s->stream, to[0] ? to : NULL, &attr,
                                        PA_STREAM_ADJUST_LATENCY, NULL, NULL) < 0)
        return server_failed(s, "cannot play through the sound server");
    long long deadline = csp__pulse_now_ms() + STALL_MS;
    pa_stream_state_t state;
    while ((state = csp__pa.stream_get_state(s->stream)) != PA_STREAM_READY) {
        if (csp__canceled(report))
            return CSP_ECANCELED;
        if (!PA_STREAM_IS_GOOD(state) || csp__pulse_pump(s->c, 20) < 0)
            return server_failed(s, "cannot play through the sound server");
        if (csp__pulse_now_ms() > deadline)
            return csp__fail(report, CSP_EAUDIO, "the sound server does not answer; save to a "
                             "file instead with -o FILE");
    }
    s->stream_rate = rate;
    s->stream_channels = channels;
    return CSP_OK;
}

/* The server resamples to its sink's rate itself: any rate is taken as it is. Opening here
   lets the stream set up while the rest of the first chunk decodes. */
static long pulse_rate_for(csp_sink *sink, long rate, int channels)
{
    pulse_sink *s = (pulse_sink *)sink;
    if (take_turn(s) == CSP_OK && !s->stream)
        open_stream(s, rate, channels); /* a failure is reported again by open */
    return rate;
}

static csp_code pulse_open(csp_sink *sink, long rate, int channels)
{
    pulse_sink *s = (pulse_sink *)sink;
    csp_code rc = take_turn(s);
    if (rc != CSP_OK)
        return rc;
    if (s->stream && s->stream_rate == rate && s->stream_channels == channels &&
        csp__pa.stream_get_state(s->stream) == PA_STREAM_READY)
        return CSP_OK;
    sink->report->error[0] = '\0';
    return open_stream(s, rate, channels);
}

static csp_code pulse_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    pulse_sink *s = (pulse_sink *)sink;
    size_t frame = (size_t)sink->channels * sizeof(int16_t);
    csp_code turn = take_turn(s); /* again after a rest (an idle --lines) */
    if (turn != CSP_OK)
        return turn;
    long long stalled_since = csp__pulse_now_ms();
    while (frames > 0) {
        if (csp__canceled(sink->report))
            return CSP_ECANCELED;
        if (csp__pa.stream_get_state(s->stream) != PA_STREAM_READY || !csp__pulse_alive(s->c))
            return server_failed(s, "audio playback failed: the sound server went away");
        size_t room = csp__pa.stream_writable_size(s->stream);
        if (room == (size_t)-1)
            return server_failed(s, "audio playback failed");
        size_t n = room / frame < frames ? room / frame : frames;
        if (n == 0) {
            if (csp__pulse_now_ms() - stalled_since > STALL_MS)
                return csp__fail(sink->report, CSP_EAUDIO, "audio playback failed: the sound "
                                 "server stopped taking audio; save to a file instead with -o FILE");
            if (csp__pulse_pump(s->c, 20) < 0)
                return server_failed(s, "audio playback failed");
            continue;
        }
        /* barge-in's echo canceller hears what we play (a no-op unless it asked) */
        csp__capture_playback(samples, n, sink->rate, sink->channels);
        if (csp__pa.stream_write(s->stream, samples, n * frame, NULL, 0, PA_SEEK_RELATIVE) < 0)
            return server_failed(s, "audio playback failed");
        s->wrote = 1;
        samples += n * (size_t)sink->channels;
        frames -= n;
        stalled_since = csp__pulse_now_ms();
        csp__pa.mainloop_iterate(s->c->loop, 0, NULL); /* send it now */
    }
    return CSP_OK;
}

/* Play out what is queued: the drain also starts a stream shorter than the prebuf. */
static csp_code drain(pulse_sink *s)
{
    csp_report *report = s->base.report;
    pa_operation *op = csp__pa.stream_drain(s->stream, NULL, NULL);
    if (!op)
        return server_failed(s, "audio playback failed");
    csp_code rc = CSP_OK;
    /* the queue is at most TARGET_MS plus the server's own latency: a drain that takes
       longer than the stall bound means the server stopped */
    long long deadline = csp__pulse_now_ms() + STALL_MS;
    while (csp__pa.operation_get_state(op) == PA_OPERATION_RUNNING) {
        if (csp__canceled(report)) {
            rc = CSP_ECANCELED;
            break;
        }
        if (!csp__pulse_alive(s->c) || csp__pulse_pump(s->c, 20) < 0) {
            rc = server_failed(s, "audio playback failed: the sound server went away");
            break;
        }
        if (csp__pulse_now_ms() > deadline) {
            rc = csp__fail(report, CSP_EAUDIO, "audio playback failed: the sound server stopped "
                           "playing; save to a file instead with -o FILE");
            break;
        }
    }
    if (rc == CSP_OK && csp__pa.operation_get_state(op) != PA_OPERATION_DONE)
        rc = server_failed(s, "audio playback failed");
    csp__pa.operation_unref(op);
    return rc;
}

static csp_code pulse_finish(csp_sink *sink, int commit)
{
    pulse_sink *s = (pulse_sink *)sink;
    csp_code rc = CSP_OK;
    if (s->stream && commit && s->wrote && !csp__canceled(sink->report))
        rc = drain(s);
    close_stream(s); /* after a cancel: what is queued is dropped at once */
    csp__speaking_unlock(s->lock_fd); /* the next clawspeak speaks once this one is heard out */
    s->lock_fd = -1;
    return rc;
}

/* Nothing to play for a while (an idle --lines): play out what is queued and let the
   speaking lock go, so another clawspeak can speak meanwhile; the next write takes it again. */
static csp_code pulse_rest(csp_sink *sink)
{
    pulse_sink *s = (pulse_sink *)sink;
    csp_code rc = CSP_OK;
    if (s->stream && s->wrote && !csp__canceled(sink->report))
        rc = drain(s);
    s->wrote = 0;
    csp__speaking_unlock(s->lock_fd);
    s->lock_fd = -1;
    return rc;
}

static void pulse_free(csp_sink *sink)
{
    pulse_sink *s = (pulse_sink *)sink;
    if (!s)
        return;
    pulse_finish(sink, 0);
    csp__pulse_free(s->c);
    csp__free(s);
}

static const csp_sink_ops pulse_ops = {.open = pulse_open, .write = pulse_write,
                                       .finish = pulse_finish, .free = pulse_free,
                                       .rate_for = pulse_rate_for, .rest = pulse_rest};

csp_code csp__sink_pulse_new(csp_report *report, csp_pulse *c, int wait_turn, csp_sink **out)
{
    pulse_sink *s = csp__calloc(1, sizeof *s);
    *out = NULL;
    if (!s) {
        csp__pulse_free(c);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    s->base.ops = &pulse_ops;
    s->base.report = report;
    s->c = c;
    s->wait_turn = wait_turn;
    s->lock_fd = -1;
    *out = &s->base;
    return CSP_OK;
}
