/* SPDX-License-Identifier: MIT */
/*
 * portaudio_lib.h: PortAudio's functions, looked up with dlopen when a run first needs
 * PortAudio (devices, --device, JACK, the last fallback), so that every other run starts
 * without mapping it and JACK's libraries (5 ms of each start on the 2-core machine).
 * Its headers at build time only.
 */
#ifndef CSP_PORTAUDIO_LIB_H
#define CSP_PORTAUDIO_LIB_H
#include <portaudio.h>

typedef struct csp_portaudio_api {
    PaError (*Initialize)(void);
    PaError (*Terminate)(void);
    const char *(*GetErrorText)(PaError);
    PaDeviceIndex (*GetDeviceCount)(void);
    PaDeviceIndex (*GetDefaultOutputDevice)(void);
    PaDeviceIndex (*GetDefaultInputDevice)(void);
    const PaDeviceInfo *(*GetDeviceInfo)(PaDeviceIndex);
    PaError (*IsFormatSupported)(const PaStreamParameters *, const PaStreamParameters *, double);
    PaError (*OpenStream)(PaStream **, const PaStreamParameters *, const PaStreamParameters *,
                          double, unsigned long, PaStreamFlags, PaStreamCallback *, void *);
    PaError (*StartStream)(PaStream *);
    PaError (*StopStream)(PaStream *);
    PaError (*AbortStream)(PaStream *);
    PaError (*CloseStream)(PaStream *);
    PaError (*IsStreamActive)(PaStream *);
    PaError (*WriteStream)(PaStream *, const void *, unsigned long);
    PaError (*ReadStream)(PaStream *, void *, unsigned long);
    signed long (*GetStreamWriteAvailable)(PaStream *);
    void (*Sleep)(long);
} csp_portaudio_api;

/* Filled by csp__portaudio_load; read only after it returned 0. */
extern csp_portaudio_api csp__portaudio;

/* Load libportaudio.so.2 once: 0 when its functions are there. */
int csp__portaudio_load(void);
/* Pa_GetErrorText, also for the error a failed load gives (paNotInitialized then). */
const char *csp__portaudio_error_text(PaError err);
#endif
