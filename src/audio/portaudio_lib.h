/* SPDX-License-Identifier: MIT */
/*
 * portaudio_lib.h: PortAudio, loaded with dlopen when a run first needs it (`devices`,
 * --device, a machine with neither a sound server nor ALSA's default), not when the
 * program starts: with libjack it cost every run ~3.5 ms before main. Files that call
 * PortAudio include this header instead of <portaudio.h>; their Pa_* calls go through
 * the table. Pa_Initialize loads the library first and fails with paNotInitialized when
 * it is missing; Pa_GetErrorText then says what to install. Every other call follows a
 * Pa_Initialize that succeeded, as PortAudio requires.
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
    signed long (*GetStreamWriteAvailable)(PaStream *);
    PaError (*WriteStream)(PaStream *, const void *, unsigned long);
    PaError (*ReadStream)(PaStream *, void *, unsigned long);
    void (*Sleep)(long);
} csp_portaudio_api;

extern csp_portaudio_api csp__portaudio;

/* Load libportaudio.so.2 (once), then Pa_Initialize. */
PaError csp__portaudio_initialize(void);
/* PortAudio's text for err, or what to install when the library is missing. */
const char *csp__portaudio_error_text(PaError err);

#define Pa_Initialize csp__portaudio_initialize
#define Pa_GetErrorText csp__portaudio_error_text
#define Pa_Terminate csp__portaudio.Terminate
#define Pa_GetDeviceCount csp__portaudio.GetDeviceCount
#define Pa_GetDefaultOutputDevice csp__portaudio.GetDefaultOutputDevice
#define Pa_GetDefaultInputDevice csp__portaudio.GetDefaultInputDevice
#define Pa_GetDeviceInfo csp__portaudio.GetDeviceInfo
#define Pa_IsFormatSupported csp__portaudio.IsFormatSupported
#define Pa_OpenStream csp__portaudio.OpenStream
#define Pa_StartStream csp__portaudio.StartStream
#define Pa_StopStream csp__portaudio.StopStream
#define Pa_AbortStream csp__portaudio.AbortStream
#define Pa_CloseStream csp__portaudio.CloseStream
#define Pa_IsStreamActive csp__portaudio.IsStreamActive
#define Pa_GetStreamWriteAvailable csp__portaudio.GetStreamWriteAvailable
#define Pa_WriteStream csp__portaudio.WriteStream
#define Pa_ReadStream csp__portaudio.ReadStream
#define Pa_Sleep csp__portaudio.Sleep
#endif
