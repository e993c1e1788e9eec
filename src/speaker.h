/* SPDX-License-Identifier: MIT */
/*
 * speaker.h: the one text path for every input. Text arrives in pieces of
 * any size (a piece may end inside a UTF-8 sequence or a word); whole
 * sentences go on to the pipeline as soon as they are known to be whole,
 * where waiting ones are merged into requests. say (arguments, files,
 * pipes), --lines and ask all feed a speaker (csp_speaker_* in
 * clawspeak.h); these are the library's internal extras.
 */
#ifndef CSP_SPEAKER_H
#define CSP_SPEAKER_H
#include "clawspeak.h"
#include "speech.h"

/* Hold (1) or release (0) chunk cutting across many writes: a regular file is all there
   already, so its requests must not depend on how it was read. */
void csp__speaker_hold(csp_speaker *speaker, int hold);
/* The next of several inputs starts: the last one ends its paragraph; byte offsets restart. */
csp_code csp__speaker_next_input(csp_speaker *speaker);
/* All the text there will be, in one piece: written and flushed as one (csp_say). */
csp_code csp__speaker_write_all(csp_speaker *speaker, const char *text, size_t len);
/* The voice for text written from now on (a reply's [[tts:...]] directive). */
csp_code csp__speaker_set_params(csp_speaker *speaker, const csp_voice_params *params);
/*
 * The producer has nothing more to give right now (a read would block):
 * a sentence that ends with a sentence mark and a space goes at once.
 */
csp_code csp__speaker_idle(csp_speaker *speaker);
/* Stop from any thread with code (its message already recorded); nothing is committed. */
void csp__speaker_abort(csp_speaker *speaker, csp_code code);
/*
 * The producer has been silent for the pause: pending text goes, unless it
 * ends mid-word ("The quick bro"); called again after another pause, it
 * waits no longer (csp_speaker_flush).
 */
csp_code csp__speaker_pause(csp_speaker *speaker);
/* True when text written now would be requested at once. */
int csp__speaker_ready(csp_speaker *speaker);
/* Text will be slow to come: warm the provider's connection meanwhile (csp__pipeline_warm). */
void csp__speaker_warm(csp_speaker *speaker);
/* Finishing with nothing spoken is fine (an agent reply that is not spoken). */
void csp__speaker_allow_empty(csp_speaker *speaker);
#endif
