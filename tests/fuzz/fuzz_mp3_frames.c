/* SPDX-License-Identifier: MIT */
/* fuzz_mp3_frames.c: arbitrary bytes into the mp3 frame walker, in pieces; each frame it
   hands out is a whole layer III frame, and an Info frame can be made for it. */
#include "mp3_frames.h"

#include <assert.h>
#include <stdint.h>

static int check_frame(void *userdata, const unsigned char *frame, size_t len,
                       const csp_mp3_header *header)
{
    csp_mp3_header again;
    unsigned char info[2048];
    (void)userdata;
    assert(csp__mp3_header_parse(frame, &again) == 0 && again.length == len);
    assert(header->length == len && header->rate > 0);
    assert(csp__mp3_info_frame(frame, NULL, info, sizeof info) > 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *why;
    csp_mp3_walker *w = csp__mp3_walker_new(&why);
    if (!w)
        return 0;
    size_t step = (size_t)data[0] * 16 + 1;
    for (size_t i = 1; i < size; i += step)
        if (csp__mp3_walker_feed(w, data + i, size - i < step ? size - i : step, check_frame,
                                 NULL) < 0)
            break;
    csp__mp3_walker_free(w);
    return 0;
}
