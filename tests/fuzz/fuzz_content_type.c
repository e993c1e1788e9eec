/* SPDX-License-Identifier: MIT */
/* fuzz_content_type.c: any header parses without a crash; PCM always has its format. */
#include "content_type.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *header = malloc(size + 1);
    memcpy(header, data, size);
    header[size] = '\0';
    csp_media m;
    if (csp__parse_content_type(header, &m) == 0 && m.kind == CSP_MEDIA_PCM)
        assert(m.rate > 0 && m.channels > 0 && m.channels <= 8);
    free(header);
    return 0;
}
