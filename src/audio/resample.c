/* SPDX-License-Identifier: MIT */
/* resample.c: see resample.h. */
#include "resample.h"

#include "alloc.h"
#include "dynlib.h"

#include <soxr.h>

/*
 * libsoxr is loaded the first time audio needs resampling: most runs never
 * do, and the library with the OpenMP runtime it brings would add to every
 * run's memory (the 200,000-character benchmark's budget is 20 MiB).
 */
typedef struct soxr_api {
    soxr_t (*create)(double, double, unsigned, soxr_error_t *, soxr_io_spec_t const *,
                     soxr_quality_spec_t const *, soxr_runtime_spec_t const *);
    soxr_error_t (*process)(soxr_t, soxr_in_t, size_t, size_t *, soxr_out_t, size_t, size_t *);
    void (*delete)(soxr_t);
    soxr_io_spec_t (*io_spec)(soxr_datatype_t, soxr_datatype_t);
    soxr_quality_spec_t (*quality_spec)(unsigned long, unsigned long);
} soxr_api;
static soxr_api soxr;
static const csp_dynlib_symbol symbols[] = {
#define SYM(field) CSP_DYNLIB_SYMBOL(soxr_api, field, "soxr_" #field)
    SYM(create), SYM(process), SYM(delete), SYM(io_spec), SYM(quality_spec),
#undef SYM
};
static csp_dynlib soxr_lib = CSP_DYNLIB("libsoxr.so.0", "libsoxr0", symbols, soxr);

#define OUT_FRAMES 4096

struct csp_resampler {
    soxr_t soxr;
    long in_rate, out_rate;
    int channels;
    int16_t out[OUT_FRAMES * 2];
};

csp_resampler *csp__resampler_new(long in_rate, long out_rate, int channels, const char **why)
{
    if (in_rate <= 0 || out_rate <= 0 || channels < 1 || channels > 2) {
        *why = "cannot resample this audio (rate or channels out of range)";
        return NULL;
    }
    if (csp__dynlib_open(&soxr_lib) != 0) {
        *why = soxr_lib.why; /* the package to install, and dlerror's reason */
        return NULL;
    }
    csp_resampler *r = csp__calloc(1, sizeof *r);
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    soxr_io_spec_t io = soxr.io_spec(SOXR_INT16_I, SOXR_INT16_I);
    /* no dither: libsoxr seeds it from the clock, so two identical conversions would differ
       (and transcribe would cut a file at different pauses each run); at 16 bits its
       benefit for speech is below hearing */
    io.flags |= SOXR_NO_DITHER;
    /* HQ is transparent for speech; minimum phase keeps the delay to the first sample short */
    soxr_quality_spec_t quality = soxr.quality_spec(SOXR_HQ | SOXR_MINIMUM_PHASE, 0);
    soxr_error_t err = NULL;
    r->soxr = soxr.create((double)in_rate, (double)out_rate, (unsigned)channels, &err, &io,
                          &quality, NULL);
    if (!r->soxr || err) {
        *why = "cannot start the resampler";
        csp__resampler_free(r);
        return NULL;
    }
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    r->channels = channels;
    return r;
}

/* Run soxr over the input (NULL: flush) until it has nothing more to give now. */
static int run(csp_resampler *r, const int16_t *in, size_t frames, csp_pcm_fn emit, void *userdata)
{
    size_t out_cap = sizeof r->out / sizeof r->out[0] / (size_t)r->channels;
    for (;;) {
        size_t used = 0, made = 0;
        if (soxr.process(r->soxr, in, in ? frames : 0, &used, r->out, out_cap, &made) != NULL)
            return -1;
        if (made && emit(userdata, r->out, made, r->out_rate, r->channels))
            return 1;
        if (in) {
            in += used * (size_t)r->channels;
            frames -= used;
            if (frames == 0 && made < out_cap)
                return 0;
        } else if (made == 0) {
            return 0;
        }
    }
}

int csp__resampler_feed(csp_resampler *r, const int16_t *samples, size_t frames, csp_pcm_fn emit,
                        void *userdata)
{
    return frames ? run(r, samples, frames, emit, userdata) : 0;
}

int csp__resampler_flush(csp_resampler *r, csp_pcm_fn emit, void *userdata)
{
    return run(r, NULL, 0, emit, userdata);
}

void csp__resampler_free(csp_resampler *r)
{
    if (!r)
        return;
    if (r->soxr)
        soxr.delete(r->soxr);
    csp__free(r);
}

long csp__resampler_in_rate(const csp_resampler *r) { return r->in_rate; }
