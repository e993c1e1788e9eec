/* SPDX-License-Identifier: MIT */
/*
 * decode.h: turns response bytes into signed 16-bit interleaved samples.
 * MP3 goes through mpg123's feed API with gapless decoding, so encoder
 * delay and padding never become clicks or silence between chunks; PCM is
 * passed through with its rate and channels from the Content-Type; a WAV
 * stream's format comes from its header (a local engine's stdout).
 */
#ifndef CSP_DECODE_H
#define CSP_DECODE_H
#include "content_type.h"

#include <stddef.h>
#include <stdint.h>

typedef struct csp_decoder csp_decoder;

/* mpg123 initialised (once, any thread; the decoder and mp3_frames.c both use it): 1 or 0. */
int csp__mpg123_ready(void);

/* Receives decoded frames. Return nonzero to stop. */
typedef int (*csp_pcm_fn)(void *userdata, const int16_t *samples, size_t frames, long rate,
                          int channels);

/* force_rate/force_channels: 0 keeps the stream's own format. NULL on failure (*why set). */
csp_decoder *csp__decoder_new(const csp_media *media, long force_rate, int force_channels,
                              const char **why);
void csp__decoder_free(csp_decoder *decoder);
/* With no rate forced: once the audio's rate is known, ask choose for the rate to deliver. */
void csp__decoder_choose_rate(csp_decoder *decoder,
                              long (*choose)(void *userdata, long rate, int channels),
                              void *userdata);
/* Feed bytes; decoded frames go to emit. Returns 0, 1 if emit stopped, -1 on a decode error. */
int csp__decoder_feed(csp_decoder *decoder, const void *data, size_t len, csp_pcm_fn emit,
                      void *userdata);
/* End of input: flush what is left. Same returns. */
int csp__decoder_finish(csp_decoder *decoder, csp_pcm_fn emit, void *userdata);
const char *csp__decoder_error(const csp_decoder *decoder);
#endif
