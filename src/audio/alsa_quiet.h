/* SPDX-License-Identifier: MIT */
/*
 * alsa_quiet.h: ALSA's own messages, filtered. libasound prints "ALSA lib
 * pcm.c:...:(snd_pcm_recover) underrun occurred" on standard error each time
 * a stream runs dry for a moment (a busy machine, the gap before a --lines
 * line); PortAudio recovers, and the line only breaks up what we print. Those
 * are dropped; every other ALSA message goes out as ALSA prints it.
 */
#ifndef CSP_ALSA_QUIET_H
#define CSP_ALSA_QUIET_H

/* Once PortAudio is up (libasound loaded): install the filter. Never loads ALSA itself. */
void csp__alsa_quiet(void);
#endif
