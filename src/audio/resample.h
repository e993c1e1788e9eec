/* SPDX-License-Identifier: MIT */
/*
 * resample.h: sample-rate conversion with libsoxr (high quality, minimum
 * phase: little delay before the first sample), streaming, signed 16-bit
 * interleaved in and out. Used wherever a chunk's rate differs from the
 * stream's: a local-engine chunk in the middle of API audio, pcm at any rate.
 */
#ifndef CSP_RESAMPLE_H
#define CSP_RESAMPLE_H
#include "decode.h"

typedef struct csp_resampler csp_resampler;

/* NULL when out of memory or the rates are not usable (*why set). */
csp_resampler *csp__resampler_new(long in_rate, long out_rate, int channels, const char **why);
/* Convert frames; the output goes to emit at out_rate. Returns 0, 1 if emit stopped, -1 on error. */
int csp__resampler_feed(csp_resampler *r, const int16_t *samples, size_t frames, csp_pcm_fn emit,
                        void *userdata);
/* End of the input: the filter's tail goes out too. Same returns. */
int csp__resampler_flush(csp_resampler *r, csp_pcm_fn emit, void *userdata);
void csp__resampler_free(csp_resampler *r);
long csp__resampler_in_rate(const csp_resampler *r);
#endif
