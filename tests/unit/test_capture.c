/* SPDX-License-Identifier: MIT */
/*
 * test_capture.c: the utterance detector without a device. A known utterance
 * (audio/speech.wav) between stretches of a quiet room is fed frame by frame
 * as the recording thread would: each utterance is found, starts within
 * 100 ms of the speech, ends after the silence window, and holds pre-roll +
 * speech + silence; a recording of several gives one utterance each.
 */
#include "capture.h"

#include "alloc.h"
#include "check.h"

#include <sndfile.h>
#include <stdlib.h>

#define MS(frames) ((long)(frames) * 1000 / CSP_CAPTURE_RATE)

static unsigned noise_seed = 7;

/* A quiet room (about -70 dBFS), not digital silence. */
static void quiet(int16_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        noise_seed = noise_seed * 1103515245u + 12345u;
        out[i] = (int16_t)((int)((noise_seed >> 16) % 21) - 10);
    }
}

typedef struct found {
    long start_ms[8], end_ms[8], length_ms[8];
    int count;
} found;

/* Feed `signal` (samples) in 20 ms frames; note each event's time. */
static void feed(csp_vad *vad, const int16_t *signal, size_t len, found *f)
{
    int16_t frame[CSP_CAPTURE_FRAME];
    for (size_t at = 0; at + CSP_CAPTURE_FRAME <= len; at += CSP_CAPTURE_FRAME) {
        memcpy(frame, signal + at, sizeof frame);
        double level;
        int speech;
        csp_vad_event e = csp__vad_frame(vad, frame, &level, &speech);
        if (e == CSP_VAD_SPEECH_STARTED && f->count < 8)
            f->start_ms[f->count] = MS(at + CSP_CAPTURE_FRAME);
        if (e == CSP_VAD_UTTERANCE && f->count < 8) {
            size_t frames = 0;
            int16_t *pcm = csp__vad_take(vad, &frames);
            f->end_ms[f->count] = MS(at + CSP_CAPTURE_FRAME);
            f->length_ms[f->count] = MS(frames);
            f->count++;
            csp__free(pcm);
        }
    }
}

int main(void)
{
    SF_INFO info = {0};
    SNDFILE *wav = sf_open(CSP_AUDIO_DIR "/speech.wav", SFM_READ, &info);
    CHECK(wav != NULL);
    if (!wav)
        return CHECK_DONE();
    CHECK_INT(info.samplerate, CSP_CAPTURE_RATE);
    size_t speech_len = (size_t)info.frames;
    int16_t *speech = malloc(speech_len * sizeof *speech);
    CHECK_INT(sf_read_short(wav, speech, (sf_count_t)speech_len), (sf_count_t)speech_len);
    sf_close(wav);
    long speech_ms = MS(speech_len);

    /* 1 s quiet, speech, 2 s quiet, speech, 2 s quiet */
    size_t gap = CSP_CAPTURE_RATE * 2, lead = CSP_CAPTURE_RATE;
    size_t total = lead + speech_len + gap + speech_len + gap;
    int16_t *signal = malloc(total * sizeof *signal);
    quiet(signal, total);
    memcpy(signal + lead, speech, speech_len * sizeof *speech);
    memcpy(signal + lead + speech_len + gap, speech, speech_len * sizeof *speech);
    long onsets[2] = {MS(lead), MS(lead + speech_len + gap)};

    int windows[] = {600, 1200};
    for (size_t w = 0; w < 2; w++) {
        csp_vad_config config = {.silence_ms = windows[w]};
        csp_vad *vad = csp__vad_new(&config);
        CHECK(vad != NULL);
        found f = {0};
        feed(vad, signal, total, &f);
        CHECK_INT(f.count, 2);
        for (int u = 0; u < f.count && u < 2; u++) {
            long onset = onsets[u], end_of_speech = onset + speech_ms;
            /* found within 100 ms of the speech (60 ms of it are needed) */
            CHECK(f.start_ms[u] >= onset && f.start_ms[u] <= onset + 100);
            /* ended after the silence window, within 100 ms of it: the speech's own
               quiet tail may already count as silence */
            long late = f.end_ms[u] - end_of_speech - windows[w];
            if (late < -150 || late > 100)
                fprintf(stderr, "utterance %d ended %ld ms after the window\n", u, late);
            CHECK(late >= -150 && late <= 100);
            /* pre-roll (300 ms) + speech + the window */
            long expected = 300 - 60 + (f.end_ms[u] - onset);
            CHECK(labs(f.length_ms[u] - expected) <= 80);
            CHECK(f.length_ms[u] >= speech_ms + windows[w]);
        }
        csp__vad_free(vad);
    }

    /* a length cap ends an utterance that never pauses */
    csp_vad_config capped = {.silence_ms = 1200, .max_ms = 1000};
    csp_vad *vad = csp__vad_new(&capped);
    found f = {0};
    feed(vad, signal, lead + speech_len, &f);
    CHECK_INT(f.count, 1);
    CHECK(f.length_ms[0] <= 1000 + 300);
    csp__vad_free(vad);

    /* only quiet: nothing */
    vad = csp__vad_new(&capped);
    memset(&f, 0, sizeof f);
    feed(vad, signal, lead, &f);
    CHECK_INT(f.count, 0);
    csp__vad_free(vad);

    free(signal);
    free(speech);
    return CHECK_DONE();
}
