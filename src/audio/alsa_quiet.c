/* SPDX-License-Identifier: MIT */
/*
 * alsa_quiet.c: see alsa_quiet.h. libasound is reached with dlopen(RTLD_NOLOAD):
 * the copy PortAudio already loaded, or none (no ALSA, nothing to filter), so
 * the library gains no link to ALSA.
 */
#include "alsa_quiet.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef void (*alsa_handler)(const char *file, int line, const char *function, int err,
                             const char *fmt, ...);
static const char *(*alsa_strerror)(int err);

static void filter(const char *file, int line, const char *function, int err, const char *fmt,
                   ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* a moment's underrun (or a capture overrun) is recovered from: not the user's news */
    if (strstr(message, "underrun occurred") || strstr(message, "overrun occurred"))
        return;
    /* the rest as ALSA's default handler prints it */
    fprintf(stderr, "ALSA lib %s:%i:(%s) %s%s%s\n", file, line, function, message,
            err && alsa_strerror ? ": " : "", err && alsa_strerror ? alsa_strerror(err) : "");
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void install(void)
{
    void *lib = dlopen("libasound.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!lib)
        return;
    int (*set_handler)(alsa_handler);
    *(void **)&set_handler = dlsym(lib, "snd_lib_error_set_handler");
    *(void **)&alsa_strerror = dlsym(lib, "snd_strerror");
    if (set_handler)
        set_handler(filter);
    /* the handle stays open: the handler lives as long as libasound does */
}

void csp__alsa_quiet(void) { pthread_once(&once, install); }
