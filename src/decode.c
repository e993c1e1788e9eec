/* SPDX-License-Identifier: MIT */
/*
 * decode.c: mpg123 (API 47: mpg123_open_feed / mpg123_feed / mpg123_read)
 * and PCM pass-through behind one interface.
 */
#include "decode.h"

#include "alloc.h"

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
    char error[160];
};

static pthread_once_t mpg123_once = PTHREAD_ONCE_INIT;
static int mpg123_ready;
static void mpg123_setup(void)
{
    /* mpg123_init is a no-op from 1.27 on, but older builds need it */
    mpg123_ready = mpg123_init() == MPG123_OK;
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
    if (media->kind == CSP_MEDIA_PCM) {
        d->rate = media->rate;
        d->channels = media->channels;
        if ((force_rate && force_rate != d->rate) || (force_channels && force_channels != d->channels)) {
            *why = "PCM chunks arrived with different formats";
            csp__free(d);
            return NULL;
        }
        return d;
    }
    if (media->kind != CSP_MEDIA_MP3) {
        *why = "not an audio format clawspeak can decode";
        csp__free(d);
        return NULL;
    }
    pthread_once(&mpg123_once, mpg123_setup);
    int err = MPG123_OK;
    if (!mpg123_ready || !(d->mh = mpg123_new(NULL, &err))) {
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
    if (force_rate) {
        mpg123_param(d->mh, MPG123_FORCE_RATE, force_rate, 0);
        mpg123_format(d->mh, force_rate, channel_mask, MPG123_ENC_SIGNED_16);
    } else {
        for (size_t i = 0; i < count; i++)
            mpg123_format(d->mh, rates[i], channel_mask, MPG123_ENC_SIGNED_16);
    }
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
    csp__free(d);
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
            if (emit(userdata, block, whole / frame_bytes, d->rate, d->channels))
                return 1;
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
            mpg123_getformat(d->mh, &d->rate, &d->channels, &enc);
            continue;
        }
        if (done > 0) {
            size_t frames = done / ((size_t)d->channels * 2);
            if (emit(userdata, (const int16_t *)(const void *)out, frames, d->rate, d->channels))
                return 1;
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

int csp__decoder_feed(csp_decoder *d, const void *data, size_t len, csp_pcm_fn emit,
                      void *userdata)
{
    if (d->media.kind == CSP_MEDIA_PCM)
        return emit_pcm_bytes(d, data, len, emit, userdata);
    if (len && mpg123_feed(d->mh, data, len) != MPG123_OK) {
        snprintf(d->error, sizeof d->error, "mp3 decoder: %s", mpg123_strerror(d->mh));
        return -1;
    }
    return drain_mpg123(d, emit, userdata);
}

int csp__decoder_finish(csp_decoder *d, csp_pcm_fn emit, void *userdata)
{
    if (d->media.kind == CSP_MEDIA_PCM)
        return 0; /* a trailing partial frame is dropped: it cannot be played */
    return drain_mpg123(d, emit, userdata);
}

const char *csp__decoder_error(const csp_decoder *d) { return d->error; }
