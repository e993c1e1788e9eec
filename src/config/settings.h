/* SPDX-License-Identifier: MIT */
/*
 * settings.h: every setting clawspeak uses, resolved in one place with the
 * source of each value recorded. Precedence: defaults < config (messages.tts
 * < tts, field by field) < environment < command line, except where the
 * OpenClaw reference fixes another order (the API key and base URL).
 */
#ifndef CSP_SETTINGS_H
#define CSP_SETTINGS_H
#include "clawspeak.h"

#define CSP_DEFAULT_BASE_URL "https://openrouter.ai/api/v1"
#define CSP_DEFAULT_VOICE "af_alloy"
#define CSP_DEFAULT_MODEL "hexgrad/kokoro-82m"
#define CSP_DEFAULT_CHAT_MODEL "openrouter/auto"
#define CSP_SETTING_SLOTS 48
#define CSP_DEFAULT_STT_MODEL "openai/whisper-large-v3-turbo"

typedef struct csp_setting {
    const char *name;
    char *value;  /* display value: redacted for secrets */
    char *source; /* "default", "--voice", "/path:tts.providers.openrouter.voice", "env OPENROUTER_API_KEY" */
} csp_setting;

/* One entry of tools.media: OpenRouter's /audio/transcriptions, or a command. */
typedef struct csp_stt_entry {
    int is_cli;
    char *model;        /* API: the model id sent */
    char *command;      /* CLI: the program */
    char **args;        /* CLI: arguments, {{MediaPath}} placeholders kept */
    size_t argc;
    long timeout_s;     /* CLI: timeoutSeconds */
    char *prompt, *max_chars, *language; /* CLI: {{Prompt}}, {{MaxChars}}, {{Language}}; may be NULL */
    char *where;        /* "tools.media.audio.models[1]", for messages */
} csp_stt_entry;

typedef struct csp_settings {
    csp_setting shown[CSP_SETTING_SLOTS];
    size_t shown_count;

    char *config_path;
    int config_exists;
    char *provider;        /* "openrouter" or "tts-local-cli" */
    char *voice, *model, *response_format, *auto_mode;
    double speed;
    int has_speed;
    long timeout_ms, max_text_length;
    char *base_url;
    int base_is_openrouter; /* attribution headers only for the real OpenRouter */
    char *api_key;          /* NULL when none: wiped on free */
    char *api_key_source;
    char *routing_json;     /* providers.openrouter.provider, as compact JSON */
    char *chat_model;       /* the ref as configured */
    char *chat_model_id;    /* what is sent */
    char *chat_api_key;     /* models.providers.openrouter.apiKey, then OPENROUTER_API_KEY */
    char *openai_api_key;   /* tts.providers.openai.apiKey or OPENAI_API_KEY: masked, not used yet */
    char *chat_base_url;
    int chat_base_is_openrouter;
    char *local_command;
    char **local_args;
    size_t local_argc;
    int local_args_default; /* the built-in espeak-ng arguments: voice and rate are added */
    char *local_voice;      /* tts.providers.tts-local-cli.voice, or NULL (chosen by script) */
    int local_is_self;      /* the configured local command is clawspeak itself (or we are
                               nested): the built-in espeak-ng stands in, never a child of ours */
    char *persona;          /* the active persona's id in tts.personas, or NULL */
    char *openai_base_url, *openai_model, *openai_voice, *openai_instructions;
    char *url_secrets[3]; /* the password in each base URL's userinfo: masked like a key */
    double openai_speed;
    int has_openai_speed;
    char chain_note[512];   /* why providers were left out of the chain, for notices */
    int model_overrides;    /* tts.modelOverrides.enabled */
    int allow_provider;     /* tts.modelOverrides.allowProvider */
    int fallback;           /* try the next provider when one fails */
    int provider_from_flag; /* --provider: that one alone, today's exit codes */
    const char *chain[4];   /* providers in the order they are tried (static strings) */
    size_t chain_count;
    int chain_error;        /* chain_count 0: the csp_code speaking fails with */
    /* run as OpenClaw's tts-local-cli command (the entry is clawspeak itself): OpenClaw kills
       the command at tts.timeoutMs, so every failure of the API falls back, within that time,
       and a file is redone in espeak-ng's voice rather than left unfinished */
    int as_openclaw_command;
    int redo_local;         /* say: the whole text again with the local engine */
    char *stt_model;            /* the transcription model of OpenRouter entries */
    long stt_max_bytes;         /* tools.media.audio.maxBytes */
    long stt_piece_seconds;     /* longest piece sent in one request */
    csp_stt_entry *stt_entries; /* tried in order */
    size_t stt_entry_count;
} csp_settings;

/* Values given as command-line flags (csp_client_override): they beat the config. */
#define CSP_MAX_OVERRIDES 16
typedef struct csp_overrides {
    struct {
        char *name, *value;
        char *typed; /* the flag as the user typed it ("-v"), for errors; or NULL */
    } items[CSP_MAX_OVERRIDES];
    size_t count;
} csp_overrides;

struct csp_config;
struct csp_report;
/* Resolve everything. CSP_ECONFIG names the key path of a wrong value. */
csp_code csp__settings_resolve(struct csp_report *report, const csp_overrides *overrides,
                               const struct csp_config *cfg, csp_settings *out);
void csp__settings_free(csp_settings *settings);
void csp__stt_entries_free(csp_settings *settings);
struct csp_secrets;
/* Every key the settings know, for masking what is printed or spoken. */
void csp__settings_secrets(const csp_settings *settings, struct csp_secrets *out);
/* The displayed setting called name, or NULL. */
const csp_setting *csp__settings_find(const csp_settings *settings, const char *name);
/* Whether csp_client_override may set this setting (not keys, not lists). */
int csp__setting_overridable(const char *name);
/* Map a chat model ref to the id sent to OpenRouter; NULL for another provider. */
char *csp__chat_model_id(const char *ref);
/* Normalise a base URL: strip trailing slashes, map the legacy /v1 URL. */
char *csp__normalize_base_url(const char *url);
#endif
