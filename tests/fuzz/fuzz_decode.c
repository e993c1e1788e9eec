/* SPDX-License-Identifier: MIT */
/* fuzz_decode.c: arbitrary bytes into the mp3 and PCM decoders, in pieces. */
#include "decode.h"

#include <assert.h>
#include <stdint.h>

static int sink(void *u, const int16_t *s, size_t frames, long rate, int channels)
{
    (void)u, (void)s;
    assert(rate > 0 && channels > 0 && frames > 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    csp_media media = {data[0] & 1 ? CSP_MEDIA_PCM : CSP_MEDIA_MP3, 24000, (data[0] >> 1) % 2 + 1};
    const char *why;
    csp_decoder *d = csp__decoder_new(&media, 0, 0, &why);
    if (!d)
        return 0;
    size_t step = (size_t)(data[0] >> 2) * 16 + 1;
    for (size_t i = 1; i < size; i += step)
        if (csp__decoder_feed(d, data + i, size - i < step ? size - i : step, sink, NULL) < 0)
            break;
    csp__decoder_finish(d, sink, NULL);
    csp__decoder_free(d);
    return 0;
}
