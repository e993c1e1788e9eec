/* SPDX-License-Identifier: MIT */
/*
 * pulse_lib.h: libpulse's functions, looked up with dlopen the first time a server is
 * expected (its headers at build time only), and what the playback and the microphone
 * share: the connection and bounded steps of its loop.
 */
#ifndef CSP_PULSE_LIB_H
#define CSP_PULSE_LIB_H
#include "pulse.h"

#include <pulse/pulseaudio.h>

typedef struct csp_pa_api {
    pa_mainloop *(*mainloop_new)(void);
    pa_mainloop_api *(*mainloop_get_api)(pa_mainloop *);
    int (*mainloop_prepare)(pa_mainloop *, int);
    int (*mainloop_poll)(pa_mainloop *);
    int (*mainloop_dispatch)(pa_mainloop *);
    int (*mainloop_iterate)(pa_mainloop *, int, int *);
    void (*mainloop_free)(pa_mainloop *);
    pa_context *(*context_new)(pa_mainloop_api *, const char *);
    int (*context_connect)(pa_context *, const char *, pa_context_flags_t, const pa_spawn_api *);
    pa_context_state_t (*context_get_state)(const pa_context *);
    int (*context_errno)(const pa_context *);
    const char *(*context_get_server)(const pa_context *);
    pa_operation *(*context_get_server_info)(pa_context *, pa_server_info_cb_t, void *);
    pa_operation *(*context_load_module)(pa_context *, const char *, const char *,
                                         pa_context_index_cb_t, void *);
    pa_operation *(*context_unload_module)(pa_context *, uint32_t, pa_context_success_cb_t,
                                           void *);
    void (*context_disconnect)(pa_context *);
    void (*context_unref)(pa_context *);
    pa_stream *(*stream_new)(pa_context *, const char *, const pa_sample_spec *,
                             const pa_channel_map *);
    int (*stream_connect_playback)(pa_stream *, const char *, const pa_buffer_attr *,
                                   pa_stream_flags_t, const pa_cvolume *, pa_stream *);
    int (*stream_connect_record)(pa_stream *, const char *, const pa_buffer_attr *,
                                 pa_stream_flags_t);
    pa_stream_state_t (*stream_get_state)(const pa_stream *);
    size_t (*stream_writable_size)(const pa_stream *);
    int (*stream_write)(pa_stream *, const void *, size_t, pa_free_cb_t, int64_t, pa_seek_mode_t);
    int (*stream_peek)(pa_stream *, const void **, size_t *);
    int (*stream_drop)(pa_stream *);
    pa_operation *(*stream_drain)(pa_stream *, pa_stream_success_cb_t, void *);
    int (*stream_disconnect)(pa_stream *);
    void (*stream_unref)(pa_stream *);
    pa_operation_state_t (*operation_get_state)(const pa_operation *);
    void (*operation_unref)(pa_operation *);
    const char *(*strerror)(int);
} csp_pa_api;

extern csp_pa_api csp__pa;

struct csp_pulse {
    pa_mainloop *loop;
    pa_context *context;
    char server_name[96];
};

/* Load libpulse.so.0 once: 0 when its functions are there. */
int csp__pulse_load(void);
/* One step of the loop, waiting at most ms for the server: -1 when the loop failed. */
int csp__pulse_pump(csp_pulse *c, int ms);
/* The connection is up. */
int csp__pulse_alive(csp_pulse *c);
long long csp__pulse_now_ms(void);
#endif
