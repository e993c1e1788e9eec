/* SPDX-License-Identifier: MIT */
/*
 * mp3_frames.c: see mp3_frames.h. Frame boundaries come from mpg123's
 * frame-by-frame API (API 47 has it), which reads no further than a frame's
 * header and body: no decoding, so passing mp3 through costs little. The
 * 4-byte header parse here is only what the Info frame needs (version, rate,
 * channel mode, side-info size) and a check that frames are layer III.
 */
#include "mp3_frames.h"

#include "alloc.h"
#include "decode.h"

#include <mpg123.h>
#include <stdio.h>
#include <string.h>

#define MAX_FRAME 2048 /* layer III tops out at 1441 bytes */

static const int bitrates_v1[16] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, -1};
static const int bitrates_v2[16] = {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, -1};
static const long rates_v1[3] = {44100, 48000, 32000};

int csp__mp3_header_parse(const unsigned char h[4], csp_mp3_header *out)
{
    int version_bits = (h[1] >> 3) & 3, layer_bits = (h[1] >> 1) & 3;
    int bitrate_index = h[2] >> 4, rate_index = (h[2] >> 2) & 3;
    if (h[0] != 0xFF || (h[1] & 0xE0) != 0xE0 || version_bits == 1 || layer_bits != 1 ||
        bitrate_index == 15 || rate_index == 3)
        return -1;
    memset(out, 0, sizeof *out);
    int mono = (h[3] >> 6) == 3;
    out->version = version_bits == 3 ? 10 : version_bits == 2 ? 20 : 25;
    out->rate = rates_v1[rate_index] >> (version_bits == 3 ? 0 : version_bits == 2 ? 1 : 2);
    out->channels = mono ? 1 : 2;
    out->samples = out->version == 10 ? 1152 : 576;
    out->side_info = out->version == 10 ? (mono ? 17 : 32) : (mono ? 9 : 17);
    out->bitrate = (out->version == 10 ? bitrates_v1 : bitrates_v2)[bitrate_index];
    if (out->bitrate)
        out->length = (size_t)((out->version == 10 ? 144000L : 72000L) * out->bitrate / out->rate) +
                      ((h[2] >> 1) & 1);
    return 0;
}

/* --- the walker ---------------------------------------------------------- */

struct csp_mp3_walker {
    mpg123_handle *mh;
    unsigned char frame[MAX_FRAME];
    char error[160];
};


csp_mp3_walker *csp__mp3_walker_new(const char **why)
{
    int err = MPG123_OK;
    csp_mp3_walker *w = csp__calloc(1, sizeof *w);
    if (!w) {
        *why = "out of memory";
        return NULL;
    }
    if (!csp__mpg123_ready() || !(w->mh = mpg123_new(NULL, &err))) {
        *why = err == MPG123_OUT_OF_MEM ? "out of memory" : "cannot start the mp3 parser";
        csp__free(w);
        return NULL;
    }
    /* no MPG123_GAPLESS: with it, mpg123 skips the frames the encoder delay covers,
       and every frame must pass through; the LAME tag is still read */
    mpg123_param(w->mh, MPG123_FLAGS, MPG123_QUIET, 0);
    if (mpg123_open_feed(w->mh) != MPG123_OK) {
        *why = "cannot open the mp3 parser";
        csp__mp3_walker_free(w);
        return NULL;
    }
    return w;
}

void csp__mp3_walker_free(csp_mp3_walker *w)
{
    if (!w)
        return;
    if (w->mh) {
        mpg123_close(w->mh);
        mpg123_delete(w->mh);
    }
    csp__free(w);
}

int csp__mp3_walker_feed(csp_mp3_walker *w, const void *data, size_t len, csp_mp3_frame_fn fn,
                         void *userdata)
{
    if (len && mpg123_feed(w->mh, data, len) != MPG123_OK) {
        snprintf(w->error, sizeof w->error, "mp3 parser: %s", mpg123_strerror(w->mh));
        return -1;
    }
    for (;;) {
        int rc = mpg123_framebyframe_next(w->mh);
        if (rc == MPG123_NEED_MORE || rc == MPG123_DONE)
            return 0;
        if (rc != MPG123_OK && rc != MPG123_NEW_FORMAT) {
            snprintf(w->error, sizeof w->error, "mp3 parsing failed: %s", mpg123_strerror(w->mh));
            return -1;
        }
        unsigned long header = 0;
        unsigned char *body = NULL;
        size_t body_len = 0;
        csp_mp3_header h;
        if (mpg123_framedata(w->mh, &header, &body, &body_len) != MPG123_OK || !body ||
            body_len > sizeof w->frame - 4) {
            snprintf(w->error, sizeof w->error, "mp3 parsing failed: a frame mpg123 cannot show");
            return -1;
        }
        w->frame[0] = (unsigned char)(header >> 24);
        w->frame[1] = (unsigned char)(header >> 16);
        w->frame[2] = (unsigned char)(header >> 8);
        w->frame[3] = (unsigned char)header;
        if (csp__mp3_header_parse(w->frame, &h) < 0 || !h.bitrate) {
            snprintf(w->error, sizeof w->error, "not MPEG layer III audio (or free format)");
            return -1;
        }
        memcpy(w->frame + 4, body, body_len);
        if (fn(userdata, w->frame, body_len + 4, &h))
            return 1;
    }
}

static long state(const csp_mp3_walker *w, enum mpg123_state key)
{
    long value = -1;
    double unused;
    if (mpg123_getstate(w->mh, key, &value, &unused) != MPG123_OK)
        return -1;
    return value;
}

long csp__mp3_walker_delay(const csp_mp3_walker *w) { return state(w, MPG123_ENC_DELAY); }
long csp__mp3_walker_padding(const csp_mp3_walker *w) { return state(w, MPG123_ENC_PADDING); }
const char *csp__mp3_walker_error(const csp_mp3_walker *w) { return w->error; }

long long csp__mp3_walker_frame_offset(const csp_mp3_walker *w)
{
    return (long long)mpg123_framepos(w->mh);
}

/* --- the table of contents ----------------------------------------------- */

void csp__mp3_toc_init(csp_mp3_toc *toc)
{
    memset(toc, 0, sizeof *toc);
    toc->stride = 1;
}

void csp__mp3_toc_add(csp_mp3_toc *toc, uint64_t offset)
{
    size_t cap = sizeof toc->offsets / sizeof toc->offsets[0];
    if (toc->frames % toc->stride == 0) {
        if (toc->count == cap) { /* full: keep every other entry, sample half as often */
            for (size_t i = 0; i < cap / 2; i++)
                toc->offsets[i] = toc->offsets[2 * i];
            toc->count = cap / 2;
            toc->stride *= 2;
        }
        if (toc->frames % toc->stride == 0)
            toc->offsets[toc->count++] = offset;
    }
    toc->frames++;
}

/* --- the Info frame ------------------------------------------------------ */

static void put32(unsigned char *p, uint64_t v)
{
    if (v > 0xFFFFFFFFu)
        v = 0xFFFFFFFFu;
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* CRC-16/ARC, as LAME computes its tag's CRC (mpg123 checks it before trusting the tag). */
static unsigned crc16(const unsigned char *p, size_t len)
{
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = crc & 1 ? (crc >> 1) ^ 0xA001 : crc >> 1;
    }
    return crc & 0xFFFF;
}

static long clamp12(long v) { return v < 0 ? 0 : v > 4095 ? 4095 : v; }

size_t csp__mp3_info_frame(const unsigned char first_header[4], const csp_mp3_summary *summary,
                           unsigned char *out, size_t cap)
{
    csp_mp3_header h;
    if (csp__mp3_header_parse(first_header, &h) < 0)
        return 0;
    size_t tag = 4 + (size_t)h.side_info; /* "Xing"/"Info" sits where main data would */
    size_t need = tag + 120 + 36;
    const int *table = h.version == 10 ? bitrates_v1 : bitrates_v2;
    int index = 1;
    size_t len = 0;
    for (; index < 15; index++) {
        len = (size_t)((h.version == 10 ? 144000L : 72000L) * table[index] / h.rate);
        if (len >= need)
            break;
    }
    if (index == 15 || len > cap)
        return 0;
    memset(out, 0, len);
    out[0] = 0xFF;
    out[1] = (unsigned char)(first_header[1] | 1);                  /* no CRC */
    out[2] = (unsigned char)((index << 4) | (first_header[2] & 0x0C)); /* its rate, no padding */
    out[3] = (unsigned char)(first_header[3] & 0xCF);               /* its channel mode */
    if (!summary)
        return len;
    unsigned char *p = out + tag;
    memcpy(p, summary->vbr ? "Xing" : "Info", 4);
    put32(p + 4, 0x0F); /* frames, bytes, TOC, quality */
    put32(p + 8, summary->frames);
    put32(p + 12, summary->bytes);
    const csp_mp3_toc *toc = summary->toc;
    for (int i = 0; i < 100; i++) {
        uint64_t offset = (uint64_t)i * summary->bytes / 100; /* CBR: a straight line */
        if (toc && toc->count && summary->frames) {
            uint64_t frame = (uint64_t)i * summary->frames / 100;
            size_t at = (size_t)(frame / toc->stride);
            offset = toc->offsets[at < toc->count ? at : toc->count - 1];
        }
        uint64_t v = summary->bytes ? offset * 256 / summary->bytes : 0;
        p[16 + i] = (unsigned char)(v > 255 ? 255 : v);
    }
    put32(p + 116, 0);
    unsigned char *lame = p + 120;
    memcpy(lame, "LAME3.100", 9);
    lame[9] = summary->vbr ? 0 : 1; /* tag revision 0; VBR method: unknown, or CBR */
    lame[20] = (unsigned char)(summary->vbr || summary->bitrate > 255 ? 0 : summary->bitrate);
    if (summary->delay >= 0 || summary->padding >= 0) {
        long delay = clamp12(summary->delay), padding = clamp12(summary->padding);
        lame[21] = (unsigned char)(delay >> 4);
        lame[22] = (unsigned char)(((delay & 15) << 4) | (padding >> 8));
        lame[23] = (unsigned char)padding;
    }
    put32(lame + 28, summary->bytes);
    unsigned crc = crc16(out, (size_t)(lame + 34 - out));
    lame[34] = (unsigned char)(crc >> 8);
    lame[35] = (unsigned char)crc;
    return len;
}
