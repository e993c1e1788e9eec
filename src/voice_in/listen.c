/* SPDX-License-Identifier: MIT */
/*
 * listen.c: csp_listener: the microphone as a source of utterances (the
 * recording and its detector are capture.c), saving one to a file through
 * the file sink (atomic, any format it writes) and handing one to
 * transcription.
 */
#include "listen.h"

#include "transcribe.h"

#include "alloc.h"
#include "client.h"
#include "sink.h"

#include <time.h>

struct csp_listener {
    csp_client *client;
    csp_capture *capture;
};

csp_code csp_listener_new(csp_client *client, const csp_listen_options *options,
                          csp_listener **out)
{
    csp_listener *l = csp__calloc(1, sizeof *l);
    *out = NULL;
    if (!l)
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    l->client = client;
    csp_code ready = csp__transcribe_ready(client);
    if (ready != CSP_OK) {
        csp__free(l);
        return ready;
    }
    csp_capture_config config = {
        .device = options->device,
        .vad = {.silence_ms = options->silence_ms, .max_ms = options->max_ms,
                .echo = options->echo_cancel},
        .level = options->level,
        .level_userdata = options->level_userdata,
    };
    csp_code rc = csp__capture_new(&client->report, &config, &l->capture);
    if (rc == CSP_OK)
        rc = csp__capture_start(l->capture);
    if (rc != CSP_OK) {
        csp_listener_free(l);
        return rc;
    }
    *out = l;
    return CSP_OK;
}

csp_code csp_listener_next(csp_listener *l, int16_t **pcm, size_t *frames)
{
    long long ended_ns = 0;
    csp_code rc = csp__capture_next(l->capture, pcm, frames, &ended_ns);
    if (rc == CSP_OK)
        /* the monotonic time is what the latency benchmark compares with the fed audio */
        csp__log(&l->client->report, CSP_LOG_DEBUG,
                 "utterance of %.2f s handed over at monotonic %.3f", (double)*frames / CSP_CAPTURE_RATE,
                 (double)ended_ns / 1e9);
    return rc;
}

csp_code csp_listener_save(csp_listener *l, const char *path, const int16_t *pcm, size_t frames)
{
    csp_sink *sink = NULL;
    csp_code rc = csp__sink_file_new(&l->client->report, path, NULL, &sink);
    if (rc == CSP_OK)
        rc = csp__sink_open(sink, CSP_CAPTURE_RATE, 1);
    if (rc == CSP_OK)
        rc = csp__sink_write(sink, pcm, frames);
    if (sink) {
        csp_code finished = csp__sink_finish(sink, rc == CSP_OK);
        if (rc == CSP_OK)
            rc = finished;
        csp__sink_free(sink);
    }
    return rc;
}

csp_code csp__listen_transcribe(csp_client *client, const int16_t *pcm, size_t frames, long rate,
                                char **text)
{
    *text = NULL;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    csp__log(&client->report, CSP_LOG_DEBUG, "transcription of %zu samples asked at monotonic %.3f",
             frames, (double)t.tv_sec + (double)t.tv_nsec / 1e9);
    /* the entries of tools.media, as `clawspeak transcribe` uses them */
    return csp__transcribe_pcm(client, pcm, frames, (int)rate, 1, NULL, text, NULL);
}

csp_code csp_listener_transcribe(csp_listener *l, const int16_t *pcm, size_t frames, char **text)
{
    return csp__listen_transcribe(l->client, pcm, frames, CSP_CAPTURE_RATE, text);
}

int csp_listener_barged_in(csp_listener *l) { return l && csp__capture_barged_in(l->capture); }

csp_capture *csp__listener_capture(csp_listener *l) { return l->capture; }

void csp_listener_free(csp_listener *l)
{
    if (!l)
        return;
    csp__capture_free(l->capture);
    csp__free(l);
}
