/* SPDX-License-Identifier: MIT */
/*
 * transcribe.h: speech to text, for the library's own callers (listen,
 * ask --listen) as well as csp_transcribe_fds. OpenClaw's tools.media
 * entries are tried in config order: OpenRouter's /audio/transcriptions
 * (JSON, base64 FLAC pieces cut at silences, several in flight) and CLI
 * commands ({{MediaPath}} is a 16 kHz mono WAV; stdout is the transcript).
 *
 * Ownership: pcm is borrowed for the call; *text is the caller's (csp_free).
 * Threads: like every csp_client call, one thread at a time per client.
 */
#ifndef CSP_TRANSCRIBE_H
#define CSP_TRANSCRIBE_H
#include "clawspeak.h"

#include <stddef.h>
#include <stdint.h>

#define CSP_TRANSCRIPT_MAX (5u << 20) /* a transcript (and a CLI's stdout) is cut here */

/*
 * Transcribe one utterance held in memory: signed 16-bit interleaved
 * samples at rate with channels (1 or more). options may be NULL. On
 * success *text is the transcript ("" when nothing was said); with info
 * not NULL, *info is filled (its strings live until the next call on the
 * client). Errors: CSP_EKEY (no provider, or key refused), CSP_EAPI,
 * CSP_ENET, CSP_ELOCAL (a CLI entry), CSP_ECANCELED; detail in
 * csp_client_error().
 */
/* Something can transcribe (a key for the OpenRouter entries, or a CLI entry); else
   CSP_EKEY with the entry to add. For listen: say so before recording, not after. */
csp_code csp__transcribe_ready(csp_client *client);
csp_code csp__transcribe_pcm(csp_client *client, const int16_t *pcm, size_t frames, int rate,
                             int channels, const csp_transcribe_options *options, char **text,
                             csp_transcript *info);
#endif
