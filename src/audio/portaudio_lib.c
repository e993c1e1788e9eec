/* SPDX-License-Identifier: MIT */
/* portaudio_lib.c: PortAudio's functions looked up once, when a run first needs them. */
#include "portaudio_lib.h"

#include "dynlib.h"

csp_portaudio_api csp__portaudio;

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
static csp_dynlib lib = CSP_DYNLIB("libportaudio.so.2", "libportaudio2", symbols, csp__portaudio);

int csp__portaudio_load(void) { return csp__dynlib_open(&lib); }

const char *csp__portaudio_error_text(PaError err)
{
    return csp__dynlib_open(&lib) == 0 ? csp__portaudio.GetErrorText(err) : lib.why;
}
