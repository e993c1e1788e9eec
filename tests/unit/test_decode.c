/* SPDX-License-Identifier: MIT */
/*
 * test_decode.c: the mp3 feed decoder on audio/tone.mp3, fed whole and in
 * awkward pieces, gives exactly the frames of audio/tone.wav (gapless: no
 * encoder delay or padding), with the same samples as mpg123 itself; PCM
 * pass-through keeps frames whole across odd splits.
 */
#include "check.h"
#include "decode.h"

#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#ifndef CSP_AUDIO_DIR
#define CSP_AUDIO_DIR "audio"
#endif

typedef struct collected {
    size_t frames;
    long rate;
    int channels;
    double energy;
} collected;

static int collect(void *userdata, const int16_t *samples, size_t frames, long rate, int channels)
{
    collected *c = userdata;
    c->frames += frames;
    c->rate = rate;
    c->channels = channels;
    for (size_t i = 0; i < frames * (size_t)channels; i++)
        c->energy += (double)samples[i] * samples[i];
    return 0;
}

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

static collected decode_in_pieces(const csp_media *media, const unsigned char *data, size_t len,
                                  size_t step)
{
    collected c = {0, 0, 0, 0};
    const char *why = NULL;
    csp_decoder *d = csp__decoder_new(media, 0, 0, &why);
    CHECK(d != NULL);
    for (size_t i = 0; d && i < len; i += step)
        CHECK_INT(csp__decoder_feed(d, data + i, len - i < step ? len - i : step, collect, &c), 0);
    if (d)
        CHECK_INT(csp__decoder_finish(d, collect, &c), 0);
    csp__decoder_free(d);
    return c;
}

int main(void)
{
    SF_INFO info = {0};
    SNDFILE *wav = sf_open(CSP_AUDIO_DIR "/tone.wav", SFM_READ, &info);
    CHECK(wav != NULL);
    if (!wav)
        return CHECK_DONE();
    sf_close(wav);
    size_t mp3_len = 0;
    unsigned char *mp3 = slurp(CSP_AUDIO_DIR "/tone.mp3", &mp3_len);
    CHECK(mp3 != NULL && mp3_len > 0);
    csp_media mp3_media = {CSP_MEDIA_MP3, 0, 0};
    size_t steps[] = {mp3_len, 1, 7, 417, 1000};
    collected first = {0, 0, 0, 0};
    for (size_t i = 0; mp3 && i < sizeof steps / sizeof steps[0]; i++) {
        collected c = decode_in_pieces(&mp3_media, mp3, mp3_len, steps[i]);
        CHECK_INT(c.frames, info.frames); /* gapless: exactly the source's length */
        CHECK_INT(c.rate, info.samplerate);
        CHECK_INT(c.channels, info.channels);
        CHECK(c.energy > 0);
        if (i == 0)
            first = c;
        CHECK(c.energy == first.energy); /* the split never changes the samples */
    }
    /* PCM: 3 frames of stereo split at every odd place */
    unsigned char pcm[12] = {1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0};
    csp_media pcm_media = {CSP_MEDIA_PCM, 24000, 2};
    for (size_t step = 1; step <= 12; step++) {
        collected c = decode_in_pieces(&pcm_media, pcm, sizeof pcm, step);
        CHECK_INT(c.frames, 3);
        CHECK(c.energy == 1 + 4 + 9 + 16 + 25 + 36);
    }
    /* WAV as a stream: tone.wav fed whole and in pieces down to single bytes (a header cut
       anywhere, even inside the data chunk's size), and with a streaming placeholder size */
    size_t wav_len = 0;
    unsigned char *wav_bytes = slurp(CSP_AUDIO_DIR "/tone.wav", &wav_len);
    CHECK(wav_bytes != NULL && wav_len > 44);
    csp_media wav_media = {CSP_MEDIA_WAV, 0, 0};
    size_t wav_steps[] = {wav_len, 1, 3, 41, 4096};
    for (size_t i = 0; wav_bytes && i < sizeof wav_steps / sizeof wav_steps[0]; i++) {
        collected c = decode_in_pieces(&wav_media, wav_bytes, wav_len, wav_steps[i]);
        CHECK_INT(c.frames, info.frames);
        CHECK_INT(c.rate, info.samplerate);
        CHECK(c.energy > 0);
    }
    free(wav_bytes);
    /* a WAV stream longer than the header cap arriving in one piece, as a fast local engine
       delivers it: the samples past the cap are not lost (espeak-ng's streaming header) */
    size_t big_len = 44 + 200000;
    unsigned char *big = calloc(1, big_len);
    static const unsigned char header[44] = {
        'R', 'I', 'F', 'F', 0x24, 0xf0, 0xff, 0x7f, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
        16, 0, 0, 0, 1, 0, 1, 0, 0x22, 0x56, 0, 0, 0x44, 0xac, 0, 0, 2, 0, 16, 0,
        'd', 'a', 't', 'a', 0x00, 0xf0, 0xff, 0x7f};
    memcpy(big, header, sizeof header);
    for (size_t i = 44; i + 1 < big_len; i += 2)
        big[i] = (unsigned char)(i * 31);
    size_t big_steps[] = {big_len, 4, 70000};
    for (size_t i = 0; i < sizeof big_steps / sizeof big_steps[0]; i++) {
        collected c = decode_in_pieces(&wav_media, big, big_len, big_steps[i]);
        CHECK_INT(c.frames, 100000);
        CHECK_INT(c.rate, 22050);
    }
    free(big);
    /* garbage is not audio */
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 7919 >> 3);
    collected g = decode_in_pieces(&mp3_media, junk, sizeof junk, 512);
    CHECK_INT(g.frames, 0);
    free(mp3);
    return CHECK_DONE();
}
