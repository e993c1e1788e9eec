/* SPDX-License-Identifier: MIT */
/* sse.c: see sse.h; the line rules are those of the WHATWG EventSource spec. */
#include "sse.h"

#include <string.h>

#define SSE_LINE_CAP (1u << 20)
#define SSE_EVENT_CAP (4u << 20)

void csp__sse_init(csp_sse *sse, csp_sse_fn on_event, void *userdata)
{
    memset(sse, 0, sizeof *sse);
    csp__buf_init(&sse->line, SSE_LINE_CAP);
    csp__buf_init(&sse->data, SSE_EVENT_CAP);
    sse->on_event = on_event;
    sse->userdata = userdata;
}

void csp__sse_free(csp_sse *sse)
{
    csp__buf_free(&sse->line);
    csp__buf_free(&sse->data);
}

static int dispatch(csp_sse *sse)
{
    int rc = 0;
    if (sse->has_data)
        rc = sse->on_event(sse->userdata, sse->data.data ? sse->data.data : "", sse->data.len);
    sse->data.len = 0;
    sse->has_data = 0;
    return rc ? 1 : 0;
}

static int end_line(csp_sse *sse)
{
    const char *line = sse->line.data ? sse->line.data : "";
    size_t len = sse->line.len;
    int rc = 0;
    if (len == 0) {
        rc = dispatch(sse);
    } else if (line[0] != ':') { /* a ':' line is a comment (keep-alives) */
        const char *colon = memchr(line, ':', len);
        size_t name_len = colon ? (size_t)(colon - line) : len;
        if (name_len == 4 && memcmp(line, "data", 4) == 0) {
            const char *value = colon ? colon + 1 : line + len;
            if (value < line + len && *value == ' ')
                value++;
            size_t value_len = (size_t)(line + len - value);
            if (sse->data.len + value_len + 1 > sse->data.max)
                rc = -1;
            else if ((sse->has_data && csp__buf_append(&sse->data, "\n", 1) < 0) ||
                     csp__buf_append(&sse->data, value, value_len) < 0)
                rc = -2;
            sse->has_data = 1;
        }
    }
    sse->line.len = 0;
    return rc;
}

int csp__sse_feed(csp_sse *sse, const char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = bytes[i];
        if (sse->after_cr) {
            sse->after_cr = 0;
            if (c == '\n')
                continue; /* the \n of a \r\n split across reads */
        }
        if (c == '\r' || c == '\n') {
            sse->after_cr = c == '\r';
            int rc = end_line(sse);
            if (rc)
                return rc;
            continue;
        }
        /* append runs of ordinary bytes at once */
        size_t j = i;
        while (j < len && bytes[j] != '\r' && bytes[j] != '\n')
            j++;
        if (sse->line.len + (j - i) > sse->line.max)
            return -1;
        if (csp__buf_append(&sse->line, bytes + i, j - i) < 0)
            return -2;
        i = j - 1;
    }
    return 0;
}

int csp__sse_finish(csp_sse *sse)
{
    /* as the spec says: an event without its closing blank line is dropped */
    sse->line.len = 0;
    sse->data.len = 0;
    sse->has_data = 0;
    return 0;
}
