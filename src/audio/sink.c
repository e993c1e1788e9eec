/* SPDX-License-Identifier: MIT */
/* sink.c: the sink dispatch, and the tee that plays and saves at once. */
#include "sink.h"

#include "alloc.h"
#include "audio_out.h"
#include "report.h"

csp_code csp__sink_open(csp_sink *sink, long rate, int channels)
{
    csp_code rc = sink->ops->open(sink, rate, channels);
    if (rc == CSP_OK) {
        sink->rate = rate;
        sink->channels = channels;
        sink->opened = 1;
    }
    return rc;
}

long csp__sink_rate_for(csp_sink *sink, long rate, int channels)
{
    if (sink->opened)
        return sink->rate;
    return sink->ops->rate_for ? sink->ops->rate_for(sink, rate, channels) : rate;
}

csp_code csp__sink_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    return frames ? sink->ops->write(sink, samples, frames) : CSP_OK;
}

csp_code csp__sink_finish(csp_sink *sink, int commit) { return sink->ops->finish(sink, commit); }

csp_code csp__sink_check(csp_sink *sink)
{
    return sink->ops->check ? sink->ops->check(sink) : CSP_OK;
}

csp_code csp__sink_chunk_end(csp_sink *sink, const char *text, size_t len)
{
    return sink && sink->ops->chunk_end ? sink->ops->chunk_end(sink, text, len) : CSP_OK;
}

csp_code csp__sink_rest(csp_sink *sink)
{
    return sink && sink->opened && sink->ops->rest ? sink->ops->rest(sink) : CSP_OK;
}

int csp__sink_takes_mp3(csp_sink *sink, long rate, int channels)
{
    return sink->ops->takes_mp3 && sink->ops->takes_mp3(sink, rate, channels);
}

csp_code csp__sink_write_mp3(csp_sink *sink, const unsigned char *frame, size_t len, long delay,
                             long padding)
{
    return sink->ops->write_mp3(sink, frame, len, delay, padding);
}

int csp__sink_wants_decoded(csp_sink *sink)
{
    return sink->ops->wants_decoded && sink->ops->wants_decoded(sink);
}

csp_code csp__sink_write_decoded(csp_sink *sink, const int16_t *samples, size_t frames)
{
    return frames && sink->ops->write_decoded ? sink->ops->write_decoded(sink, samples, frames)
                                              : CSP_OK;
}

void csp__sink_free(csp_sink *sink)
{
    if (sink)
        sink->ops->free(sink);
}

typedef struct tee_sink {
    csp_sink base;
    csp_sink *a, *b;
} tee_sink;

static csp_code tee_open(csp_sink *sink, long rate, int channels)
{
    tee_sink *t = (tee_sink *)sink;
    csp_code rc = csp__sink_open(t->a, rate, channels);
    if (rc != CSP_OK)
        return rc;
    rc = csp__sink_open(t->b, rate, channels);
    if (rc == CSP_EAUDIO) {
        /* -o FILE --play with no device: the file is what lasts; say so and save it */
        csp__log(sink->report, CSP_LOG_WARN, "cannot play (%s); saving to the file only",
                 sink->report->error);
        sink->report->error[0] = '\0';
        csp__sink_free(t->b);
        t->b = NULL;
        rc = CSP_OK;
    }
    return rc;
}

static csp_code tee_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    tee_sink *t = (tee_sink *)sink;
    csp_code rc = csp__sink_write(t->a, samples, frames);
    return rc == CSP_OK && t->b ? csp__sink_write(t->b, samples, frames) : rc;
}

static csp_code tee_finish(csp_sink *sink, int commit)
{
    tee_sink *t = (tee_sink *)sink;
    /* the file (a) commits only if playback also ended well */
    csp_code rb = t->b ? csp__sink_finish(t->b, commit) : CSP_OK;
    csp_code ra = csp__sink_finish(t->a, commit && rb == CSP_OK);
    return ra != CSP_OK ? ra : rb;
}

static void tee_free(csp_sink *sink)
{
    tee_sink *t = (tee_sink *)sink;
    csp__sink_free(t->a);
    csp__sink_free(t->b);
    csp__free(t);
}

/* The file decides; the device plays what the file holds. */
static long tee_rate_for(csp_sink *sink, long rate, int channels)
{
    return csp__sink_rate_for(((tee_sink *)sink)->a, rate, channels);
}

/* mp3 frames go to the file as they are; their decoded PCM to the player. */
static int tee_takes_mp3(csp_sink *sink, long rate, int channels)
{
    return csp__sink_takes_mp3(((tee_sink *)sink)->a, rate, channels);
}

static csp_code tee_write_mp3(csp_sink *sink, const unsigned char *frame, size_t len, long delay,
                              long padding)
{
    return csp__sink_write_mp3(((tee_sink *)sink)->a, frame, len, delay, padding);
}

static int tee_wants_decoded(csp_sink *sink) { return ((tee_sink *)sink)->b != NULL; }

static csp_code tee_write_decoded(csp_sink *sink, const int16_t *samples, size_t frames)
{
    tee_sink *t = (tee_sink *)sink;
    return t->b ? csp__sink_write(t->b, samples, frames) : CSP_OK;
}

static csp_code tee_chunk_end(csp_sink *sink, const char *text, size_t len)
{
    return csp__sink_chunk_end(((tee_sink *)sink)->a, text, len);
}

static csp_code tee_rest(csp_sink *sink)
{
    tee_sink *t = (tee_sink *)sink;
    return t->b ? csp__sink_rest(t->b) : CSP_OK;
}

/* No check: with a file, a device that does not start only costs the playback (tee_open). */
static const csp_sink_ops tee_ops = {
    .open = tee_open, .write = tee_write, .finish = tee_finish, .free = tee_free,
    .rate_for = tee_rate_for, .takes_mp3 = tee_takes_mp3, .write_mp3 = tee_write_mp3,
    .wants_decoded = tee_wants_decoded, .write_decoded = tee_write_decoded,
    .chunk_end = tee_chunk_end, .rest = tee_rest};

/* Play and save at once: takes ownership of a and b. */
static csp_code tee_new(csp_report *report, csp_sink *a, csp_sink *b, csp_sink **out)
{
    tee_sink *t = csp__calloc(1, sizeof *t);
    if (!t) {
        csp__sink_free(a);
        csp__sink_free(b);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    t->base.ops = &tee_ops;
    t->base.report = report;
    t->a = a;
    t->b = b;
    *out = &t->base;
    return CSP_OK;
}

/* The device, the file, or both. */
static csp_code base_sink(csp_report *report, const csp_say_options *options, csp_sink **out)
{
    csp_sink *file = NULL, *play = NULL;
    csp_code rc;
    *out = NULL;
    if (!options->output_path)
        return csp__sink_device_new(report, options->device, !options->no_wait, out);
    rc = csp__sink_file_new(report, options->output_path, options->output_format, &file);
    if (rc == CSP_OK)
        file->wanted_rate = options->sample_rate;
    if (rc != CSP_OK || !options->play) {
        *out = file;
        return rc;
    }
    rc = csp__sink_device_new(report, options->device, !options->no_wait, &play);
    if (rc == CSP_EAUDIO) {
        /* -o FILE --play with no device: the file is what lasts; say so and save it */
        csp__log(report, CSP_LOG_WARN, "cannot play (%s); saving to %s only", report->error,
                 options->output_path);
        report->error[0] = '\0';
        *out = file;
        return CSP_OK;
    }
    if (rc != CSP_OK) {
        csp__sink_finish(file, 0);
        csp__sink_free(file);
        return rc;
    }
    return tee_new(report, file, play, out);
}

csp_code csp__sink_for_options(csp_report *report, const csp_say_options *options,
                               csp_sink **out)
{
    csp_code rc = base_sink(report, options, out);
    /* the subtitles count what reaches the file, the lead-in included; loudness comes first */
    if (rc == CSP_OK && options->subtitles_path)
        rc = csp__sink_subtitles_new(report, *out, options->subtitles_path, options->output_path,
                                     out);
    if (rc == CSP_OK && ((options->volume_set && options->volume != 1.0) || options->normalize ||
                         options->lead_in_ms > 0))
        rc = csp__sink_level_new(report, *out, options->volume_set ? options->volume : 1.0,
                                 options->normalize, options->lead_in_ms, out);
    return rc;
}
