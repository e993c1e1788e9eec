/* SPDX-License-Identifier: MIT */
/*
 * local_tts.h: OpenClaw's tts-local-cli provider (csp__provider_local_new
 * in provider.h) runs a command with the text on its stdin and reads the
 * audio from its stdout, or from the file its {{OutputPath}} names.
 * espeak-ng is the built-in default, so clawspeak speaks with no key and
 * no network. Here: the built-in engine's voice list.
 */
#ifndef CSP_LOCAL_TTS_H
#define CSP_LOCAL_TTS_H
#include "clawspeak.h"
#include "alloc.h"

struct csp_settings;
struct csp_report;
/* Append the built-in engine's voices to list: "espeak-ng (local)\n  language  name\n"... */
csp_code csp__local_voices(const struct csp_settings *settings, struct csp_report *report,
                           csp_buf *list);
#endif
