/* SPDX-License-Identifier: MIT */
/*
 * audio_system.h: PortAudio's start and stop, shared by playback
 * (sink_portaudio.c) and the microphone (capture.c). Pa_Initialize is not
 * thread-safe and probes ALSA, JACK and OSS for tens of milliseconds: here
 * it runs under one lock, and a warm-up started at the beginning of a run
 * (csp__audio_warm_up) is adopted by the first caller.
 *
 * Their probes print noise on standard error; while it is hidden, fd 2
 * points at /dev/null (the tool's own messages go to a copy of it). The
 * hiding nests and is shared by every thread, so two hiders never restore
 * each other's /dev/null.
 */
#ifndef CSP_AUDIO_SYSTEM_H
#define CSP_AUDIO_SYSTEM_H

/* Start PortAudio on a thread now (only the first call does anything). */
void csp__audio_warm_up(void);
/* Pa_Initialize (or the warm-up's result): a PaError; paNoError needs csp__audio_stop. */
int csp__audio_start(void);
void csp__audio_stop(void);

/* A device by index or name prefix that can play (or, with input, record); -1 (paNoDevice)
   when none matches. PortAudio must be started. */
int csp__audio_find_device(const char *spec, int input);

void csp__stderr_hide(void);
void csp__stderr_restore(void);
#endif
