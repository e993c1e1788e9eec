/* SPDX-License-Identifier: MIT */
/*
 * test_mp3_frames.c: frame headers (a table), the walker on audio/tone.mp3
 * fed whole and in awkward pieces (every frame found, the Info frame not,
 * the LAME tag's delay and padding read), the table of contents sampling,
 * and the Info frame round trip: our Info frame plus the tone's frames
 * decode (gapless) to exactly what the tone itself decodes to.
 */
#include "check.h"
#include "decode.h"
#include "mp3_frames.h"

#include <stdlib.h>

#ifndef CSP_AUDIO_DIR
#define CSP_AUDIO_DIR "audio"
#endif

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = malloc(1 << 20);
    *len = fread(data, 1, 1 << 20, f);
    fclose(f);
    return data;
}

static void test_headers(void)
{
    static const struct {
        unsigned char h[4];
        int ok, version, channels, samples, side_info;
        long rate;
        size_t length;
    } cases[] = {
        {{0xFF, 0xF3, 0x84, 0xC4}, 0, 20, 1, 576, 9, 24000, 192},   /* MPEG-2 64k mono */
        {{0xFF, 0xFB, 0x90, 0x64}, 0, 10, 2, 1152, 32, 44100, 417}, /* MPEG-1 128k stereo */
        {{0xFF, 0xFB, 0x92, 0x64}, 0, 10, 2, 1152, 32, 44100, 418}, /* ... padded */
        {{0xFF, 0xE3, 0x84, 0xC4}, 0, 25, 1, 576, 9, 12000, 384},   /* MPEG-2.5 */
        {{0xFF, 0xFD, 0x90, 0x64}, -1, 0, 0, 0, 0, 0, 0},           /* layer II */
        {{0xFF, 0xFB, 0xF0, 0x64}, -1, 0, 0, 0, 0, 0, 0},           /* bad bitrate */
        {{0xFF, 0xFB, 0x9C, 0x64}, -1, 0, 0, 0, 0, 0, 0},           /* bad rate */
        {{0xFF, 0xEB, 0x90, 0x64}, -1, 0, 0, 0, 0, 0, 0},           /* reserved version */
        {{0xFE, 0xFB, 0x90, 0x64}, -1, 0, 0, 0, 0, 0, 0},           /* no sync */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csp_mp3_header h;
        int rc = csp__mp3_header_parse(cases[i].h, &h);
        CHECK_INT(rc, cases[i].ok);
        if (rc < 0)
            continue;
        CHECK_INT(h.version, cases[i].version);
        CHECK_INT(h.channels, cases[i].channels);
        CHECK_INT(h.samples, cases[i].samples);
        CHECK_INT(h.side_info, cases[i].side_info);
        CHECK_INT(h.rate, cases[i].rate);
        CHECK_INT(h.length, cases[i].length);
    }
}

typedef struct gathered {
    unsigned char data[65536];
    size_t len, frames;
} gathered;

static int gather(void *userdata, const unsigned char *frame, size_t len, const csp_mp3_header *h)
{
    gathered *g = userdata;
    CHECK_INT(len, h->length);
    if (g->len + len <= sizeof g->data) {
        memcpy(g->data + g->len, frame, len);
        g->len += len;
    }
    g->frames++;
    return 0;
}

typedef struct counted {
    size_t frames;
} counted;

static int count(void *userdata, const int16_t *samples, size_t frames, long rate, int channels)
{
    (void)samples, (void)rate, (void)channels;
    ((counted *)userdata)->frames += frames;
    return 0;
}

static size_t decoded_frames(const unsigned char *data, size_t len)
{
    csp_media media = {CSP_MEDIA_MP3, 0, 0};
    const char *why = NULL;
    counted c = {0};
    csp_decoder *d = csp__decoder_new(&media, 0, 0, &why);
    CHECK(d != NULL);
    if (!d)
        return 0;
    CHECK_INT(csp__decoder_feed(d, data, len, count, &c), 0);
    CHECK_INT(csp__decoder_finish(d, count, &c), 0);
    csp__decoder_free(d);
    return c.frames;
}

static void test_walker_and_info_frame(void)
{
    size_t len = 0;
    unsigned char *mp3 = slurp(CSP_AUDIO_DIR "/tone.mp3", &len);
    CHECK(mp3 != NULL && len > 0);
    if (!mp3)
        return;
    csp_mp3_header first;
    CHECK_INT(csp__mp3_header_parse(mp3, &first), 0);
    size_t steps[] = {len, 1, 7, 193};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        static gathered g;
        memset(&g, 0, sizeof g);
        const char *why = NULL;
        csp_mp3_walker *w = csp__mp3_walker_new(&why);
        CHECK(w != NULL);
        if (!w)
            break;
        for (size_t i = 0; i < len; i += steps[s])
            CHECK_INT(csp__mp3_walker_feed(w, mp3 + i, len - i < steps[s] ? len - i : steps[s],
                                           gather, &g), 0);
        /* the tone's own Info frame (first.length bytes) is not a frame of audio */
        CHECK_INT(g.len, len - first.length);
        CHECK(memcmp(g.data, mp3 + first.length, g.len) == 0);
        CHECK(csp__mp3_walker_delay(w) > 0);
        CHECK(csp__mp3_walker_padding(w) > 0);
        if (s == 0) {
            /* our Info frame with the tone's delay and padding, then its frames */
            csp_mp3_toc toc;
            csp__mp3_toc_init(&toc);
            unsigned char out[70000];
            size_t info_len = csp__mp3_info_frame(mp3, NULL, out, sizeof out);
            CHECK(info_len >= 4u + 9 + 156);
            size_t at = info_len;
            for (size_t i = 0; i < g.frames; i++) {
                csp__mp3_toc_add(&toc, at);
                at += first.length;
            }
            csp_mp3_summary sum = {g.frames, info_len + g.len, 0, 64, csp__mp3_walker_delay(w),
                                   csp__mp3_walker_padding(w), &toc};
            CHECK_INT(csp__mp3_info_frame(mp3, &sum, out, sizeof out), info_len);
            CHECK(memcmp(out + 4 + 9, "Info", 4) == 0);
            CHECK_INT(out[4 + 9 + 11], g.frames);
            memcpy(out + info_len, g.data, g.len);
            CHECK_INT(decoded_frames(out, info_len + g.len), decoded_frames(mp3, len));
            /* a frame too small for the tag is refused */
            CHECK_INT(csp__mp3_info_frame(mp3, &sum, out, 100), 0);
        }
        csp__mp3_walker_free(w);
    }
    /* not mp3 at all: no frames, no crash */
    {
        const char *why = NULL;
        csp_mp3_walker *w = csp__mp3_walker_new(&why);
        static gathered g;
        memset(&g, 0, sizeof g);
        const char junk[] = "<html><body>Service unavailable</body></html>";
        if (w)
            CHECK(csp__mp3_walker_feed(w, junk, sizeof junk, gather, &g) <= 0);
        CHECK_INT(g.frames, 0);
        csp__mp3_walker_free(w);
    }
    free(mp3);
}

static void test_toc(void)
{
    csp_mp3_toc toc;
    csp__mp3_toc_init(&toc);
    for (uint64_t i = 0; i < 5000; i++)
        csp__mp3_toc_add(&toc, i * 100);
    CHECK(toc.count <= 512);
    CHECK(toc.count >= 256);
    CHECK_INT(toc.frames, 5000);
    for (size_t i = 0; i < toc.count; i++)
        CHECK_INT(toc.offsets[i], i * toc.stride * 100);
}

int main(void)
{
    test_headers();
    test_walker_and_info_frame();
    test_toc();
    return CHECK_DONE();
}
