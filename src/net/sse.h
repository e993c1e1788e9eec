/* SPDX-License-Identifier: MIT */
/*
 * sse.h: an incremental parser for server-sent events. Bytes may be split
 * anywhere (inside a line, between \r and \n); comment lines are skipped,
 * multi-line data is joined with \n, and an event is dispatched at the blank
 * line that ends it. Only the data field matters to OpenRouter's streams.
 */
#ifndef CSP_SSE_H
#define CSP_SSE_H
#include "alloc.h"

#include <stddef.h>

/* Receives one event's data (NUL-terminated). Return nonzero to stop. */
typedef int (*csp_sse_fn)(void *userdata, const char *data, size_t len);

typedef struct csp_sse {
    csp_buf line;    /* the line being read */
    csp_buf data;    /* the event being built */
    int has_data;
    int after_cr;    /* the last byte was \r: a following \n belongs to it */
    csp_sse_fn on_event;
    void *userdata;
} csp_sse;

void csp__sse_init(csp_sse *sse, csp_sse_fn on_event, void *userdata);
/* Returns 0, 1 if the callback stopped, -1 when a line or event is over the cap, -2 no memory. */
int csp__sse_feed(csp_sse *sse, const char *bytes, size_t len);
/* End of stream: an unfinished event is dropped, as the spec says. */
int csp__sse_finish(csp_sse *sse);
void csp__sse_free(csp_sse *sse);
#endif
