/* SPDX-License-Identifier: MIT */
/*
 * sink_portaudio.c: playback with PortAudio's blocking write API. Writes go
 * in small blocks so a cancel (Ctrl-C) is noticed within a few milliseconds,
 * and abort drops what is queued instead of playing it out. The stream
 * starts only once one device latency of audio is queued: started empty, a
 * device plays silence (an underrun) whenever the next decoded frames are a
 * moment late, and the speech gets a gap.
 */
#include "alloc.h"
#include "audio_out.h"
#include "audio_system.h"
#include "capture.h"
#include "clock.h"
#include "portaudio_lib.h"
#include "report.h"
#include "sink.h"
#include "speaking_lock.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pa_sink {
    csp_sink base;
    PaDeviceIndex device;
    PaStream *stream; /* opened by rate_for or open; started once a latency is queued */
    long stream_rate;
    int stream_channels;
    double latency;
    /* PortAudio starts on its own thread (probing ALSA, JACK and OSS takes tens of ms)
       while the first request is in flight; open waits for it */
    pthread_t starter;
    int starting;
    atomic_int start_finished; /* the starter is done: joining it will not wait */
    PaError start_error;
    char *device_spec;
    int initialized;
    int started;
    int16_t *prefill; /* audio held until the stream starts */
    size_t prefill_frames, prefill_cap;
    int wait_turn; /* take the speaking lock before the device opens */
    int lock_fd;
    long room_max; /* the most room seen: the buffer when empty */
} pa_sink;

/*
 * A resident program (a speech-dispatcher module: csp_audio_keep) keeps its stream open
 * between runs: stopped, parked here, and taken by the next run that plays on the same
 * device at the same rate and channels, so a message does not open the device again (the
 * ALSA plugin's connection to the sound server, tens of milliseconds). A stream parked
 * PARK_IDLE_MS with no run taking it is closed, so other programs can have the device.
 */
#define PARK_IDLE_MS 5000
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_changed = PTHREAD_COND_INITIALIZER;
static struct {
    int enabled, reaper_running;
    pthread_t reaper;
    PaStream *stream;
    PaDeviceIndex device;
    long rate;
    int channels;
    double latency;
    long long since_ms;
} parked;

/* Called with park_lock held. */
static void close_parked(void)
{
    if (parked.stream)
        csp__portaudio.CloseStream(parked.stream);
    parked.stream = NULL;
}

static void *reap_parked(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&park_lock);
    while (parked.enabled) {
        if (parked.stream && csp__now_ms() - parked.since_ms >= PARK_IDLE_MS)
            close_parked(); /* a pause: the device goes back to everyone */
        csp__cond_wait_ms(&park_changed, &park_lock, 500);
    }
    pthread_mutex_unlock(&park_lock);
    return NULL;
}

void csp__sink_portaudio_park(int enabled)
{
    pthread_mutex_lock(&park_lock);
    parked.enabled = enabled;
    if (enabled && !parked.reaper_running)
        parked.reaper_running = pthread_create(&parked.reaper, NULL, reap_parked, NULL) == 0;
    if (!enabled)
        close_parked();
    pthread_cond_broadcast(&park_changed);
    int join = !enabled && parked.reaper_running;
    if (join)
        parked.reaper_running = 0;
    pthread_mutex_unlock(&park_lock);
    if (join)
        pthread_join(parked.reaper, NULL);
}

static int parking(void)
{
    pthread_mutex_lock(&park_lock);
    int enabled = parked.enabled;
    pthread_mutex_unlock(&park_lock);
    return enabled;
}

/* A stopped stream goes to the parking place instead of closing: 1 if it did. */
static int park(PaStream *stream, PaDeviceIndex device, long rate, int channels, double latency)
{
    pthread_mutex_lock(&park_lock);
    int taken = parked.enabled;
    if (taken) {
        close_parked();
        parked.stream = stream;
        parked.device = device;
        parked.rate = rate;
        parked.channels = channels;
        parked.latency = latency;
        parked.since_ms = csp__now_ms();
    }
    pthread_mutex_unlock(&park_lock);
    return taken;
}

static csp_code no_device(csp_report *report, const char *why)
{
    return csp__fail(report, CSP_EAUDIO,
                     "no audio output device (%s); save to a file instead with -o FILE", why);
}

static csp_code wait_started(pa_sink *s);

/* PortAudio up, the device found, and this user's turn to speak (once). */
static csp_code take_device(pa_sink *s)
{
    csp_code rc = wait_started(s);
    if (rc == CSP_OK && s->wait_turn && s->lock_fd < 0)
        rc = csp__speaking_lock(s->base.report, &s->lock_fd);
    return rc;
}

/* Open the (not yet started) stream. PortAudio reports a refusal on stderr itself: hushed. */
static PaError open_stream(pa_sink *s, long rate, int channels)
{
    PaStreamParameters out;
    memset(&out, 0, sizeof out);
    out.device = s->device;
    out.channelCount = channels;
    out.sampleFormat = paInt16;
    /* the high default (tens of ms) rides out a busy machine without dropouts;
       a gap in speech is worse than starting 25 ms later */
    out.suggestedLatency = csp__portaudio.GetDeviceInfo(s->device)->defaultHighOutputLatency;
    pthread_mutex_lock(&park_lock);
    if (parked.stream && parked.device == s->device && parked.rate == rate &&
        parked.channels == channels) {
        /* the last run's stream, still open: taken as it is */
        s->stream = parked.stream;
        parked.stream = NULL;
        s->stream_rate = rate;
        s->stream_channels = channels;
        s->latency = parked.latency;
        pthread_mutex_unlock(&park_lock);
        csp__log(s->base.report, CSP_LOG_DEBUG, "playing on the stream kept open since the last run");
        return paNoError;
    }
    close_parked(); /* another device or format: one open stream at a time */
    csp__stderr_hide();
    PaError err = csp__portaudio.OpenStream(&s->stream, NULL, &out, (double)rate, paFramesPerBufferUnspecified,
                                paClipOff, NULL, NULL);
    csp__stderr_restore();
    pthread_mutex_unlock(&park_lock);
    if (err != paNoError) {
        s->stream = NULL;
        return err;
    }
    s->stream_rate = rate;
    s->stream_channels = channels;
    s->latency = out.suggestedLatency;
    return paNoError;
}

/*
 * The rate to play audio at `rate`: that rate, or the device's own when it refuses it (a
 * sound card or JACK fixed at 48 kHz); the decoder then resamples with libsoxr. Probing
 * with Pa_IsFormatSupported opens the device twice, and through ALSA's pulse plugin that
 * cost the first 80 ms of speech, so the stream is opened here for real and kept for open.
 */
static long pa_rate_for(csp_sink *sink, long rate, int channels)
{
    pa_sink *s = (pa_sink *)sink;
    if (take_device(s) != CSP_OK)
        return rate; /* open reports why */
    PaError err = open_stream(s, rate, channels);
    long device_rate = (long)csp__portaudio.GetDeviceInfo(s->device)->defaultSampleRate;
    if (err == paInvalidSampleRate && device_rate > 0 && device_rate != rate &&
        open_stream(s, device_rate, channels) == paNoError) {
        csp__log(sink->report, CSP_LOG_INFO, "'%s' does not take %ld Hz: playing at %ld Hz, resampled",
                 csp__portaudio.GetDeviceInfo(s->device)->name, rate, device_rate);
        return device_rate;
    }
    return rate;
}

static csp_code pa_open(csp_sink *sink, long rate, int channels)
{
    pa_sink *s = (pa_sink *)sink;
    csp_code rc = take_device(s);
    if (rc != CSP_OK)
        return rc;
    if (s->stream && (s->stream_rate != rate || s->stream_channels != channels)) {
        csp__portaudio.CloseStream(s->stream);
        s->stream = NULL;
    }
    PaError err = s->stream ? paNoError : open_stream(s, rate, channels);
    if (err != paNoError)
        return csp__fail(sink->report, CSP_EAUDIO,
                         "cannot play %ld Hz audio on '%s': %s; save to a file instead with -o FILE",
                         rate, csp__portaudio.GetDeviceInfo(s->device)->name, csp__portaudio_error_text(err));
    s->prefill_cap = (size_t)((double)rate * s->latency) + 1;
    if (!(s->prefill = csp__malloc(s->prefill_cap * (size_t)channels * sizeof(int16_t)))) {
        csp__portaudio.CloseStream(s->stream);
        s->stream = NULL;
        return csp__fail(sink->report, CSP_ENOMEM, "out of memory");
    }
    return CSP_OK;
}

static csp_code play(csp_sink *sink, const int16_t *samples, size_t frames);

/* Start the stream with what was held back. */
static csp_code start(pa_sink *s)
{
    s->started = 1;
    PaError err = csp__portaudio.StartStream(s->stream);
    if (err != paNoError)
        return csp__fail(s->base.report, CSP_EAUDIO, "cannot start playback: %s; save to a file "
                         "instead with -o FILE", csp__portaudio_error_text(err));
    csp_code rc = play(&s->base, s->prefill, s->prefill_frames);
    s->prefill_frames = 0;
    return rc;
}

static csp_code pa_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    pa_sink *s = (pa_sink *)sink;
    if (!s->started && s->wait_turn && s->lock_fd < 0) {
        /* after a rest: this user's turn again before the device plays */
        csp_code rc = csp__speaking_lock(sink->report, &s->lock_fd);
        if (rc != CSP_OK)
            return rc;
    }
    if (!s->started) {
        size_t take = s->prefill_cap - s->prefill_frames;
        if (take > frames)
            take = frames;
        memcpy(s->prefill + s->prefill_frames * (size_t)sink->channels, samples,
               take * (size_t)sink->channels * sizeof(int16_t));
        s->prefill_frames += take;
        samples += take * (size_t)sink->channels;
        frames -= take;
        if (s->prefill_frames < s->prefill_cap)
            return CSP_OK;
        csp_code rc = start(s);
        if (rc != CSP_OK)
            return rc;
    }
    return play(sink, samples, frames);
}

/* The device took nothing this long while audio waited: stopped (a frozen sound server). */
#define STALL_MS 10000

static csp_code playback_failed(pa_sink *s, PaError err)
{
    return csp__fail(s->base.report, CSP_EAUDIO, "audio playback failed: %s; save to a file "
                     "instead with -o FILE", csp__portaudio_error_text(err));
}

/* Pa_GetStreamWriteAvailable, which recovers from an underrun and, on a device that failed,
   prints PortAudio's assertions ("Expression ... failed in pa_linux_alsa.c"): hushed. */
static signed long write_available(pa_sink *s)
{
    csp__stderr_hide();
    signed long n = csp__portaudio.GetStreamWriteAvailable(s->stream);
    csp__stderr_restore();
    return n;
}

/* Room in the device's buffer, waiting at most 5 ms: 0 when none yet, -1 on failure. The
   wait is ours, in small steps, because a blocking write into a frozen sound server never
   returns and a cancel would go unseen. */
static long room(pa_sink *s, long long *stalled_since)
{
    signed long n = write_available(s);
    if (n < 0) {
        playback_failed(s, (PaError)n);
        return -1;
    }
    if ((long)n > s->room_max)
        s->room_max = (long)n;
    if (n > 0)
        return (long)n;
    if (csp__out_now_ms() - *stalled_since > STALL_MS) {
        csp__fail(s->base.report, CSP_EAUDIO, "audio playback failed: the device stopped taking "
                  "audio; save to a file instead with -o FILE");
        return -1;
    }
    csp__portaudio.Sleep(5);
    return 0;
}

static csp_code play(csp_sink *sink, const int16_t *samples, size_t frames)
{
    pa_sink *s = (pa_sink *)sink;
    size_t block = (size_t)(sink->rate / 50); /* 20 ms: Ctrl-C stays instant */
    long long stalled_since = csp__out_now_ms();
    while (frames > 0) {
        if (csp__canceled(sink->report))
            return CSP_ECANCELED;
        long free_frames = room(s, &stalled_since);
        if (free_frames < 0)
            return CSP_EAUDIO;
        if (free_frames == 0)
            continue;
        size_t n = frames < block ? frames : block;
        if (n > (size_t)free_frames)
            n = (size_t)free_frames;
        /* barge-in's echo canceller hears what we play (a no-op unless it asked) */
        csp__capture_playback(samples, n, sink->rate, sink->channels);
        /* a device that fails makes PortAudio's ALSA layer print its assertions: hushed */
        csp__stderr_hide();
        PaError err = csp__portaudio.WriteStream(s->stream, samples, (unsigned long)n);
        csp__stderr_restore();
        if (err != paNoError && err != paOutputUnderflowed)
            return playback_failed(s, err);
        samples += n * (size_t)sink->channels;
        frames -= n;
        stalled_since = csp__out_now_ms();
    }
    return CSP_OK;
}

/* Wait, cancel-aware, until what was queued has played (the buffer is all room again). */
static csp_code play_out(pa_sink *s)
{
    long long stalled_since = csp__out_now_ms();
    long last = -1;
    for (;;) {
        if (csp__canceled(s->base.report))
            return CSP_ECANCELED;
        signed long n = write_available(s);
        if (n < 0)
            return playback_failed(s, (PaError)n);
        if ((long)n >= s->room_max || csp__portaudio.IsStreamActive(s->stream) != 1)
            return CSP_OK;
        if ((long)n != last) {
            last = (long)n;
            stalled_since = csp__out_now_ms();
        } else if (csp__out_now_ms() - stalled_since > STALL_MS) {
            return csp__fail(s->base.report, CSP_EAUDIO, "audio playback failed: the device "
                             "stopped playing; save to a file instead with -o FILE");
        }
        csp__portaudio.Sleep(5);
    }
}

static csp_code pa_finish(csp_sink *sink, int commit)
{
    pa_sink *s = (pa_sink *)sink;
    csp_code rc = CSP_OK;
    if (s->stream && commit && !s->started && !csp__canceled(sink->report))
        rc = start(s); /* shorter than one latency: play it now */
    if (s->stream) {
        int drain = commit && rc == CSP_OK && s->started && !csp__canceled(sink->report);
        if (drain)
            rc = play_out(s);
        /* A resident program keeps a stream played out for its next run (csp_audio_keep);
           never one cut short, since the sound server may still hold its audio. The stop
           here finds an empty queue on a server that just played it. */
        if (drain && rc == CSP_OK && parking() && csp__portaudio.StopStream(s->stream) == paNoError &&
            park(s->stream, s->device, s->stream_rate, s->stream_channels, s->latency)) {
            s->stream = NULL;
        } else {
            /* Stop plays out the last of it; Abort drops it at once. Either may wait on a
               frozen sound server: on a helper thread, for a bounded time */
            csp__out_bounded_close(CSP_OUT_PORTAUDIO, s->stream, drain && rc == CSP_OK);
        }
        s->stream = NULL;
    }
    csp__free(s->prefill);
    s->prefill = NULL;
    csp__speaking_unlock(s->lock_fd); /* the next clawspeak speaks once this one is heard out */
    s->lock_fd = -1;
    return rc;
}

/*
 * Idle (--lines between lines): play out what is queued, stop the stream (a started
 * stream left without audio underruns, and ALSA prints a line for each) and let the
 * speaking lock go; the next write takes it again and restarts the stream.
 */
static csp_code pa_rest(csp_sink *sink)
{
    pa_sink *s = (pa_sink *)sink;
    csp_code rc = CSP_OK;
    if (!s->stream)
        return CSP_OK;
    if (!s->started && s->prefill_frames && !csp__canceled(sink->report))
        rc = start(s); /* shorter than one latency: play it now */
    if (s->started) {
        PaError err = csp__canceled(sink->report) ? csp__portaudio.AbortStream(s->stream)
                                                  : csp__portaudio.StopStream(s->stream);
        s->started = 0;
        s->prefill_frames = 0;
        if (err != paNoError && rc == CSP_OK)
            rc = csp__fail(sink->report, CSP_EAUDIO, "audio playback failed: %s",
                           csp__portaudio_error_text(err));
    }
    csp__speaking_unlock(s->lock_fd);
    s->lock_fd = -1;
    return rc;
}

static void pa_free(csp_sink *sink)
{
    pa_sink *s = (pa_sink *)sink;
    if (!s)
        return;
    if (s->starting) {
        pthread_join(s->starter, NULL);
        s->starting = 0;
    }
    pa_finish(sink, 0);
    if (s->initialized && !csp__out_wedged()) /* Pa_Terminate would wait on the stuck stream */
        csp__audio_stop();
    csp__free(s->device_spec);
    csp__free(s);
}

/* The starter has finished and failed: say so now, while the first request is in flight. */
static csp_code pa_check(csp_sink *sink)
{
    pa_sink *s = (pa_sink *)sink;
    return atomic_load(&s->start_finished) ? wait_started(s) : CSP_OK;
}

static const csp_sink_ops pa_ops = {.open = pa_open, .write = pa_write, .finish = pa_finish,
                                    .free = pa_free, .rate_for = pa_rate_for, .check = pa_check,
                                    .rest = pa_rest};

static void *start_portaudio(void *arg);

csp_code csp__sink_portaudio_new(csp_report *report, const char *device, int wait_turn,
                                 csp_sink **out)
{
    pa_sink *s = csp__calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    s->wait_turn = wait_turn;
    s->lock_fd = -1;
    s->device = paNoDevice;
    s->base.ops = &pa_ops;
    s->base.report = report;
    if (device && !(s->device_spec = csp__strdup(device))) {
        csp__free(s);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    if (pthread_create(&s->starter, NULL, start_portaudio, s) == 0) {
        s->starting = 1;
    } else {
        start_portaudio(s); /* no thread: start it here, as before */
        csp_code rc = wait_started(s);
        if (rc != CSP_OK) {
            pa_free(&s->base);
            return rc;
        }
    }
    *out = &s->base;
    return CSP_OK;
}

/* The starter thread: PortAudio up and the device found, beside the first request. */
static void *start_portaudio(void *arg)
{
    pa_sink *s = arg;
    s->start_error = csp__audio_start();
    if (s->start_error == paNoError) {
        csp__alsa_quiet(); /* no "underrun occurred" lines between ours */
        s->initialized = 1;
        s->device = s->device_spec ? (PaDeviceIndex)csp__audio_find_device(s->device_spec, 0)
                                   : csp__portaudio.GetDefaultOutputDevice();
    }
    atomic_store(&s->start_finished, 1);
    return NULL;
}

/* Wait for the starter; a device that is not there fails now, as it used to at once. */
static csp_code wait_started(pa_sink *s)
{
    if (s->starting) {
        pthread_join(s->starter, NULL);
        s->starting = 0;
    }
    if (s->start_error != paNoError)
        return no_device(s->base.report, csp__portaudio_error_text(s->start_error));
    if (s->device == paNoDevice && s->device_spec)
        return csp__fail(s->base.report, CSP_EAUDIO,
                         "no output device matches '%s' (see 'clawspeak devices'), or save to a "
                         "file with -o FILE", s->device_spec);
    if (s->device == paNoDevice)
        return no_device(s->base.report, "PortAudio found none");
    return CSP_OK;
}

csp_code csp__sink_list_devices(csp_report *report, char **out)
{
    csp_buf buf;
    csp__buf_init(&buf, 1 << 20);
    *out = NULL;
    /* the listing is no playback: "-o FILE" would be no answer to a missing device here */
    /* without --device the default output is played the fastest way there is: say which
       (on stderr, so a script or a completion that reads the list gets the list alone) */
    char how[200];
    csp__out_describe(how, sizeof how);
    csp__log(report, CSP_LOG_WARN, "default output: %s; the devices below are PortAudio's, "
             "for --device N|NAME", how);
    PaError err = csp__audio_start();
    if (err != paNoError)
        return csp__fail(report, CSP_EAUDIO, "no audio devices: %s", csp__portaudio_error_text(err));
    PaDeviceIndex out_default = csp__portaudio.GetDefaultOutputDevice(), in_default = csp__portaudio.GetDefaultInputDevice();
    csp_code rc = CSP_OK;
    for (PaDeviceIndex i = 0; i < csp__portaudio.GetDeviceCount(); i++) {
        const PaDeviceInfo *info = csp__portaudio.GetDeviceInfo(i);
        int plays = info && info->maxOutputChannels > 0, records = info && info->maxInputChannels > 0;
        if (!plays && !records)
            continue;
        /* inputs too (listen --device and --input-device take them), marked */
        const char *kind = plays && records ? "output, input" : plays ? "output" : "input";
        const char *mark = i == out_default && i == in_default ? "\t(default output and input)"
                           : i == out_default                  ? "\t(default output)"
                           : i == in_default                   ? "\t(default input)"
                                                               : "";
        if (csp__buf_appendf(&buf, "%d\t%s\t%s%s\n", i, info->name, kind, mark) < 0) {
            rc = csp__fail(report, CSP_ENOMEM, "out of memory");
            break;
        }
    }
    csp__audio_stop();
    if (rc == CSP_OK && buf.len == 0)
        rc = csp__fail(report, CSP_EAUDIO, "no audio devices: PortAudio found none (is a sound "
                       "server running, or ALSA configured?)");
    if (rc == CSP_OK)
        *out = csp__buf_steal(&buf);
    csp__buf_free(&buf);
    return rc;
}
