/* SPDX-License-Identifier: MIT */
/* pulse_lib.c: libpulse's functions looked up once, when a server is first expected. */
#include "pulse_lib.h"

#include "dynlib.h"

#include <pthread.h>

csp_pa_api csp__pa;

static const csp_dynlib_symbol symbols[] = {
#define SYM(field) CSP_DYNLIB_SYMBOL(csp_pa_api, field, "pa_" #field)
    SYM(mainloop_new), SYM(mainloop_get_api), SYM(mainloop_prepare), SYM(mainloop_poll),
    SYM(mainloop_dispatch), SYM(mainloop_iterate), SYM(mainloop_free), SYM(context_new),
    SYM(context_connect), SYM(context_get_state), SYM(context_errno), SYM(context_get_server),
    SYM(context_get_server_info), SYM(context_load_module), SYM(context_unload_module),
    SYM(context_disconnect), SYM(context_unref), SYM(stream_new), SYM(stream_connect_playback),
    SYM(stream_connect_record), SYM(stream_get_state), SYM(stream_writable_size),
    SYM(stream_write), SYM(stream_peek), SYM(stream_drop), SYM(stream_drain),
    SYM(stream_disconnect), SYM(stream_unref), SYM(operation_get_state), SYM(operation_unref),
    SYM(strerror),
#undef SYM
};
/* the soname libpulse has kept since 0.9: Debian's libpulse0 */
static csp_dynlib lib = CSP_DYNLIB("libpulse.so.0", "libpulse0", symbols, csp__pa);

/* no libpulse: the next backend plays, without a word (lib.why is not shown) */
int csp__pulse_load(void) { return csp__dynlib_open(&lib); }
