/* SPDX-License-Identifier: MIT */
/* portaudio_lib.c: PortAudio's functions looked up once, when a run first needs them. */
#include "portaudio_lib.h"

#include "dynlib.h"

#include <pthread.h>

csp_portaudio_api csp__portaudio;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char missing[300];

static void load(void)
{
    static const csp_dynlib_symbol symbols[] = {
#define SYM(field) CSP_DYNLIB_SYMBOL(csp_portaudio_api, field, "Pa_" #field)
        SYM(Initialize), SYM(Terminate), SYM(GetErrorText), SYM(GetDeviceCount),
        SYM(GetDefaultOutputDevice), SYM(GetDefaultInputDevice), SYM(GetDeviceInfo),
        SYM(IsFormatSupported), SYM(OpenStream), SYM(StartStream), SYM(StopStream),
        SYM(AbortStream), SYM(CloseStream), SYM(IsStreamActive), SYM(WriteStream),
        SYM(ReadStream), SYM(GetStreamWriteAvailable), SYM(Sleep),
#undef SYM
    };
    /* the soname of PortAudio v19: Debian's libportaudio2 */
    loaded = csp__dynlib_load("libportaudio.so.2", "libportaudio2", symbols,
                              sizeof symbols / sizeof symbols[0], &csp__portaudio,
                              sizeof csp__portaudio, missing, sizeof missing) == 0;
}

int csp__portaudio_load(void)
{
    pthread_once(&once, load);
    return loaded ? 0 : -1;
}

const char *csp__portaudio_error_text(PaError err)
{
    if (csp__portaudio_load() != 0)
        return missing;
    return csp__portaudio.GetErrorText(err);
}
