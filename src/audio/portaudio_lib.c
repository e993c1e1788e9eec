/* SPDX-License-Identifier: MIT */
/* portaudio_lib.c: PortAudio's functions looked up once, when a run first needs them. */
#include "portaudio_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

csp_portaudio_api csp__portaudio;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char missing[300] = "cannot load libportaudio.so.2 (install libportaudio2)";

static void load(void)
{
    /* the soname of PortAudio v19: Debian's libportaudio2 */
    void *lib = dlopen("libportaudio.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        /* dlerror names what failed: the library, or one it needs (JACK's) */
        snprintf(missing, sizeof missing, "cannot load libportaudio.so.2 (install libportaudio2): %s",
                 dlerror());
        return;
    }
    static const struct {
        const char *name;
        size_t offset;
    } symbols[] = {
#define SYM(field) {"Pa_" #field, offsetof(csp_portaudio_api, field)}
        SYM(Initialize), SYM(Terminate), SYM(GetErrorText), SYM(GetDeviceCount),
        SYM(GetDefaultOutputDevice), SYM(GetDefaultInputDevice), SYM(GetDeviceInfo),
        SYM(IsFormatSupported), SYM(OpenStream), SYM(StartStream), SYM(StopStream),
        SYM(AbortStream), SYM(CloseStream), SYM(IsStreamActive), SYM(WriteStream),
        SYM(ReadStream), SYM(GetStreamWriteAvailable), SYM(Sleep),
#undef SYM
    };
    csp_portaudio_api api;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *fn = dlsym(lib, symbols[i].name);
        if (!fn) {
            snprintf(missing, sizeof missing, "libportaudio.so.2 lacks %s (install libportaudio2 19.6 or later)",
                     symbols[i].name);
            return;
        }
        memcpy((char *)&api + symbols[i].offset, &fn, sizeof fn);
    }
    csp__portaudio = api; /* published once: pthread_once orders it before every reader */
    loaded = 1;
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
