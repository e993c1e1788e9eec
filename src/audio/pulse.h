/* SPDX-License-Identifier: MIT */
/*
 * pulse.h: libpulse, loaded with dlopen when a sound server is there (so it is no hard
 * dependency), driven by a plain pa_mainloop that only the thread using it runs, in steps
 * of at most 20 ms: every wait is bounded and a cancel is seen at once, even when the
 * server is frozen (kill -STOP) or gone. A connection made by the warm-up thread is handed
 * over whole to the sink (or the microphone) that adopts it; one thread at a time.
 */
#ifndef CSP_PULSE_H
#define CSP_PULSE_H
#include "clawspeak.h"

#include <stddef.h>
#include <stdint.h>

struct csp_report;
typedef struct csp_pulse csp_pulse;

/* Is a server expected ($PULSE_SERVER set, or $XDG_RUNTIME_DIR/pulse/native there)? One
   getenv and one stat: nothing loaded. */
int csp__pulse_expected(void);
/* Load libpulse and connect (no autospawn), waiting at most timeout_ms. NULL when the
   library is missing or the server refused or did not answer; nothing is printed. */
csp_pulse *csp__pulse_connect(int timeout_ms);
void csp__pulse_free(csp_pulse *c);
/* "PulseAudio 16.1 at unix:/run/user/1000/pulse/native" (PipeWire says so in its name). */
void csp__pulse_describe(csp_pulse *c, char *buf, size_t size);

/* A playback sink on the server's default sink (or $PULSE_SINK); takes ownership of c. */
struct csp_sink;
csp_code csp__sink_pulse_new(struct csp_report *report, csp_pulse *c, int wait_turn,
                             struct csp_sink **out);

/* --- the microphone (pulse_mic.c) ------------------------------------------------------- */

typedef struct csp_pulse_mic csp_pulse_mic;
/* Record mono signed 16-bit at rate from the server's default source (or $PULSE_SOURCE);
   takes ownership of c. With echo_cancel, the server's WebRTC canceller is loaded for the
   run (module-echo-cancel on the default source and sink): recorded from its source, and
   playback through the server goes to its sink until the microphone is freed. NULL with
   *why when that fails (c is freed). */
csp_pulse_mic *csp__pulse_mic_open(csp_pulse *c, long rate, int echo_cancel, const char **why);
/* What is recorded from, for --verbose. */
const char *csp__pulse_mic_source(csp_pulse_mic *m);
/* Up to frames samples, waiting at most wait_ms for the first: the count (0: nothing yet),
   -1 when the server went away. */
long csp__pulse_mic_read(csp_pulse_mic *m, int16_t *samples, size_t frames, int wait_ms);
/* Closes the recording and unloads the canceller. */
void csp__pulse_mic_free(csp_pulse_mic *m);

/* The sink playback goes to ("" or NULL: the server's default, or $PULSE_SINK). */
void csp__pulse_play_to(const char *sink);
void csp__pulse_playback_sink(char *buf, size_t size);
#endif
