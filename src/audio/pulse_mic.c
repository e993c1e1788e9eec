/* SPDX-License-Identifier: MIT */
/*
 * pulse_mic.c: the microphone through libpulse (pulse.h), and the sound server's own
 * echo canceller. For --echo-cancel the server loads module-echo-cancel with its WebRTC
 * canceller for this run: we record from its source and the reply plays to its sink
 * (csp__pulse_play_to), so the canceller has the exact audio it removes, on the server's
 * clock. The module is unloaded when the microphone closes.
 */
#include "pulse.h"

#include "alloc.h"
#include "pulse_lib.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A request the server should answer at once; longer means frozen or gone. */
#define ANSWER_MS 2000
/* What the server holds for us between reads: small, since barge-in waits on it. */
#define FRAGMENT_MS 20

struct csp_pulse_mic {
    csp_pulse *c;
    pa_stream *stream;
    uint32_t module; /* module-echo-cancel's index, PA_INVALID_INDEX when none */
    char source[64], sink[64];
    const int16_t *held; /* a fragment peeked and partly read */
    size_t held_bytes;
};

/* --- where playback goes --------------------------------------------------------------- */

static pthread_mutex_t route_lock = PTHREAD_MUTEX_INITIALIZER;
static char route_sink[64];

void csp__pulse_play_to(const char *sink)
{
    pthread_mutex_lock(&route_lock);
    snprintf(route_sink, sizeof route_sink, "%s", sink ? sink : "");
    pthread_mutex_unlock(&route_lock);
}

void csp__pulse_playback_sink(char *buf, size_t size)
{
    pthread_mutex_lock(&route_lock);
    snprintf(buf, size, "%s", route_sink);
    pthread_mutex_unlock(&route_lock);
}

/* --- the echo canceller module --------------------------------------------------------- */

static void module_loaded(pa_context *context, uint32_t index, void *userdata)
{
    (void)context;
    *(uint32_t *)userdata = index;
}

/* Wait for op, at most ANSWER_MS: 0 when it completed. */
static int wait_for(csp_pulse *c, pa_operation *op)
{
    if (!op)
        return -1;
    long long deadline = csp__pulse_now_ms() + ANSWER_MS;
    while (csp__pa.operation_get_state(op) == PA_OPERATION_RUNNING &&
           csp__pulse_alive(c) && csp__pulse_now_ms() <= deadline && csp__pulse_pump(c, 20) == 0)
        ;
    int done = csp__pa.operation_get_state(op) == PA_OPERATION_DONE;
    csp__pa.operation_unref(op);
    return done ? 0 : -1;
}

static int load_echo_canceller(csp_pulse_mic *m)
{
    /* names of our own, so two runs never share one; the masters are the server's
       defaults (or $PULSE_SINK/$PULSE_SOURCE, which the server applies to them) */
    snprintf(m->source, sizeof m->source, "clawspeak_echo_cancel_%ld", (long)getpid());
    snprintf(m->sink, sizeof m->sink, "clawspeak_echo_cancel_%ld_sink", (long)getpid());
    char args[512];
    /* the canceller's gain control would turn the user's microphone volume up and down:
       the speexdsp preprocessor after it levels what we hear instead */
    snprintf(args, sizeof args,
             "aec_method=webrtc source_name=%s sink_name=%s "
             "aec_args=\"analog_gain_control=0 digital_gain_control=0\" "
             "source_properties='device.description=\"clawspeak echo canceller\"' "
             "sink_properties='device.description=\"clawspeak echo canceller\"'",
             m->source, m->sink);
    uint32_t index = PA_INVALID_INDEX;
    pa_operation *op = csp__pa.context_load_module(m->c->context, "module-echo-cancel", args,
                                                   module_loaded, &index);
    if (wait_for(m->c, op) != 0 || index == PA_INVALID_INDEX)
        return -1;
    m->module = index;
    return 0;
}

/* --- recording ------------------------------------------------------------------------- */

static int open_record(csp_pulse_mic *m, const char *source, long rate)
{
    pa_sample_spec spec = {.format = PA_SAMPLE_S16NE, .rate = (uint32_t)rate, .channels = 1};
    pa_buffer_attr attr = {
        .maxlength = (uint32_t)-1,
        .fragsize = (uint32_t)((size_t)rate * FRAGMENT_MS / 1000 * 2),
    };
    if (!(m->stream = csp__pa.stream_new(m->c->context, "microphone", &spec, NULL)))
        return -1;
    if (csp__pa.stream_connect_record(m->stream, source, &attr, PA_STREAM_ADJUST_LATENCY) < 0)
        return -1;
    long long deadline = csp__pulse_now_ms() + ANSWER_MS;
    pa_stream_state_t state;
    while ((state = csp__pa.stream_get_state(m->stream)) != PA_STREAM_READY) {
        if (!PA_STREAM_IS_GOOD(state) || csp__pulse_now_ms() > deadline ||
            csp__pulse_pump(m->c, 20) < 0)
            return -1;
    }
    return 0;
}

csp_pulse_mic *csp__pulse_mic_open(csp_pulse *c, long rate, int echo_cancel, const char **why)
{
    csp_pulse_mic *m = csp__calloc(1, sizeof *m);
    *why = "out of memory";
    if (!m) {
        csp__pulse_free(c);
        return NULL;
    }
    m->c = c;
    m->module = PA_INVALID_INDEX;
    if (echo_cancel && load_echo_canceller(m) != 0) {
        *why = "the sound server cannot load module-echo-cancel";
        csp__pulse_mic_free(m);
        return NULL;
    }
    /* NULL: the server's default source, or $PULSE_SOURCE */
    if (open_record(m, m->module != PA_INVALID_INDEX ? m->source : NULL, rate) != 0) {
        int err = csp__pa.context_errno(c->context);
        *why = err ? csp__pa.strerror(err) : "the sound server does not answer";
        csp__pulse_mic_free(m);
        return NULL;
    }
    if (m->module != PA_INVALID_INDEX)
        csp__pulse_play_to(m->sink);
    return m;
}

const char *csp__pulse_mic_source(csp_pulse_mic *m)
{
    return m->module != PA_INVALID_INDEX ? m->source : "the server's default source";
}

long csp__pulse_mic_read(csp_pulse_mic *m, int16_t *samples, size_t frames, int wait_ms)
{
    size_t want = frames * sizeof *samples, got = 0;
    long long deadline = csp__pulse_now_ms() + wait_ms;
    while (got < want) {
        if (m->held_bytes == 0) {
            if (csp__pa.stream_get_state(m->stream) != PA_STREAM_READY || !csp__pulse_alive(m->c))
                return -1;
            const void *data = NULL;
            size_t bytes = 0;
            if (csp__pa.stream_peek(m->stream, &data, &bytes) < 0)
                return -1;
            if (bytes == 0) { /* nothing yet */
                if (got > 0 || csp__pulse_now_ms() >= deadline)
                    break;
                if (csp__pulse_pump(m->c, 10) < 0)
                    return -1;
                continue;
            }
            if (!data) { /* a hole in the recording: skip it */
                csp__pa.stream_drop(m->stream);
                continue;
            }
            m->held = data;
            m->held_bytes = bytes & ~(size_t)1;
            if (m->held_bytes == 0) {
                csp__pa.stream_drop(m->stream);
                continue;
            }
        }
        size_t n = m->held_bytes < want - got ? m->held_bytes : want - got;
        memcpy((char *)samples + got, m->held, n);
        m->held = (const int16_t *)((const char *)m->held + n);
        m->held_bytes -= n;
        got += n;
        if (m->held_bytes == 0)
            csp__pa.stream_drop(m->stream);
    }
    return (long)(got / sizeof *samples);
}

void csp__pulse_mic_free(csp_pulse_mic *m)
{
    if (!m)
        return;
    if (m->module != PA_INVALID_INDEX)
        csp__pulse_play_to(NULL);
    if (m->stream) {
        csp__pa.stream_disconnect(m->stream);
        csp__pa.stream_unref(m->stream);
    }
    /* the module outlives our connection unless we unload it; a server that does not
       answer in time keeps it (it is named after our pid) */
    if (m->module != PA_INVALID_INDEX && csp__pulse_alive(m->c))
        wait_for(m->c, csp__pa.context_unload_module(m->c->context, m->module, NULL, NULL));
    csp__pulse_free(m->c);
    csp__free(m);
}
