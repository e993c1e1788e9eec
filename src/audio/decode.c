/* SPDX-License-Identifier: MIT */
/*
 * decode.c: mpg123 (API 47: mpg123_open_feed / mpg123_feed / mpg123_read),
 * WAV read as it streams in (its header through libsndfile, then 16-bit
 * samples as they come) and PCM pass-through behind one interface. Audio at another rate or
 * channel count than the stream's goes through libsoxr (resample.c) and a
 * channel mix, so chunks from different providers join in one stream.
 */
#include "decode.h"

#include "alloc.h"
#include "resample.h"
#include "sndfile_lib.h"

#include <mpg123.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct csp_decoder {
    csp_media media;
    mpg123_handle *mh;
    long rate;
    int channels;
    unsigned char carry[16]; /* PCM: a partial frame between feeds */
    size_t carry_len;
    long out_rate;     /* the stream's format; 0: the chunk's own */
    int out_channels;
    csp_resampler *resampler;
    long (*choose)(void *userdata, long rate, int channels);
    void *choose_userdata;
    int16_t mixed[8192];
    csp_buf wav_header; /* WAV: the bytes up to its samples, until libsndfile reads them */
    int wav_started;    /* WAV: the header is read; bytes are samples now */
    uint64_t wav_left;  /* WAV: bytes of samples the header declares (a stream's is huge) */
    size_t mp3_skip;    /* MP3: decoder-delay frames still to drop (a stream with no Info tag) */
    char error[160];
};

/* Every layer III decoder's own delay in samples: mpg123 trims it (with the encoder's delay
   and padding) only when a LAME/Info tag says how much; without one, we trim this much. */
#define MP3_DECODER_DELAY 529

/* a WAV header with more than this before its samples is not one a speech engine writes */
#define WAV_HEADER_MAX 65536

static pthread_once_t mpg123_once = PTHREAD_ONCE_INIT;
static int mpg123_ready;
static void mpg123_setup(void)
{
    /* mpg123_init is a no-op from 1.27 on, but older builds need it */
    mpg123_ready = mpg123_init() == MPG123_OK;
}

int csp__mpg123_ready(void)
{
    pthread_once(&mpg123_once, mpg123_setup);
    return mpg123_ready;
}

csp_decoder *csp__decoder_new(const csp_media *media, long force_rate, int force_channels,
                              const char **why)
{
    csp_decoder *d = csp__calloc(1, sizeof *d);
    if (!d) {
        *why = "out of memory";
        return NULL;
    }
    d->media = *media;
    d->out_rate = force_rate;
    d->out_channels = force_channels;
    if (media->kind == CSP_MEDIA_PCM) {
        d->rate = media->rate;
        d->channels = media->channels;
        if (d->channels < 1 || d->channels > 2) {
            *why = "PCM with more than two channels";
            csp__free(d);
            return NULL;
        }
        return d;
    }
    if (media->kind == CSP_MEDIA_WAV) {
        csp__buf_init(&d->wav_header, WAV_HEADER_MAX);
        return d;
    }
    if (media->kind != CSP_MEDIA_MP3) {
        *why = "not an audio format clawspeak can decode";
        csp__free(d);
        return NULL;
    }
    int err = MPG123_OK;
    if (!csp__mpg123_ready() || !(d->mh = mpg123_new(NULL, &err))) {
        *why = "cannot start the mp3 decoder";
        csp__free(d);
        return NULL;
    }
    mpg123_param(d->mh, MPG123_FLAGS, MPG123_QUIET | MPG123_GAPLESS, 0);
    /* pin the output to signed 16-bit; optionally one rate and channel count */
    mpg123_format_none(d->mh);
    const long *rates;
    size_t count;
    mpg123_rates(&rates, &count);
    int channel_mask = force_channels == 1 ? MPG123_MONO
                       : force_channels == 2 ? MPG123_STEREO
                                             : MPG123_MONO | MPG123_STEREO;
    /* every rate as it comes: a different one is resampled by libsoxr, not mpg123's NtoM */
    for (size_t i = 0; i < count; i++)
        mpg123_format(d->mh, rates[i], channel_mask, MPG123_ENC_SIGNED_16);
    if (mpg123_open_feed(d->mh) != MPG123_OK) {
        *why = "cannot open the mp3 decoder";
        csp__decoder_free(d);
        return NULL;
    }
    return d;
}

void csp__decoder_free(csp_decoder *d)
{
    if (!d)
        return;
    if (d->mh) {
        mpg123_close(d->mh);
        mpg123_delete(d->mh);
    }
    csp__resampler_free(d->resampler);
    csp__buf_free(&d->wav_header);
    csp__free(d);
}

void csp__decoder_choose_rate(csp_decoder *d,
                              long (*choose)(void *userdata, long rate, int channels),
                              void *userdata)
{
    d->choose = choose;
    d->choose_userdata = userdata;
}

/* Frames at the stream's rate: through the resampler when this chunk's rate differs. */
static int resampled(csp_decoder *d, const int16_t *samples, size_t frames, long rate,
                     int channels, csp_pcm_fn emit, void *userdata)
{
    if (!d->out_rate && d->choose)
        d->out_rate = d->choose(d->choose_userdata, rate, channels); /* once: the first chunk's sink */
    if (!d->out_rate || rate == d->out_rate)
        return emit(userdata, samples, frames, rate, channels);
    if (d->resampler && csp__resampler_in_rate(d->resampler) != rate) {
        int rc = csp__resampler_flush(d->resampler, emit, userdata);
        csp__resampler_free(d->resampler);
        d->resampler = NULL;
        if (rc)
            return rc;
    }
    const char *why = NULL;
    if (!d->resampler && !(d->resampler = csp__resampler_new(rate, d->out_rate, channels, &why))) {
        snprintf(d->error, sizeof d->error, "%s", why);
        return -1;
    }
    int rc = csp__resampler_feed(d->resampler, samples, frames, emit, userdata);
    if (rc < 0)
        snprintf(d->error, sizeof d->error, "resampling failed");
    return rc;
}

/* Decoded frames in the stream's format: one or two channels as it has, then its rate. */
static int deliver(csp_decoder *d, const int16_t *samples, size_t frames, long rate,
                   int channels, csp_pcm_fn emit, void *userdata)
{
    if (!d->out_channels || channels == d->out_channels)
        return resampled(d, samples, frames, rate, channels, emit, userdata);
    size_t block = sizeof d->mixed / sizeof d->mixed[0] / 2;
    while (frames > 0) {
        size_t n = frames < block ? frames : block;
        for (size_t i = 0; i < n; i++) {
            if (channels == 1) { /* mono to stereo: the same on both sides */
                d->mixed[2 * i] = d->mixed[2 * i + 1] = samples[i];
            } else {            /* stereo to mono: the mean */
                d->mixed[i] = (int16_t)(((int)samples[2 * i] + samples[2 * i + 1]) / 2);
            }
        }
        int rc = resampled(d, d->mixed, n, rate, d->out_channels, emit, userdata);
        if (rc)
            return rc;
        samples += n * (size_t)channels;
        frames -= n;
    }
    return 0;
}

static int emit_pcm_bytes(csp_decoder *d, const unsigned char *data, size_t len, csp_pcm_fn emit,
                          void *userdata)
{
    size_t frame_bytes = (size_t)d->channels * 2;
    int16_t block[4096];
    while (len > 0 || d->carry_len >= frame_bytes) {
        /* assemble whole frames from the carry and the new bytes */
        size_t room = sizeof block - d->carry_len;
        size_t take = len < room ? len : room;
        unsigned char *dst = (unsigned char *)block;
        memcpy(dst, d->carry, d->carry_len);
        memcpy(dst + d->carry_len, data, take);
        size_t have = d->carry_len + take;
        size_t whole = have / frame_bytes * frame_bytes;
        d->carry_len = have - whole;
        memcpy(d->carry, dst + whole, d->carry_len);
        data += take;
        len -= take;
        if (whole) {
            int rc = deliver(d, block, whole / frame_bytes, d->rate, d->channels, emit, userdata);
            if (rc)
                return rc;
        }
        if (take == 0)
            break;
    }
    return 0;
}

static int drain_mpg123(csp_decoder *d, csp_pcm_fn emit, void *userdata)
{
    unsigned char out[32768];
    for (;;) {
        size_t done = 0;
        int rc = mpg123_read(d->mh, out, sizeof out, &done);
        if (rc == MPG123_NEW_FORMAT) {
            int enc;
            long delay = -1;
            double unused;
            int first = d->rate == 0;
            mpg123_getformat(d->mh, &d->rate, &d->channels, &enc);
            if (first && mpg123_getstate(d->mh, MPG123_ENC_DELAY, &delay, &unused) == MPG123_OK &&
                delay < 0)
                d->mp3_skip = MP3_DECODER_DELAY; /* no Info tag: sample-exact all the same */
            continue;
        }
        if (done > 0) {
            size_t frames = done / ((size_t)d->channels * 2);
            const int16_t *samples = (const int16_t *)(const void *)out;
            size_t skip = frames < d->mp3_skip ? frames : d->mp3_skip;
            d->mp3_skip -= skip;
            samples += skip * (size_t)d->channels;
            frames -= skip;
            int drc = frames ? deliver(d, samples, frames, d->rate, d->channels, emit, userdata) : 0;
            if (drc)
                return drc;
        }
        if (rc == MPG123_NEED_MORE || rc == MPG123_DONE)
            return 0;
        if (rc != MPG123_OK) {
            snprintf(d->error, sizeof d->error, "mp3 decoding failed: %s",
                     mpg123_strerror(d->mh));
            return -1;
        }
    }
}

/* libsndfile reads the header from memory; the length it is told is "endless", so a stream's
   placeholder data size (espeak-ng --stdout writes 0x7ffff000) is taken as it stands */
typedef struct wav_bytes {
    const csp_buf *buf;
    sf_count_t pos;
} wav_bytes;
static sf_count_t wav_length(void *user) { return (void)user, (sf_count_t)1 << 40; }
static sf_count_t wav_tell(void *user) { return ((wav_bytes *)user)->pos; }
static sf_count_t wav_seek(sf_count_t offset, int whence, void *user)
{
    wav_bytes *w = user;
    sf_count_t at = whence == SEEK_SET ? offset : whence == SEEK_CUR ? w->pos + offset : -1;
    return at < 0 ? -1 : (w->pos = at);
}
static sf_count_t wav_read(void *out, sf_count_t count, void *user)
{
    wav_bytes *w = user;
    sf_count_t have = (sf_count_t)w->buf->len - w->pos;
    if (have <= 0)
        return 0;
    if (count > have)
        count = have;
    memcpy(out, w->buf->data + w->pos, (size_t)count);
    w->pos += count;
    return count;
}

/* Read the WAV header held so far. Returns the offset of the first sample, 0 when more bytes
   are needed, -1 when it is not a WAV clawspeak plays (error set). at_end: no more will come. */
static long read_wav_header(csp_decoder *d, int at_end)
{
    wav_bytes bytes = {&d->wav_header, 0};
    SF_VIRTUAL_IO io = {wav_length, wav_seek, wav_read, NULL, wav_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    if (csp__sndfile_load(d->error, sizeof d->error) != 0)
        return -1; /* WAV is libsndfile's to read: what to install */
    SNDFILE *sf = csp__sndfile_open_virtual(&io, SFM_READ, &info, &bytes);
    if (!sf) {
        if (!at_end && d->wav_header.len < WAV_HEADER_MAX)
            return 0; /* the header is not all here yet */
        snprintf(d->error, sizeof d->error, "not a WAV file clawspeak can read: %s",
                 csp__sndfile_error(NULL));
        return -1;
    }
    csp__sndfile.close(sf); /* the position where it stopped is the first sample */
    if (info.frames == 0 && !at_end && d->wav_header.len < WAV_HEADER_MAX)
        return 0; /* cut inside the data chunk's size: libsndfile reads it as 0 samples */
    if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV ||
        (info.format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16 || info.channels < 1 ||
        info.channels > 2 || info.samplerate < 8000 || info.samplerate > 192000) {
        snprintf(d->error, sizeof d->error, "WAV audio must be 16-bit PCM with one or two "
                 "channels at 8000-192000 Hz (this one: %d channels at %d Hz)", info.channels,
                 info.samplerate);
        return -1;
    }
    d->rate = info.samplerate;
    d->channels = info.channels;
    d->wav_left = (uint64_t)info.frames * (uint64_t)info.channels * 2;
    return (long)bytes.pos;
}

/* WAV bytes: the header first, then the samples it declares (a chunk after them is not sound). */
static int feed_wav(csp_decoder *d, const unsigned char *data, size_t len, int at_end,
                    csp_pcm_fn emit, void *userdata)
{
    if (!d->wav_started) {
        /* held up to the cap; bytes past it are passed on once the header is read */
        size_t room = WAV_HEADER_MAX - d->wav_header.len;
        size_t take = len < room ? len : room;
        if (take && csp__buf_append(&d->wav_header, data, take) < 0) {
            snprintf(d->error, sizeof d->error, "out of memory");
            return -1;
        }
        long start = read_wav_header(d, at_end);
        if (start <= 0)
            return (int)start;
        d->wav_started = 1;
        int rc = feed_wav(d, (const unsigned char *)d->wav_header.data + start,
                          d->wav_header.len - (size_t)start, at_end, emit, userdata);
        if (rc || take == len)
            return rc;
        data += take;
        len -= take;
    }
    if (len > d->wav_left)
        len = (size_t)d->wav_left;
    d->wav_left -= len;
    return emit_pcm_bytes(d, data, len, emit, userdata);
}

int csp__decoder_feed(csp_decoder *d, const void *data, size_t len, csp_pcm_fn emit,
                      void *userdata)
{
    if (d->media.kind == CSP_MEDIA_PCM)
        return emit_pcm_bytes(d, data, len, emit, userdata);
    if (d->media.kind == CSP_MEDIA_WAV)
        return feed_wav(d, data, len, 0, emit, userdata);
    if (len && mpg123_feed(d->mh, data, len) != MPG123_OK) {
        snprintf(d->error, sizeof d->error, "mp3 decoder: %s", mpg123_strerror(d->mh));
        return -1;
    }
    return drain_mpg123(d, emit, userdata);
}

int csp__decoder_finish(csp_decoder *d, csp_pcm_fn emit, void *userdata)
{
    /* a trailing partial PCM frame is dropped: it cannot be played */
    int rc = d->media.kind == CSP_MEDIA_MP3   ? drain_mpg123(d, emit, userdata)
             : d->media.kind == CSP_MEDIA_WAV && !d->wav_started ? feed_wav(d, NULL, 0, 1, emit, userdata)
                                                                 : 0;
    if (rc == 0 && d->resampler && (rc = csp__resampler_flush(d->resampler, emit, userdata)) < 0)
        snprintf(d->error, sizeof d->error, "resampling failed");
    return rc;
}

const char *csp__decoder_error(const csp_decoder *d) { return d->error; }
