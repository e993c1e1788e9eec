/* SPDX-License-Identifier: MIT */
/*
 * voices.h: the module's voice list (the provider's voices with their languages, then
 * espeak-ng's) and speech-dispatcher's choice among them: a voice by name, else one
 * that speaks the language asked for (espeak-ng's when the provider has none).
 */
#ifndef SD_VOICES_H
#define SD_VOICES_H
#include <stddef.h>

typedef struct sd_voice {
    char *name;
    char *language; /* "en-US", "de"; "none" when unknown */
    int local;      /* espeak-ng's (the local engine), not the provider's */
    char gender;    /* 'f', 'm' or 0 */
} sd_voice;

typedef struct sd_voices {
    sd_voice *items;
    size_t count;
} sd_voices;

/*
 * Fill the list from csp_list_voices() outputs: the provider's (models, each with its
 * voices indented; only those of model are taken, or all when model lists none) and the
 * local engine's ("  language  name" lines). Either may be NULL.
 */
int sd_voices_load(sd_voices *v, const char *provider_list, const char *model,
                   const char *local_list);
void sd_voices_free(sd_voices *v);

/* The language a Kokoro-style provider voice speaks (af_bella: en-US), or NULL. */
const char *sd_voice_language(const char *name);

/*
 * What to speak with: the voice named (when the list has it), else one whose language
 * matches (the current provider voice if it does; gender 'f'/'m' preferred; a provider
 * voice before espeak-ng's). NULL: nothing matches, keep the configured voice.
 */
const sd_voice *sd_voices_choose(const sd_voices *v, const char *name, const char *language,
                                 char gender, const char *current);
/* espeak-ng's voice for a language ("en-US": en-us), or NULL when it has none. */
const sd_voice *sd_voices_local(const sd_voices *v, const char *language);
#endif
