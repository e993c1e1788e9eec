/* SPDX-License-Identifier: MIT */
/*
 * sink_alsa.c: playback straight into ALSA's "default" PCM, the way aplay and
 * `mpg123 -o alsa` do it: one PCM opened (not every PCM the configuration defines, as
 * PortAudio's start does), a buffer of about 80 ms that starts after one 20 ms period.
 * Non-blocking writes with waits of at most 20 ms: a cancel is seen at once, and a device
 * that stops taking audio is a failure after a while instead of a hang. ALSA's own error
 * lines are silenced (its messages become ours).
 */
#include "alloc.h"
#include "audio_out.h"
#include "capture.h"
#include "report.h"
#include "sink.h"
#include "speaking_lock.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <string.h>

#define BUFFER_US 80000
#define PERIOD_US 20000
#define STALL_MS 10000

typedef struct alsa_sink {
    csp_sink base;
    snd_pcm_t *pcm;
    int wait_turn, lock_fd;
    int configured;        /* hw params set for base.rate/channels */
    int float_samples;     /* the device takes floats only (JACK): converted here */
    int device_channels;   /* 2 when a mono stream goes to a device that takes stereo only */
    snd_pcm_uframes_t buffer_size, period_size;
    void *block;           /* one period in the device's format */
    int wrote;
} alsa_sink;

static void quiet(const char *file, int line, const char *function, int err, const char *fmt, ...)
{
    (void)file, (void)line, (void)function, (void)err, (void)fmt;
}

void csp__alsa_quiet(void)
{
    snd_lib_error_set_handler(quiet); /* "ALSA lib pcm.c:...": our own message says it */
}

snd_pcm_t *csp__alsa_open_default(void)
{
    csp__alsa_quiet();
    snd_pcm_t *pcm = NULL;
    if (snd_pcm_open(&pcm, "default", SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK) < 0)
        return NULL;
    return pcm;
}

void csp__alsa_close(snd_pcm_t *pcm)
{
    if (pcm)
        csp__out_bounded_close(CSP_OUT_ALSA, pcm, 0);
}

static csp_code device_failed(alsa_sink *s, const char *what, int err)
{
    return csp__fail(s->base.report, CSP_EAUDIO, "%s: %s; save to a file instead with -o FILE",
                     what, snd_strerror(err));
}

static csp_code take_turn(alsa_sink *s)
{
    if (s->wait_turn && s->lock_fd < 0)
        return csp__speaking_lock(s->base.report, &s->lock_fd);
    return CSP_OK;
}

/* Does the device take this rate (with a sample format and channel count we can give)? */
static int hw_setup(alsa_sink *s, snd_pcm_hw_params_t *hw, int channels)
{
    snd_pcm_hw_params_any(s->pcm, hw);
    snd_pcm_hw_params_set_rate_resample(s->pcm, hw, 0); /* rates are libsoxr's job */
    if (snd_pcm_hw_params_set_access(s->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED) < 0)
        return -1;
    s->float_samples = snd_pcm_hw_params_test_format(s->pcm, hw, SND_PCM_FORMAT_S16) != 0;
    if (snd_pcm_hw_params_set_format(s->pcm, hw, s->float_samples ? SND_PCM_FORMAT_FLOAT
                                                                   : SND_PCM_FORMAT_S16) < 0)
        return -1;
    s->device_channels = channels;
    if (snd_pcm_hw_params_set_channels(s->pcm, hw, (unsigned)channels) < 0) {
        if (channels != 1 || snd_pcm_hw_params_set_channels(s->pcm, hw, 2) < 0)
            return -1;
        s->device_channels = 2;
    }
    return 0;
}

static long alsa_rate_for(csp_sink *sink, long rate, int channels)
{
    alsa_sink *s = (alsa_sink *)sink;
    snd_pcm_hw_params_t *hw;
    snd_pcm_hw_params_alloca(&hw);
    take_turn(s); /* open reports a failure */
    if (hw_setup(s, hw, channels) < 0 || snd_pcm_hw_params_test_rate(s->pcm, hw, (unsigned)rate, 0) == 0)
        return rate;
    unsigned near = (unsigned)rate;
    int dir = 0;
    if (snd_pcm_hw_params_set_rate_near(s->pcm, hw, &near, &dir) < 0 || near == 0)
        return rate;
    csp__log(sink->report, CSP_LOG_INFO, "'default' does not take %ld Hz: playing at %u Hz, resampled",
             rate, near);
    return (long)near;
}

static csp_code alsa_open(csp_sink *sink, long rate, int channels)
{
    alsa_sink *s = (alsa_sink *)sink;
    csp_code rc = take_turn(s);
    if (rc != CSP_OK)
        return rc;
    if (s->configured) {
        snd_pcm_drop(s->pcm);
        csp__free(s->block);
        s->block = NULL;
        s->configured = 0;
    }
    snd_pcm_hw_params_t *hw;
    snd_pcm_sw_params_t *sw;
    snd_pcm_hw_params_alloca(&hw);
    snd_pcm_sw_params_alloca(&sw);
    unsigned urate = (unsigned)rate, buffer_us = BUFFER_US, period_us = PERIOD_US;
    int err, dir = 0;
    if (hw_setup(s, hw, channels) < 0 || (err = snd_pcm_hw_params_set_rate(s->pcm, hw, urate, 0)) < 0)
        return csp__fail(sink->report, CSP_EAUDIO, "the default device cannot play %ld Hz %s audio; "
                         "save to a file instead with -o FILE", rate, channels == 1 ? "mono" : "stereo");
    snd_pcm_hw_params_set_buffer_time_near(s->pcm, hw, &buffer_us, &dir);
    snd_pcm_hw_params_set_period_time_near(s->pcm, hw, &period_us, &dir);
    if ((err = snd_pcm_hw_params(s->pcm, hw)) < 0)
        return device_failed(s, "cannot set up the default device", err);
    snd_pcm_hw_params_get_buffer_size(hw, &s->buffer_size);
    snd_pcm_hw_params_get_period_size(hw, &s->period_size, &dir);
    if (s->period_size == 0 || s->period_size > s->buffer_size)
        s->period_size = s->buffer_size / 2 ? s->buffer_size / 2 : 1;
    snd_pcm_sw_params_current(s->pcm, sw);
    /* sound starts after one period: the first 20 ms, not a whole buffer */
    snd_pcm_sw_params_set_start_threshold(s->pcm, sw, s->period_size);
    snd_pcm_sw_params_set_avail_min(s->pcm, sw, s->period_size);
    if ((err = snd_pcm_sw_params(s->pcm, sw)) < 0)
        return device_failed(s, "cannot set up the default device", err);
    size_t sample = s->float_samples ? sizeof(float) : sizeof(int16_t);
    if (!(s->block = csp__malloc(s->period_size * (size_t)s->device_channels * sample)))
        return csp__fail(sink->report, CSP_ENOMEM, "out of memory");
    s->configured = 1;
    return CSP_OK;
}

/* Wait up to 20 ms for room; a device that takes nothing for STALL_MS has failed. */
static csp_code wait_room(alsa_sink *s, long long *stalled_since)
{
    if (csp__out_now_ms() - *stalled_since > STALL_MS)
        return csp__fail(s->base.report, CSP_EAUDIO, "audio playback failed: the device stopped "
                         "taking audio; save to a file instead with -o FILE");
    int err = snd_pcm_wait(s->pcm, 20);
    if (err < 0 && err != -EPIPE && err != -ESTRPIPE && err != -EINTR)
        return device_failed(s, "audio playback failed", err);
    return CSP_OK;
}

/* Convert n frames into the device's format in s->block. */
static void convert(alsa_sink *s, const int16_t *in, size_t n, int channels)
{
    size_t out_ch = (size_t)s->device_channels;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < out_ch; c++) {
            int16_t v = in[i * (size_t)channels + (channels == 1 ? 0 : c)];
            if (s->float_samples)
                ((float *)s->block)[i * out_ch + c] = (float)v / 32768.0f;
            else
                ((int16_t *)s->block)[i * out_ch + c] = v;
        }
}

static csp_code alsa_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    alsa_sink *s = (alsa_sink *)sink;
    csp_code turn = take_turn(s); /* again after a rest (an idle --lines) */
    if (turn != CSP_OK)
        return turn;
    long long stalled_since = csp__out_now_ms();
    while (frames > 0) {
        size_t n = frames < s->period_size ? frames : s->period_size;
        const void *data = samples;
        if (s->float_samples || s->device_channels != sink->channels) {
            convert(s, samples, n, sink->channels);
            data = s->block;
        }
        /* barge-in's echo canceller hears what we play (a no-op unless it asked) */
        csp__capture_playback(samples, n, sink->rate, sink->channels);
        size_t done = 0;
        while (done < n) {
            if (csp__canceled(sink->report))
                return CSP_ECANCELED;
            size_t bytes = (s->float_samples ? sizeof(float) : sizeof(int16_t)) * (size_t)s->device_channels;
            snd_pcm_sframes_t w = snd_pcm_writei(s->pcm, (const char *)data + done * bytes, n - done);
            if (w > 0) {
                done += (size_t)w;
                s->wrote = 1;
                stalled_since = csp__out_now_ms();
            } else if (w == -EAGAIN || w == 0) {
                csp_code rc = wait_room(s, &stalled_since);
                if (rc != CSP_OK)
                    return rc;
            } else if (w == -EPIPE || w == -ESTRPIPE || w == -EINTR) {
                /* an underrun (the next audio was late): start again where we are */
                int err = snd_pcm_recover(s->pcm, (int)w, 1);
                if (err < 0)
                    return device_failed(s, "audio playback failed", err);
            } else {
                return device_failed(s, "audio playback failed", (int)w);
            }
        }
        samples += n * (size_t)sink->channels;
        frames -= n;
    }
    return CSP_OK;
}

/* Play out what is queued, in waits of at most 20 ms: until the delay, which counts what a
   plugin or its server still holds (the pulse plugin), is all heard. */
static csp_code play_out(alsa_sink *s)
{
    csp_report *report = s->base.report;
    if (snd_pcm_state(s->pcm) == SND_PCM_STATE_PREPARED) {
        int err = snd_pcm_start(s->pcm); /* shorter than one period: play it now */
        if (err < 0)
            return device_failed(s, "cannot start playback", err);
    }
    long long stalled_since = csp__out_now_ms();
    snd_pcm_sframes_t last = -1;
    for (;;) {
        if (csp__canceled(report))
            return CSP_ECANCELED;
        if (snd_pcm_state(s->pcm) != SND_PCM_STATE_RUNNING)
            break; /* played out (the underrun at the end is the end) */
        snd_pcm_sframes_t delay = 0;
        int err = snd_pcm_delay(s->pcm, &delay);
        if (err == -EPIPE || (err == 0 && delay <= 0))
            break;
        if (err < 0)
            return device_failed(s, "audio playback failed", err);
        if (delay != last) {
            last = delay;
            stalled_since = csp__out_now_ms();
        } else if (csp__out_now_ms() - stalled_since > STALL_MS) {
            return csp__fail(report, CSP_EAUDIO, "audio playback failed: the device stopped "
                             "playing; save to a file instead with -o FILE");
        }
        snd_pcm_wait(s->pcm, 10);
    }
    return CSP_OK;
}

static csp_code alsa_finish(csp_sink *sink, int commit)
{
    alsa_sink *s = (alsa_sink *)sink;
    csp_code rc = CSP_OK;
    if (s->pcm && s->configured && commit && s->wrote && !csp__canceled(sink->report))
        rc = play_out(s);
    if (s->pcm) {
        /* a plugin that waits on a frozen server is left to itself after a bounded wait */
        csp__out_bounded_close(CSP_OUT_ALSA, s->pcm, 0);
        s->pcm = NULL;
    }
    csp__free(s->block);
    s->block = NULL;
    s->configured = 0;
    csp__speaking_unlock(s->lock_fd); /* the next clawspeak speaks once this one is heard out */
    s->lock_fd = -1;
    return rc;
}

/* Nothing to play for a while (an idle --lines): play out what is queued, stop the device
   cleanly (no underrun while idle) and let the speaking lock go; the next write takes it. */
static csp_code alsa_rest(csp_sink *sink)
{
    alsa_sink *s = (alsa_sink *)sink;
    csp_code rc = CSP_OK;
    if (s->pcm && s->configured && s->wrote && !csp__canceled(sink->report))
        rc = play_out(s);
    if (s->pcm && s->configured) {
        snd_pcm_drop(s->pcm);
        snd_pcm_prepare(s->pcm);
    }
    s->wrote = 0;
    csp__speaking_unlock(s->lock_fd);
    s->lock_fd = -1;
    return rc;
}

static void alsa_free(csp_sink *sink)
{
    if (!sink)
        return;
    alsa_finish(sink, 0);
    csp__free(sink);
}

static const csp_sink_ops alsa_ops = {.open = alsa_open, .write = alsa_write, .finish = alsa_finish,
                                      .free = alsa_free, .rate_for = alsa_rate_for,
                                      .rest = alsa_rest};

csp_code csp__sink_alsa_new(csp_report *report, snd_pcm_t *pcm, int wait_turn, csp_sink **out)
{
    alsa_sink *s = csp__calloc(1, sizeof *s);
    *out = NULL;
    if (!s) {
        csp__alsa_close(pcm);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    s->base.ops = &alsa_ops;
    s->base.report = report;
    s->pcm = pcm;
    s->wait_turn = wait_turn;
    s->lock_fd = -1;
    *out = &s->base;
    return CSP_OK;
}
