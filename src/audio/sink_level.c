/* SPDX-License-Identifier: MIT */
/*
 * sink_level.c: loudness on the way to a sink.
 *
 * --lead-in MS: silence first, for outputs that wake up slowly (Bluetooth,
 * HDMI) and would cut the first syllable.
 * --normalize: each chunk is held until it is whole, its integrated loudness
 * measured with libebur128 (EBU R128), and brought to -16 LUFS, so chunks
 * from different voices or providers come out at one loudness. The hold
 * costs one chunk of latency and its PCM in memory.
 * --volume X: a gain (0-4).
 * Whatever the gain, samples pass a soft limiter: below -2 dBFS they are
 * only scaled; above, they bend towards full scale (tanh) and never reach
 * it, so a loud source cannot clip. At volume 1 without --normalize this
 * sink is not made at all: the audio passes bit for bit.
 */
#include "alloc.h"
#include "report.h"
#include "sink.h"

#include <ebur128.h>
#include <math.h>
#include <string.h>

#define TARGET_LUFS (-16.0)
#define MAX_NORMALIZE_DB 30.0 /* a near-silent chunk is not blown up to full loudness */
/* the PCM of one chunk held for --normalize: a 2,000-character chunk is ~7 MB at 24 kHz */
#define HELD_MAX ((size_t)64 << 20)

typedef struct level_sink {
    csp_sink base;
    csp_sink *inner;
    double volume;
    int normalize;
    long lead_in_ms;
    csp_buf held; /* --normalize: the chunk so far */
    int16_t shaped[4096];
} level_sink;

/* One sample, scaled by gain, through the soft limiter. */
static int16_t limit(int16_t sample, double gain)
{
    const double knee = 0.794; /* -2 dBFS */
    double x = sample / 32768.0 * gain;
    double a = fabs(x);
    if (a > knee)
        a = knee + (1.0 - knee) * tanh((a - knee) / (1.0 - knee));
    long out = lrint(copysign(a, x) * 32768.0);
    return (int16_t)(out > 32767 ? 32767 : out < -32767 ? -32767 : out);
}

static csp_code write_scaled(level_sink *l, const int16_t *samples, size_t frames, double gain)
{
    if (gain == 1.0)
        return csp__sink_write(l->inner, samples, frames); /* a lead-in alone changes no sample */
    size_t channels = (size_t)l->base.channels;
    size_t block = sizeof l->shaped / sizeof l->shaped[0] / channels;
    while (frames > 0) {
        size_t n = frames < block ? frames : block;
        for (size_t i = 0; i < n * channels; i++)
            l->shaped[i] = limit(samples[i], gain);
        csp_code rc = csp__sink_write(l->inner, l->shaped, n);
        if (rc != CSP_OK)
            return rc;
        samples += n * channels;
        frames -= n;
    }
    return CSP_OK;
}

static csp_code level_open(csp_sink *sink, long rate, int channels)
{
    level_sink *l = (level_sink *)sink;
    csp_code rc = csp__sink_open(l->inner, rate, channels);
    memset(l->shaped, 0, sizeof l->shaped);
    size_t silence = (size_t)((double)rate * (double)l->lead_in_ms / 1000.0);
    size_t block = sizeof l->shaped / sizeof l->shaped[0] / (size_t)channels;
    while (rc == CSP_OK && silence > 0) {
        size_t n = silence < block ? silence : block;
        rc = csp__sink_write(l->inner, l->shaped, n);
        silence -= n;
    }
    /* the silence belongs to no text: a subtitle starts after it */
    return rc == CSP_OK && l->lead_in_ms ? csp__sink_chunk_end(l->inner, NULL, 0) : rc;
}

static csp_code level_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    level_sink *l = (level_sink *)sink;
    if (!l->normalize)
        return write_scaled(l, samples, frames, l->volume);
    if (csp__buf_append(&l->held, samples, frames * (size_t)sink->channels * sizeof *samples) < 0)
        return csp__fail(sink->report, CSP_ENOMEM,
                         "a chunk is too long to hold for --normalize (over %zu MB of audio); "
                         "lower tts.maxTextLength", HELD_MAX >> 20);
    return CSP_OK;
}

/* --normalize: the held chunk at -16 LUFS (times the volume), then on to the inner sink. */
static csp_code release_held(level_sink *l)
{
    size_t frames = l->held.len / sizeof(int16_t) / (size_t)l->base.channels;
    if (!frames)
        return CSP_OK;
    const int16_t *samples = (const int16_t *)(const void *)l->held.data;
    ebur128_state *meter = ebur128_init((unsigned)l->base.channels, (unsigned long)l->base.rate,
                                        EBUR128_MODE_I);
    double loudness = -HUGE_VAL;
    if (!meter || ebur128_add_frames_short(meter, samples, frames) != EBUR128_SUCCESS ||
        ebur128_loudness_global(meter, &loudness) != EBUR128_SUCCESS) {
        ebur128_destroy(&meter);
        return csp__fail(l->base.report, CSP_ENOMEM, "out of memory measuring loudness");
    }
    ebur128_destroy(&meter);
    /* too short or too quiet to measure (the gate leaves nothing): left as it is */
    double db = isfinite(loudness) ? TARGET_LUFS - loudness : 0.0;
    if (db > MAX_NORMALIZE_DB)
        db = MAX_NORMALIZE_DB;
    csp_code rc = write_scaled(l, samples, frames, l->volume * pow(10.0, db / 20.0));
    l->held.len = 0;
    return rc;
}

static csp_code level_chunk_end(csp_sink *sink, const char *text, size_t len)
{
    level_sink *l = (level_sink *)sink;
    csp_code rc = l->normalize ? release_held(l) : CSP_OK;
    return rc == CSP_OK ? csp__sink_chunk_end(l->inner, text, len) : rc;
}

static csp_code level_finish(csp_sink *sink, int commit)
{
    level_sink *l = (level_sink *)sink;
    csp_code rc = commit && l->normalize ? release_held(l) : CSP_OK;
    csp_code inner = csp__sink_finish(l->inner, commit && rc == CSP_OK);
    return rc != CSP_OK ? rc : inner;
}

static void level_free(csp_sink *sink)
{
    level_sink *l = (level_sink *)sink;
    csp__sink_free(l->inner);
    csp__buf_free(&l->held);
    csp__free(l);
}

static long level_rate_for(csp_sink *sink, long rate, int channels)
{
    return csp__sink_rate_for(((level_sink *)sink)->inner, rate, channels);
}

static csp_code level_check(csp_sink *sink) { return csp__sink_check(((level_sink *)sink)->inner); }

static csp_code level_rest(csp_sink *sink) { return csp__sink_rest(((level_sink *)sink)->inner); }

/* No mp3 passthrough: a gain changes the samples, so mp3 is decoded and encoded again. */
static const csp_sink_ops level_ops = {
    .open = level_open, .write = level_write, .finish = level_finish, .free = level_free,
    .rate_for = level_rate_for, .chunk_end = level_chunk_end, .check = level_check,
    .rest = level_rest};

csp_code csp__sink_level_new(csp_report *report, csp_sink *inner, double volume, int normalize,
                             long lead_in_ms, csp_sink **out)
{
    level_sink *l = csp__calloc(1, sizeof *l);
    *out = NULL;
    if (!l) {
        csp__sink_free(inner);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    l->base.ops = &level_ops;
    l->base.report = report;
    l->inner = inner;
    l->volume = volume;
    l->normalize = normalize;
    l->lead_in_ms = lead_in_ms;
    csp__buf_init(&l->held, HELD_MAX);
    *out = &l->base;
    return CSP_OK;
}
