/* SPDX-License-Identifier: MIT */
/* audio_system.c: PortAudio started once at a time, and standard error hidden meanwhile. */
#include "audio_system.h"

#include "audio_out.h"
#include "clawspeak.h"
#include "load_order.h"
#include "portaudio_lib.h"
#include "sink.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t hide_lock = PTHREAD_MUTEX_INITIALIZER;
static int hide_depth, saved_stderr = -1;

void csp__stderr_hide(void)
{
    pthread_mutex_lock(&hide_lock);
    if (hide_depth++ == 0) {
        /* close-on-exec: a process started meanwhile (a sound server ALSA autospawns) must
           not keep our standard error open */
        saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (saved_stderr >= 0 && null >= 0)
            dup2(null, STDERR_FILENO);
        if (null >= 0)
            close(null);
    }
    pthread_mutex_unlock(&hide_lock);
}

void csp__stderr_restore(void)
{
    pthread_mutex_lock(&hide_lock);
    if (--hide_depth == 0 && saved_stderr >= 0) {
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
    }
    pthread_mutex_unlock(&hide_lock);
}

static PaError quiet_initialize(void)
{
    if (csp__portaudio_load() != 0)
        return paNotInitialized; /* its text (csp__portaudio_error_text) says what to install */
    csp__alsa_quiet(); /* its lines while playing too (an underrun, a device that fails) */
    csp__stderr_hide();
    PaError err = csp__portaudio.Initialize();
    csp__stderr_restore();
    return err;
}

/* The warm-up: PortAudio initialised from the start of a run, on its own thread; the first
   csp__audio_start adopts it (and so its Pa_Terminate); one nobody adopted ends at exit. */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t warm_thread;
static enum { WARM_NONE, WARM_RUNNING, WARM_DONE } warm_state;
static PaError warm_error;

static void *warm_main(void *arg)
{
    (void)arg;
    csp__load_wait_first(50); /* libcurl, when a request comes first (load_order.h) */
    warm_error = quiet_initialize();
    return NULL;
}

/* Called with start_lock held. Returns 1 with *err set when there was a warm-up to take. */
static int adopt_warm_up(PaError *err)
{
    if (warm_state != WARM_RUNNING)
        return 0;
    pthread_join(warm_thread, NULL);
    warm_state = WARM_DONE;
    *err = warm_error;
    return 1;
}

static void end_unadopted_warm_up(void)
{
    pthread_mutex_lock(&start_lock);
    PaError err;
    if (adopt_warm_up(&err) && err == paNoError)
        csp__portaudio.Terminate();
    pthread_mutex_unlock(&start_lock);
}

void csp__audio_warm_up(void)
{
    pthread_mutex_lock(&start_lock);
    if (warm_state == WARM_NONE && pthread_create(&warm_thread, NULL, warm_main, NULL) == 0) {
        warm_state = WARM_RUNNING;
        atexit(end_unadopted_warm_up);
    }
    pthread_mutex_unlock(&start_lock);
}

int csp__audio_start(void)
{
    pthread_mutex_lock(&start_lock);
    PaError err;
    if (!adopt_warm_up(&err))
        err = quiet_initialize();
    pthread_mutex_unlock(&start_lock);
    return err;
}

void csp_audio_keep(int keep)
{
    /* PortAudio counts its starts: one more held here keeps the devices found. A failed
       start holds nothing (Pa_Terminate must not follow it), hence the flag. */
    static int held;
    if (keep && !held) {
        held = csp__audio_start() == 0;
        csp__sink_portaudio_park(held);
    } else if (!keep && held) {
        held = 0;
        csp__sink_portaudio_park(0); /* (its stream closes before PortAudio stops) */
        csp__audio_stop();
    }
}

void csp__audio_stop(void)
{
    pthread_mutex_lock(&start_lock);
    csp__portaudio.Terminate();
    pthread_mutex_unlock(&start_lock);
}

int csp__audio_find_device(const char *spec, int input)
{
    PaDeviceIndex count = csp__portaudio.GetDeviceCount();
    char *end;
    long index = strtol(spec, &end, 10);
    for (PaDeviceIndex i = 0; i < count; i++) {
        const PaDeviceInfo *info = csp__portaudio.GetDeviceInfo(i);
        int channels = !info ? 0 : input ? info->maxInputChannels : info->maxOutputChannels;
        int named = *spec && !*end ? i == index : strncmp(info ? info->name : "", spec, strlen(spec)) == 0;
        if (channels > 0 && named)
            return i;
    }
    return paNoDevice;
}
