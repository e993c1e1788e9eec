/* SPDX-License-Identifier: MIT */
/*
 * capture.c: recording utterances. The only file that includes libspeexdsp:
 * its preprocessor does the noise suppression, AGC and voice activity
 * detection, its echo canceller the barge-in's echo removal where there is no
 * sound server; nothing here re-implements that DSP. With a PulseAudio or PipeWire
 * server the default microphone is read through libpulse, and --echo-cancel uses
 * the server's own WebRTC canceller (pulse_mic.c); otherwise PortAudio's blocking
 * API. Either is read on a thread of our own, so a slow consumer (a request in
 * flight) never loses audio and barge-in is noticed while a reply plays.
 */
#include "capture.h"

#include "alloc.h"
#include "audio_out.h"
#include "audio_system.h"
#include "portaudio_lib.h"
#include "pulse.h"
#include "report.h"
#include "resample.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MS 20
#define START_FRAMES 3       /* 60 ms of speech before an utterance counts: not a click */
#define SPEECH_FLOOR_DB -55. /* the VAD's "speech" below this level is AGC-boosted noise */
#define ECHO_TAIL 3200       /* 200 ms of echo path at 16 kHz */
#define ECHO_WINDOW 10 /* frames: the 200 ms echo tail */
/* Played audio reaches the server's canceller through the server's own queue, so the
   echo trails what we wrote by up to that queue's length and more: 500 ms. */
#define ECHO_WINDOW_SERVER 25
#define ECHO_LEAD 640 /* 40 ms: see next_reference */
#define REF_CAP (CSP_CAPTURE_RATE * 2) /* 2 s of reference audio at most */
/* The server's WebRTC canceller lets echo through while it learns the room (measured in
   the PulseAudio loop: up to 8 dB under the reply in its first second): no barge-in then,
   and what it leaves is learnt as the echo path's gain. */
#define CONVERGE_FRAMES 50
/* What the server's canceller leaves is taken as never below -15 dB of the reply: a voice
   must be 9 dB under the reply or louder to barge in (the residue's peaks, measured in the
   loop, reach -13 dB when the reply ends or a sentence starts) */
#define SERVER_RESIDUE 0.03

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* --- the frame-level detector ------------------------------------------------- */

struct csp_vad {
    csp_vad_config config;
    SpeexPreprocessState *pre;
    SpeexEchoState *echo; /* NULL: no echo cancellation */
    int16_t *preroll;     /* ring of the last preroll_ms */
    size_t preroll_frames, preroll_pos, preroll_len; /* in samples */
    int16_t *utterance;
    size_t len, cap; /* samples; cap is the length cap plus the pre-roll */
    int speaking, speech_run, silent_ms;
    int done;
    /* echo canceller figures, per second, for --verbose */
    double stats_in, stats_out, last_erle_db, stats_over, last_over;
    int stats_frames, stats_ready;
    double erle; /* echo power in / left out, learnt while only the echo is heard (>= 1) */
    double echo_gain; /* the peak of heard / played power while only the echo is heard */
    double ref_energy[ECHO_WINDOW_SERVER];
    size_t window; /* frames of ref_energy in use */
    size_t ref_energy_pos;
    int speech_before;
    int converging; /* frames of playback the server's canceller has heard so far */
    /* the echo reference: played audio waiting to be matched with what is heard */
    pthread_mutex_t ref_lock;
    int16_t ref[REF_CAP];
    size_t ref_start, ref_len;
    int ref_playing, ref_idle;
};

static void enable_vad(void *pre)
{
    int on = 1;
    speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_VAD, &on);
}

csp_vad *csp__vad_new(const csp_vad_config *config)
{
    csp_vad *v = csp__calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->config = *config;
    v->erle = 1;
    /* until learnt: an echo as loud as the playback, or for the server's canceller, what
       it leaves of it (its WebRTC canceller takes 20-40 dB off from the start) */
    v->echo_gain = config->echo_cancelled ? SERVER_RESIDUE : 1;
    v->window = config->echo_cancelled ? ECHO_WINDOW_SERVER : ECHO_WINDOW;
    if (v->config.silence_ms <= 0)
        v->config.silence_ms = 1200;
    if (v->config.max_ms <= 0)
        v->config.max_ms = 30000;
    if (v->config.preroll_ms <= 0)
        v->config.preroll_ms = 300;
    pthread_mutex_init(&v->ref_lock, NULL);
    v->preroll_frames = (size_t)v->config.preroll_ms * CSP_CAPTURE_RATE / 1000;
    v->cap = ((size_t)v->config.max_ms * CSP_CAPTURE_RATE / 1000) + v->preroll_frames;
    v->preroll = csp__malloc(v->preroll_frames * sizeof(int16_t));
    v->pre = speex_preprocess_state_init(CSP_CAPTURE_FRAME, CSP_CAPTURE_RATE);
    int speex_cancels = config->echo && !config->echo_cancelled;
    if (speex_cancels)
        v->echo = speex_echo_state_init(CSP_CAPTURE_FRAME, ECHO_TAIL);
    if (!v->preroll || !v->pre || (speex_cancels && !v->echo)) {
        csp__vad_free(v);
        return NULL;
    }
    int on = 1, rate = CSP_CAPTURE_RATE;
    /* speexdsp 1.2 warns on stderr that its VAD "has been replaced by a hack": it is the
       preprocessor's speech probability against a threshold, hence the level floor too */
    csp__stderr_hide(); /* libspeexdsp warns on stderr when its VAD is turned on */
    enable_vad(v->pre);
    csp__stderr_restore();
    speex_preprocess_ctl(v->pre, SPEEX_PREPROCESS_SET_DENOISE, &on);
    speex_preprocess_ctl(v->pre, SPEEX_PREPROCESS_SET_AGC, &on);
    if (v->echo) {
        speex_echo_ctl(v->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
        /* the residual echo the adaptive filter leaves is suppressed by the preprocessor */
        speex_preprocess_ctl(v->pre, SPEEX_PREPROCESS_SET_ECHO_STATE, v->echo);
    }
    return v;
}

void csp__vad_free(csp_vad *v)
{
    if (!v)
        return;
    if (v->pre)
        speex_preprocess_state_destroy(v->pre);
    if (v->echo)
        speex_echo_state_destroy(v->echo);
    pthread_mutex_destroy(&v->ref_lock);
    csp__free(v->preroll);
    csp__free(v->utterance);
    csp__free(v);
}

void csp__vad_reset(csp_vad *v)
{
    v->speaking = v->speech_run = v->silent_ms = 0;
    v->preroll_len = v->preroll_pos = 0;
    v->len = 0;
    v->done = 0;
}

void csp__vad_playback(csp_vad *v, const int16_t *frame)
{
    pthread_mutex_lock(&v->ref_lock);
    for (size_t i = 0; i < CSP_CAPTURE_FRAME; i++) {
        if (v->ref_len == REF_CAP) { /* nobody is hearing it: drop the oldest */
            v->ref_start = (v->ref_start + 1) % REF_CAP;
            v->ref_len--;
        }
        v->ref[(v->ref_start + v->ref_len++) % REF_CAP] = frame[i];
    }
    pthread_mutex_unlock(&v->ref_lock);
}

/* The played frame that matches this heard one: the oldest waiting, or silence. */
static int next_reference(csp_vad *v, int16_t *out)
{
    int have = 0;
    pthread_mutex_lock(&v->ref_lock);
    if (!v->ref_playing && v->ref_len >= ECHO_LEAD + CSP_CAPTURE_FRAME) {
        /* playback starts: the echo reaches the microphone sooner than the queue's head
           says (measured through PulseAudio: 16 ms), and the filter cancels only echo that
           comes after its reference, so the reference is taken this far ahead */
        v->ref_start = (v->ref_start + ECHO_LEAD) % REF_CAP;
        v->ref_len -= ECHO_LEAD;
        v->ref_playing = 1;
    }
    if (v->ref_playing && v->ref_len >= CSP_CAPTURE_FRAME) {
        for (size_t i = 0; i < CSP_CAPTURE_FRAME; i++)
            out[i] = v->ref[(v->ref_start + i) % REF_CAP];
        v->ref_start = (v->ref_start + CSP_CAPTURE_FRAME) % REF_CAP;
        v->ref_len -= CSP_CAPTURE_FRAME;
        have = 1;
    }
    else if (v->ref_playing && ++v->ref_idle >= 25)
        v->ref_playing = 0; /* no playback for 500 ms: a new reply realigns (a gap between
                               sentences does not: the filter keeps what it learnt) */
    if (have)
        v->ref_idle = 0;
    pthread_mutex_unlock(&v->ref_lock);
    if (!have)
        memset(out, 0, CSP_CAPTURE_FRAME * sizeof *out);
    return have;
}

static int append(csp_vad *v, const int16_t *samples, size_t n)
{
    if (v->len + n > v->cap)
        n = v->cap - v->len;
    if (!v->utterance && !(v->utterance = csp__malloc(v->cap * sizeof(int16_t))))
        return -1;
    memcpy(v->utterance + v->len, samples, n * sizeof(int16_t));
    v->len += n;
    return 0;
}

csp_vad_event csp__vad_frame(csp_vad *v, int16_t *frame, double *level_db, int *speech)
{
    double energy = 0;
    for (size_t i = 0; i < CSP_CAPTURE_FRAME; i++)
        energy += (double)frame[i] * frame[i];
    double rms = sqrt(energy / CSP_CAPTURE_FRAME) / 32768.0;
    *level_db = rms > 1e-6 ? 20 * log10(rms) : -120;
    double heard = energy; /* what the decision looks at: the frame after echo removal */
    int echo_only = 0;     /* playback is on and what is heard is no louder than its echo */
    int during_playback = 0;
    if (v->config.echo) {
        int16_t ref[CSP_CAPTURE_FRAME], clean[CSP_CAPTURE_FRAME];
        int playing = next_reference(v, ref);
        /* the server's queue still plays what we wrote last: its echo is heard after the
           reference has ended, and the window of the played audio still covers it */
        if (!v->echo && !playing && v->ref_playing)
            playing = 1;
        if (v->echo)
            speex_echo_cancellation(v->echo, frame, ref, clean);
        else /* the server cancelled it: the double-talk test below still applies */
            memcpy(clean, frame, sizeof clean);
        double out = 0;
        for (size_t i = 0; i < CSP_CAPTURE_FRAME; i++)
            out += (double)clean[i] * clean[i];
        heard = out;
        if (playing) {
            double ref_energy = 0, ref_max = 0;
            during_playback = 1;
            for (size_t i = 0; i < CSP_CAPTURE_FRAME; i++)
                ref_energy += (double)ref[i] * ref[i];
            v->ref_energy[v->ref_energy_pos++ % v->window] = ref_energy;
            for (size_t i = 0; i < v->window; i++)
                ref_max = v->ref_energy[i] > ref_max ? v->ref_energy[i] : ref_max;
            /*
             * Double talk: what the microphone hears against the loudest played frame of
             * the echo path's length, times the path's peak gain (learnt while only the
             * echo is heard), 6 dB up. It works from the first frame, but only for a voice
             * louder than the echo. (Trusting what the canceller leaves instead, once it
             * has learnt the path, false-triggered in the PulseAudio loop: its estimate of
             * its own residual drifts during double talk. See the README.)
             */
            echo_only = energy <= 4 * v->echo_gain * ref_max;
            if (!v->echo && v->converging < CONVERGE_FRAMES) {
                v->converging++;
                echo_only = 1;
            }
            if (ref_max > 0 && energy / (v->echo_gain * ref_max) > v->stats_over)
                v->stats_over = energy / (v->echo_gain * ref_max);
            if (!v->speech_before && ref_max > 0) { /* learn from the echo alone */
                /* the path's peak gain: up at once, down slowly (-0.2 dB a second); a frame
                   that passes the test above may be the user starting to speak: not learnt */
                double ratio = energy / ref_max;
                /* after the server's canceller (no filter of ours to hold a path) the gain
                   follows what it leaves faster: -4 dB a second */
                if (echo_only)
                    v->echo_gain = ratio > v->echo_gain ? ratio : v->echo_gain * (v->echo ? 0.999 : 0.98);
                if (!v->echo && v->echo_gain < SERVER_RESIDUE)
                    v->echo_gain = SERVER_RESIDUE;
                if (out > 0)
                    v->erle = 0.95 * v->erle + 0.05 * (energy / out < 1 ? 1 : energy / out);
            }
            v->stats_in += energy;
            v->stats_out += out;
            if (++v->stats_frames == 50) { /* once a second, for --verbose */
                v->last_erle_db = v->stats_out > 0 ? 10 * log10(v->stats_in / v->stats_out) : 0;
                v->last_over = v->stats_over;
                v->stats_in = v->stats_out = v->stats_over = 0;
                v->stats_frames = 0;
                v->stats_ready = 1;
            }
        }
        memcpy(frame, clean, sizeof clean);
    }
    int vad = speex_preprocess_run(v->pre, frame);
    double heard_rms = sqrt(heard / CSP_CAPTURE_FRAME) / 32768.0;
    /* both: the canceller subtracting a predicted echo from a quiet frame is no speech */
    *speech = vad && !echo_only && *level_db > SPEECH_FLOOR_DB && heard_rms > 1e-6 &&
              20 * log10(heard_rms) > SPEECH_FLOOR_DB;
    /* during playback the preprocessor's echo suppression pulls a voice over the reply
       down with the echo, and its VAD with it: the double-talk test decides then */
    if (during_playback)
        *speech = !echo_only && *level_db > SPEECH_FLOOR_DB;
    v->speech_before = *speech;
    if (v->done) /* the last one was not taken: start over */
        csp__vad_reset(v);
    if (!v->speaking) {
        for (size_t i = 0; i < CSP_CAPTURE_FRAME; i++) {
            v->preroll[v->preroll_pos] = frame[i];
            v->preroll_pos = (v->preroll_pos + 1) % v->preroll_frames;
        }
        v->preroll_len += CSP_CAPTURE_FRAME;
        if (v->preroll_len > v->preroll_frames)
            v->preroll_len = v->preroll_frames;
        v->speech_run = *speech ? v->speech_run + 1 : 0;
        if (v->speech_run < START_FRAMES)
            return CSP_VAD_NOTHING;
        /* the pre-roll (oldest first) holds the first syllable the detector needed */
        v->len = 0;
        size_t first = (v->preroll_pos + v->preroll_frames - v->preroll_len) % v->preroll_frames;
        size_t tail = v->preroll_frames - first < v->preroll_len ? v->preroll_frames - first
                                                                   : v->preroll_len;
        if (append(v, v->preroll + first, tail) < 0 ||
            append(v, v->preroll, v->preroll_len - tail) < 0)
            return CSP_VAD_NOTHING; /* out of memory: keep waiting, try again */
        v->speaking = 1;
        v->silent_ms = 0;
        return CSP_VAD_SPEECH_STARTED;
    }
    if (append(v, frame, CSP_CAPTURE_FRAME) < 0)
        return CSP_VAD_NOTHING;
    v->silent_ms = *speech ? 0 : v->silent_ms + FRAME_MS;
    if (v->silent_ms >= v->config.silence_ms || v->len >= v->cap) {
        v->done = 1;
        return CSP_VAD_UTTERANCE;
    }
    return CSP_VAD_NOTHING;
}

int16_t *csp__vad_take(csp_vad *v, size_t *frames)
{
    if (!v->done) {
        *frames = 0;
        return NULL;
    }
    int16_t *out = v->utterance;
    *frames = v->len;
    v->utterance = NULL;
    csp__vad_reset(v);
    return out;
}

/* --- the device ---------------------------------------------------------------- */

struct csp_capture {
    csp_report *report;
    csp_capture_config config;
    char *device_spec;
    csp_vad *vad;
    pthread_t starter, reader;
    int starting, reading, initialized;
    PaError start_error;
    PaDeviceIndex device;
    PaStream *stream;
    long rate;    /* the device's */
    int channels; /* the device's: 1, or 2 mixed down */
    csp_resampler *resampler; /* device rate -> 16 kHz, when they differ */
    csp_pulse_mic *mic;       /* the sound server's microphone, instead of PortAudio's */
    int server_cancels;       /* the server's echo canceller is on: no speexdsp one */
    char server[160];         /* which server, for --verbose */
    int16_t pending[CSP_CAPTURE_FRAME];
    size_t pending_len;
    atomic_int stop;
    /* shared with the consumer */
    pthread_mutex_t lock;
    pthread_cond_t ready;
    csp_capture_mode mode;
    int reset_wanted;
    void (*on_barge_in)(void *);
    void *barge_userdata;
    int barged_in;
    int16_t *done_pcm; /* one finished utterance waiting to be taken */
    size_t done_frames;
    long long done_ns;
    csp_code failed;
    char failure[256];
};

/* The capture whose echo canceller wants the played audio (one at a time). */
static pthread_mutex_t tap_lock = PTHREAD_MUTEX_INITIALIZER;
static csp_capture *tap_capture;
static csp_resampler *tap_resampler;
static long tap_rate;
static int16_t tap_frame[CSP_CAPTURE_FRAME];
static size_t tap_len;

/* Reference audio at 16 kHz mono: into the echo canceller's queue, frame by frame. */
static int tap_emit(void *userdata, const int16_t *samples, size_t frames, long rate, int channels)
{
    csp_vad *vad = userdata;
    (void)rate;
    for (size_t i = 0; i < frames; i++) {
        int sum = 0;
        for (int c = 0; c < channels; c++)
            sum += samples[i * (size_t)channels + (size_t)c];
        tap_frame[tap_len++] = (int16_t)(sum / channels);
        if (tap_len == CSP_CAPTURE_FRAME) {
            csp__vad_playback(vad, tap_frame);
            tap_len = 0;
        }
    }
    return 0;
}

void csp__capture_playback(const int16_t *samples, size_t frames, long rate, int channels)
{
    pthread_mutex_lock(&tap_lock);
    if (tap_capture && tap_capture->vad) {
        if (rate != CSP_CAPTURE_RATE && (!tap_resampler || tap_rate != rate)) {
            const char *why;
            csp__resampler_free(tap_resampler);
            tap_resampler = csp__resampler_new(rate, CSP_CAPTURE_RATE, channels, &why);
            tap_rate = rate;
        }
        if (rate == CSP_CAPTURE_RATE)
            tap_emit(tap_capture->vad, samples, frames, rate, channels);
        else if (tap_resampler)
            csp__resampler_feed(tap_resampler, samples, frames, tap_emit, tap_capture->vad);
    }
    pthread_mutex_unlock(&tap_lock);
}

/* How long a server that accepted the socket may take to say hello. */
#define PULSE_CONNECT_MS 1500

/* The default microphone through the sound server: 1 if it is open. */
static int start_pulse(csp_capture *c)
{
    if (c->device_spec || !csp__pulse_expected())
        return 0;
    csp_pulse *server = csp__pulse_connect(PULSE_CONNECT_MS);
    if (!server)
        return 0;
    csp__pulse_describe(server, c->server, sizeof c->server);
    const char *why;
    c->mic = csp__pulse_mic_open(server, CSP_CAPTURE_RATE, c->config.vad.echo, &why);
    /* no canceller on the server (or it refused these devices): speexdsp's, through
       PortAudio, whose input and output timing its reference is matched to */
    c->server_cancels = c->mic && c->config.vad.echo;
    return c->mic != NULL;
}

static void *start_input(void *arg)
{
    csp_capture *c = arg;
    if (start_pulse(c))
        return NULL;
    c->start_error = csp__audio_start();
    if (c->start_error != paNoError)
        return NULL;
    c->initialized = 1;
    c->device = c->device_spec ? (PaDeviceIndex)csp__audio_find_device(c->device_spec, 1)
                               : csp__portaudio.GetDefaultInputDevice();
    return NULL;
}

csp_code csp__capture_new(csp_report *report, const csp_capture_config *config, csp_capture **out)
{
    csp_capture *c = csp__calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    c->report = report;
    c->config = *config;
    c->device = paNoDevice;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->ready, NULL);
    if (config->device && !(c->device_spec = csp__strdup(config->device))) {
        csp__capture_free(c);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    if (pthread_create(&c->starter, NULL, start_input, c) == 0)
        c->starting = 1;
    else
        start_input(c);
    *out = c;
    return CSP_OK;
}

static csp_code no_input(csp_report *report, const char *why)
{
    return csp__fail(report, CSP_EAUDIO,
                     "no audio input device (%s); connect a microphone, or choose one with "
                     "--input-device N|NAME", why);
}

/* Mono 16 kHz samples into 20 ms frames, each through the detector. */
static void process(csp_capture *c, const int16_t *samples, size_t n);

static int resampled(void *userdata, const int16_t *samples, size_t frames, long rate, int channels)
{
    (void)rate;
    (void)channels;
    process(userdata, samples, frames);
    return 0;
}

static void process(csp_capture *c, const int16_t *samples, size_t n)
{
    while (n > 0) {
        size_t take = CSP_CAPTURE_FRAME - c->pending_len;
        if (take > n)
            take = n;
        memcpy(c->pending + c->pending_len, samples, take * sizeof *samples);
        c->pending_len += take;
        samples += take;
        n -= take;
        if (c->pending_len < CSP_CAPTURE_FRAME)
            continue;
        c->pending_len = 0;
        pthread_mutex_lock(&c->lock);
        if (c->reset_wanted) {
            csp__vad_reset(c->vad);
            c->reset_wanted = 0;
        }
        csp_capture_mode mode = c->mode;
        pthread_mutex_unlock(&c->lock);
        double level;
        int speech;
        csp_vad_event e = csp__vad_frame(c->vad, c->pending, &level, &speech);
        if (c->vad->stats_ready) {
            c->vad->stats_ready = 0;
            csp__log(c->report, CSP_LOG_DEBUG, "echo canceller: the last second's echo reduced "
                     "by %.1f dB (learnt: %.1f dB); loudest over the echo %.1f dB (path %.1f dB)",
                     c->vad->last_erle_db, 10 * log10(c->vad->erle),
                     10 * log10(c->vad->last_over + 1e-12), 10 * log10(c->vad->echo_gain + 1e-12));
        }
        if (c->config.level && mode != CSP_CAPTURE_IDLE)
            c->config.level(c->config.level_userdata, level, speech);
        if (mode == CSP_CAPTURE_IDLE) {
            if (e != CSP_VAD_NOTHING)
                csp__vad_reset(c->vad); /* heard while nobody listens: dropped */
            continue;
        }
        if (e == CSP_VAD_SPEECH_STARTED && mode == CSP_CAPTURE_BARGE_IN) {
            pthread_mutex_lock(&c->lock);
            void (*fn)(void *) = c->on_barge_in;
            void *ud = c->barge_userdata;
            c->mode = CSP_CAPTURE_LISTEN;
            c->barged_in = 1;
            pthread_mutex_unlock(&c->lock);
            if (c->server_cancels)
                csp__log(c->report, CSP_LOG_DEBUG, "barge-in: speech at %.0f dBFS (the sound "
                         "server cancelled the echo)", level);
            else
                csp__log(c->report, CSP_LOG_DEBUG, "barge-in: speech at %.0f dBFS%s%.1f dB, echo path %.1f dB)",
                         level, c->vad->echo ? " (the echo canceller had learnt " : " (no echo canceller: ",
                         c->vad->echo ? 10 * log10(c->vad->erle) : 0.0,
                         c->vad->echo ? 10 * log10(c->vad->echo_gain + 1e-12) : 0.0);
            if (fn)
                fn(ud);
        } else if (e == CSP_VAD_UTTERANCE) {
            size_t frames;
            int16_t *pcm = csp__vad_take(c->vad, &frames);
            pthread_mutex_lock(&c->lock);
            csp__free(c->done_pcm);
            c->done_pcm = pcm;
            c->done_frames = frames;
            c->done_ns = now_ns();
            c->mode = CSP_CAPTURE_IDLE; /* one utterance per call of next */
            pthread_cond_broadcast(&c->ready);
            pthread_mutex_unlock(&c->lock);
        }
    }
}

static void *read_loop(void *arg)
{
    csp_capture *c = arg;
    size_t block = (size_t)(c->rate / 50); /* 20 ms at the device's rate */
    int16_t *raw = csp__malloc(block * (size_t)c->channels * sizeof(int16_t));
    int16_t *mono = csp__malloc(block * sizeof(int16_t));
    csp_code failed = CSP_OK;
    const char *why = "";
    if (!raw || !mono) {
        failed = CSP_ENOMEM;
        why = "out of memory";
    }
    while (failed == CSP_OK && !atomic_load(&c->stop) && c->mic) {
        /* 16 kHz mono from the server; a short wait, so a stop is seen soon */
        long n = csp__pulse_mic_read(c->mic, mono, block, 50);
        if (n < 0) {
            failed = CSP_EAUDIO;
            why = "the sound server went away";
            break;
        }
        process(c, mono, (size_t)n);
    }
    while (failed == CSP_OK && !atomic_load(&c->stop) && !c->mic) {
        PaError err = csp__portaudio.ReadStream(c->stream, raw, (unsigned long)block);
        if (err != paNoError && err != paInputOverflowed) {
            failed = CSP_EAUDIO;
            why = csp__portaudio_error_text(err);
            break;
        }
        for (size_t i = 0; i < block; i++) {
            int sum = 0;
            for (int ch = 0; ch < c->channels; ch++)
                sum += raw[i * (size_t)c->channels + (size_t)ch];
            mono[i] = (int16_t)(sum / c->channels);
        }
        if (c->resampler)
            csp__resampler_feed(c->resampler, mono, block, resampled, c);
        else
            process(c, mono, block);
    }
    pthread_mutex_lock(&c->lock);
    if (failed != CSP_OK) {
        c->failed = failed;
        snprintf(c->failure, sizeof c->failure, "recording failed: %s", why);
    }
    pthread_cond_broadcast(&c->ready);
    pthread_mutex_unlock(&c->lock);
    csp__free(raw);
    csp__free(mono);
    return NULL;
}

/* Open at 16 kHz mono if the device takes it; else at its own rate (resampled), or stereo. */
static PaError open_stream(csp_capture *c)
{
    const PaDeviceInfo *info = csp__portaudio.GetDeviceInfo(c->device);
    PaStreamParameters in;
    memset(&in, 0, sizeof in);
    in.device = c->device;
    in.sampleFormat = paInt16;
    in.suggestedLatency = info->defaultLowInputLatency;
    PaError err = paInvalidSampleRate;
    long rates[2] = {CSP_CAPTURE_RATE, (long)info->defaultSampleRate};
    for (int channels = 1; channels <= 2 && err != paNoError; channels++)
        for (int r = 0; r < 2 && err != paNoError; r++) {
            if (channels > info->maxInputChannels || (r == 1 && rates[1] == rates[0]))
                continue;
            in.channelCount = channels;
            csp__stderr_hide(); /* PortAudio prints its own refusals */
            err = csp__portaudio.OpenStream(&c->stream, &in, NULL, (double)rates[r], paFramesPerBufferUnspecified,
                                paClipOff, NULL, NULL);
            csp__stderr_restore();
            if (err == paNoError) {
                c->rate = rates[r];
                c->channels = channels;
            }
        }
    return err;
}

/* The recording thread, and the played audio as the reference for speexdsp's canceller. */
static csp_code start_reading(csp_capture *c)
{
    if (pthread_create(&c->reader, NULL, read_loop, c) != 0)
        return csp__fail(c->report, CSP_ENOMEM, "cannot start the recording thread");
    c->reading = 1;
    if (c->config.vad.echo) {
        pthread_mutex_lock(&tap_lock);
        tap_capture = c;
        pthread_mutex_unlock(&tap_lock);
    }
    return CSP_OK;
}

csp_code csp__capture_start(csp_capture *c)
{
    if (c->starting) {
        pthread_join(c->starter, NULL);
        c->starting = 0;
    }
    csp_vad_config vad = c->config.vad;
    vad.echo_cancelled = c->server_cancels;
    if (!(c->vad = csp__vad_new(&vad)))
        return csp__fail(c->report, CSP_ENOMEM, "out of memory");
    /* speexdsp's reference must match PortAudio's timing: playback goes there */
    if (vad.echo && !vad.echo_cancelled)
        csp__out_need_reference();
    if (c->mic) {
        c->rate = CSP_CAPTURE_RATE;
        c->channels = 1;
        csp_code rc = start_reading(c);
        if (rc == CSP_OK)
            csp__log(c->report, CSP_LOG_INFO, "recording through %s from %s%s", c->server,
                     csp__pulse_mic_source(c->mic),
                     c->server_cancels ? " (the server's WebRTC echo canceller)" : "");
        return rc;
    }
    if (c->start_error != paNoError) {
        const char *why = csp__portaudio_error_text(c->start_error);
        return csp__portaudio_load() != 0 /* no PortAudio: not a microphone's fault */
                   ? csp__fail(c->report, CSP_EAUDIO, "no audio input: %s", why)
                   : no_input(c->report, why);
    }
    if (c->device == paNoDevice && c->device_spec)
        return csp__fail(c->report, CSP_EAUDIO,
                         "no input device matches '%s'; give an index or a name prefix of a "
                         "device that can record", c->device_spec);
    if (c->device == paNoDevice)
        return no_input(c->report, "PortAudio found none");
    PaError err = open_stream(c);
    if (err != paNoError) {
        c->stream = NULL;
        return no_input(c->report, csp__portaudio_error_text(err));
    }
    if (c->rate != CSP_CAPTURE_RATE) {
        const char *why = "";
        if (!(c->resampler = csp__resampler_new(c->rate, CSP_CAPTURE_RATE, 1, &why)))
            return csp__fail(c->report, CSP_EAUDIO, "cannot record at %ld Hz: %s", c->rate, why);
    }
    if ((err = csp__portaudio.StartStream(c->stream)) != paNoError)
        return no_input(c->report, csp__portaudio_error_text(err));
    csp_code rc = start_reading(c);
    if (rc != CSP_OK)
        return rc;
    csp__log(c->report, CSP_LOG_INFO, "recording from '%s' at %ld Hz%s",
             csp__portaudio.GetDeviceInfo(c->device)->name, c->rate,
             c->rate != CSP_CAPTURE_RATE ? " (resampled to 16000)" : "");
    return CSP_OK;
}

void csp__capture_arm(csp_capture *c, csp_capture_mode mode, void (*on_barge_in)(void *),
                      void *userdata)
{
    pthread_mutex_lock(&c->lock);
    if (c->mode == CSP_CAPTURE_IDLE && mode != CSP_CAPTURE_IDLE)
        c->reset_wanted = 1; /* what was heard while idle is not part of it */
    c->mode = mode;
    c->on_barge_in = on_barge_in;
    c->barge_userdata = userdata;
    if (mode == CSP_CAPTURE_BARGE_IN)
        c->barged_in = 0;
    pthread_mutex_unlock(&c->lock);
}

int csp__capture_barged_in(csp_capture *c)
{
    pthread_mutex_lock(&c->lock);
    int b = c->barged_in;
    pthread_mutex_unlock(&c->lock);
    return b;
}

csp_code csp__capture_next(csp_capture *c, int16_t **pcm, size_t *frames, long long *ended_ns)
{
    csp_code rc = CSP_OK;
    *pcm = NULL;
    *frames = 0;
    pthread_mutex_lock(&c->lock);
    if (c->mode == CSP_CAPTURE_IDLE && !c->done_pcm) {
        c->mode = CSP_CAPTURE_LISTEN;
        c->reset_wanted = 1;
    } else if (c->mode == CSP_CAPTURE_BARGE_IN) {
        c->mode = CSP_CAPTURE_LISTEN; /* an utterance under way goes on */
    }
    while (!c->done_pcm && c->failed == CSP_OK && !csp__canceled(c->report)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L; /* a cancel is a flag, not a signal: look again soon */
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->ready, &c->lock, &until);
    }
    if (c->done_pcm) {
        *pcm = c->done_pcm;
        *frames = c->done_frames;
        if (ended_ns)
            *ended_ns = c->done_ns;
        c->done_pcm = NULL;
    } else if (c->failed != CSP_OK) {
        rc = c->failed;
    } else {
        rc = CSP_ECANCELED;
    }
    char failure[sizeof c->failure];
    memcpy(failure, c->failure, sizeof failure);
    pthread_mutex_unlock(&c->lock);
    if (rc != CSP_OK && rc != CSP_ECANCELED)
        rc = csp__fail(c->report, rc, "%s", failure);
    return rc;
}

void csp__capture_free(csp_capture *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&tap_lock);
    if (tap_capture == c) {
        tap_capture = NULL;
        csp__resampler_free(tap_resampler);
        tap_resampler = NULL;
        tap_len = 0;
    }
    pthread_mutex_unlock(&tap_lock);
    if (c->starting)
        pthread_join(c->starter, NULL);
    atomic_store(&c->stop, 1);
    if (c->reading)
        pthread_join(c->reader, NULL);
    if (c->stream) {
        csp__portaudio.AbortStream(c->stream);
        csp__portaudio.CloseStream(c->stream);
    }
    csp__pulse_mic_free(c->mic);
    if (c->initialized)
        csp__audio_stop();
    csp__resampler_free(c->resampler);
    csp__vad_free(c->vad);
    csp__free(c->done_pcm);
    csp__free(c->device_spec);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->ready);
    csp__free(c);
}
