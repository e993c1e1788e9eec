/* SPDX-License-Identifier: MIT */
/*
 * utf16.c: UTF-16 (with a BOM) to UTF-8, streamed, through ICU's "UTF-16"
 * converter (it reads the BOM and drops it) and its UTF-8 converter, with
 * a pivot buffer kept between pieces so characters may straddle them.
 */
#include "utf16.h"

#include "alloc.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>

#define PIVOT_UNITS 1024

struct csp_utf16 {
    UConverter *from, *to;
    UChar pivot[PIVOT_UNITS];
    UChar *pivot_source, *pivot_target;
    size_t consumed; /* input bytes so far, for error offsets */
    int reset;
};

int csp__utf16_has_bom(const char *bytes, size_t len)
{
    const unsigned char *b = (const unsigned char *)bytes;
    return len >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF));
}

csp_utf16 *csp__utf16_new(void)
{
    csp_utf16 *c = csp__calloc(1, sizeof *c);
    UErrorCode err = U_ZERO_ERROR;
    if (!c)
        return NULL;
    c->from = ucnv_open("UTF-16", &err);
    if (U_SUCCESS(err))
        c->to = ucnv_open("UTF-8", &err);
    /* a bad sequence is an error, not a silent U+FFFD: the user hears what the file says */
    if (U_SUCCESS(err))
        ucnv_setToUCallBack(c->from, UCNV_TO_U_CALLBACK_STOP, NULL, NULL, NULL, &err);
    if (U_FAILURE(err)) {
        csp__utf16_free(c);
        return NULL;
    }
    c->pivot_source = c->pivot_target = c->pivot;
    c->reset = 1;
    return c;
}

/* UTF-16 code units become at most 3 UTF-8 bytes each (4 for a pair of 2 units). */
size_t csp__utf16_out_size(size_t len) { return len / 2 * 3 + 16; }

long csp__utf16_convert(csp_utf16 *c, const char *in, size_t len, int last, char *out,
                        size_t *bad_offset)
{
    UErrorCode err = U_ZERO_ERROR;
    const char *source = in;
    char *target = out;
    ucnv_convertEx(c->to, c->from, &target, out + csp__utf16_out_size(len), &source, in + len,
                   c->pivot, &c->pivot_source, &c->pivot_target, c->pivot + PIVOT_UNITS,
                   c->reset, last, &err);
    c->reset = 0;
    if (U_FAILURE(err)) {
        /* ICU stops at the bad unit; its bytes are among the source consumed */
        *bad_offset = c->consumed + (size_t)(source - in);
        return -1;
    }
    c->consumed += len;
    return (long)(target - out);
}

void csp__utf16_free(csp_utf16 *c)
{
    if (!c)
        return;
    if (c->from)
        ucnv_close(c->from);
    if (c->to)
        ucnv_close(c->to);
    csp__free(c);
}
