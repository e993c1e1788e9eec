/* SPDX-License-Identifier: MIT */
/*
 * capture.h: the microphone side. A PortAudio input stream read on its own
 * thread, 16 kHz mono signed 16-bit in 20 ms frames, each frame through
 * libspeexdsp's preprocessor (noise suppression, AGC, voice activity) and
 * an utterance state machine: wait for speech, keep a short pre-roll, end
 * after silence_ms of silence or at the length cap. The frame-level part
 * (csp__vad_*) needs no device, so it is tested offline on a wav.
 * Ownership: a finished utterance's samples belong to whoever takes them
 * (freed with csp__free). Thread safety: csp__capture_* from one thread,
 * except csp__capture_arm and csp__capture_playback (any thread).
 */
#ifndef CSP_CAPTURE_H
#define CSP_CAPTURE_H
#include "clawspeak.h"

#include <stddef.h>
#include <stdint.h>

#define CSP_CAPTURE_RATE 16000
#define CSP_CAPTURE_FRAME 320 /* 20 ms */

struct csp_report;

/* --- the frame-level detector: preprocessor + utterance state machine --------- */

typedef struct csp_vad csp_vad;

typedef struct csp_vad_config {
    int silence_ms; /* end an utterance after this much silence (0: 1200) */
    int max_ms;     /* cap an utterance at this length (0: 30000) */
    int preroll_ms; /* audio kept from before the speech was detected (0: 300) */
    int echo;       /* cancel echo with the played audio as reference (csp__vad_playback) */
    int echo_cancelled; /* with echo: the sound server cancelled it already; the played
                           audio still tells the reply's residue from a voice over it */
} csp_vad_config;

typedef enum {
    CSP_VAD_NOTHING = 0,
    CSP_VAD_SPEECH_STARTED, /* an utterance began at this frame */
    CSP_VAD_UTTERANCE,      /* an utterance ended: take it with csp__vad_take */
} csp_vad_event;

csp_vad *csp__vad_new(const csp_vad_config *config);
void csp__vad_free(csp_vad *vad);
/* One 20 ms frame (CSP_CAPTURE_FRAME samples at 16 kHz); processed in place.
   *level_db: the frame's level before processing (dBFS); *speech: the decision. */
csp_vad_event csp__vad_frame(csp_vad *vad, int16_t *frame, double *level_db, int *speech);
/* The finished utterance (pre-roll + speech + the silence that ended it); NULL if none. */
int16_t *csp__vad_take(csp_vad *vad, size_t *frames);
/* Forget any utterance in progress and the pre-roll. */
void csp__vad_reset(csp_vad *vad);
/* The audio just sent to the speaker, at 16 kHz mono, for the echo canceller. */
void csp__vad_playback(csp_vad *vad, const int16_t *frame);

/* --- the device ---------------------------------------------------------------- */

typedef struct csp_capture csp_capture;

typedef void (*csp_capture_level_fn)(void *userdata, double level_db, int speech);

typedef struct csp_capture_config {
    const char *device; /* index or name prefix; NULL: the default input */
    csp_vad_config vad;
    csp_capture_level_fn level; /* every frame, on the capture thread; may be NULL */
    void *level_userdata;
} csp_capture_config;

/* What the capture does with what it hears. */
typedef enum {
    CSP_CAPTURE_IDLE = 0, /* discard (a reply is playing and may not be interrupted) */
    CSP_CAPTURE_LISTEN,   /* collect the next utterance */
    CSP_CAPTURE_BARGE_IN, /* collect it, and the moment speech starts call on_barge_in */
} csp_capture_mode;

/* PortAudio starts on its own thread; the device is opened by csp__capture_start. */
csp_code csp__capture_new(struct csp_report *report, const csp_capture_config *config,
                          csp_capture **out);
/* Open and start the input stream (CSP_EAUDIO with a hint when there is no input). */
csp_code csp__capture_start(csp_capture *c);
/*
 * Wait for the next utterance; *pcm is 16 kHz mono, freed with csp__free.
 * *ended_ns: CLOCK_MONOTONIC time at which its closing silence was complete.
 * CSP_ECANCELED when the report is canceled.
 */
csp_code csp__capture_next(csp_capture *c, int16_t **pcm, size_t *frames, long long *ended_ns);
/* Any thread: what to do with the audio from now on. on_barge_in runs on the capture
   thread, once, when speech starts in CSP_CAPTURE_BARGE_IN; then the mode is LISTEN. */
void csp__capture_arm(csp_capture *c, csp_capture_mode mode, void (*on_barge_in)(void *),
                      void *userdata);
/* True if speech started while armed for barge-in since the last arm. */
int csp__capture_barged_in(csp_capture *c);
void csp__capture_free(csp_capture *c);

/* Any thread: audio being played (any rate, interleaved), the echo canceller's reference.
   Reaches the one capture that asked for echo cancellation, if any. */
void csp__capture_playback(const int16_t *samples, size_t frames, long rate, int channels);
#endif
