/* SPDX-License-Identifier: MIT */
/*
 * audio_out.h: which way the default output is played, chosen at run time, fastest first:
 * libpulse when a sound server answers (PulseAudio, PipeWire), else ALSA's "default" PCM,
 * else PortAudio, which also plays every --device N|NAME, JACK-only set-ups and other
 * systems. The choice is made on a thread started at the top of a run (beside the first
 * request); a connection refused falls through to the next without a word on stderr.
 */
#ifndef CSP_AUDIO_OUT_H
#define CSP_AUDIO_OUT_H
#include "clawspeak.h"

#include <stddef.h>

struct csp_report;
struct csp_sink;

typedef enum { CSP_OUT_NONE = 0, CSP_OUT_PULSE, CSP_OUT_ALSA, CSP_OUT_PORTAUDIO } csp_out_kind;

/* Start choosing the default output on a thread now (only the first call does anything). */
void csp__out_warm_up(void);
/* The playback sink: the default output as chosen, or PortAudio's device for a spec. */
csp_code csp__sink_device_new(struct csp_report *report, const char *device, int wait_turn,
                              struct csp_sink **out);
/* "PulseAudio 16.1 at unix:/run/user/1000/pulse/native", "ALSA 'default'", "PortAudio". */
void csp__out_describe(char *buf, size_t size);

/* --echo-cancel: the canceller's reference is tapped in the PortAudio sink, so playback goes
   through PortAudio from now on (the sound server's own canceller is not wired yet). */
void csp__out_need_reference(void);

long long csp__out_now_ms(void);
/* Close an ALSA PCM (kind CSP_OUT_ALSA) or a PortAudio stream (CSP_OUT_PORTAUDIO) on a
   helper thread, playing out what is queued (drain) or dropping it, waiting at most a
   moment: a plugin stuck on a frozen sound server is left behind (and csp__out_wedged says
   so) instead of hanging the run. */
void csp__out_bounded_close(csp_out_kind kind, void *handle, int drain);
int csp__out_wedged(void);

/* sink_alsa.c */
typedef struct _snd_pcm snd_pcm_t;
snd_pcm_t *csp__alsa_open_default(void);
/* ALSA's error lines ("ALSA lib pcm.c: underrun occurred") silenced, for PortAudio too. */
void csp__alsa_quiet(void);
void csp__alsa_close(snd_pcm_t *pcm);
csp_code csp__sink_alsa_new(struct csp_report *report, snd_pcm_t *pcm, int wait_turn,
                            struct csp_sink **out);
#endif
