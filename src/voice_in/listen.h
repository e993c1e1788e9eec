/* SPDX-License-Identifier: MIT */
/*
 * listen.h: the listener's internals that ask needs for barge-in, and the
 * one place the transcription step is called from.
 */
#ifndef CSP_LISTEN_H
#define CSP_LISTEN_H
#include "capture.h"
#include "clawspeak.h"

/* The recording under a listener. */
csp_capture *csp__listener_capture(csp_listener *listener);

/*
 * Speech to text for one utterance (16 kHz mono): the single call site of
 * the speech-to-text entries (transcribe.h), as `clawspeak transcribe`
 * uses them.
 */
csp_code csp__listen_transcribe(csp_client *client, const int16_t *pcm, size_t frames, long rate,
                                char **text);
#endif
