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
#endif
