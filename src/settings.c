/* SPDX-License-Identifier: MIT */
/*
 * settings.c: OpenClaw's TTS and chat settings resolution, in one place.
 * Each value records where it came from, for `clawspeak config` and for
 * error messages that name the key path of a bad value.
 */
#include "settings.h"

#include "alloc.h"
#include "report.h"
#include "config.h"
#include "redact.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct resolver {
    csp_report *report;
    const csp_overrides *overrides;
    const csp_config *cfg;
    csp_settings *out;
    csp_code rc;
} resolver;

static const char *override_of(const resolver *r, const char *name)
{
    const char *value = NULL;
    for (size_t i = 0; i < r->overrides->count; i++)
        if (strcmp(r->overrides->items[i].name, name) == 0)
            value = r->overrides->items[i].value; /* the last flag wins */
    return value;
}

/* An allocated source label, or out of memory recorded in the resolver. */
static char *need(resolver *r, char *label)
{
    if (!label && r->rc == CSP_OK)
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
    return label;
}

/* Source labels: "--voice", "/path/openclaw.json:tts.voice". NULL means out of memory, recorded. */
static char *flag_source(resolver *r, const char *name)
{
    char *s = need(r, csp__printf("--%s", name));
    for (char *p = s; p && *p; p++)
        if (*p == '_')
            *p = '-';
    return s;
}

static char *config_source(resolver *r, const char *keypath)
{
    return need(r, csp__printf("%s:%s", r->cfg->path, keypath));
}

/* Record a displayed setting; takes ownership of source. */
static void show(resolver *r, const char *name, const char *value, char *source)
{
    csp_settings *s = r->out;
    if (r->rc != CSP_OK || s->shown_count >= CSP_SETTING_SLOTS) {
        csp__free(source);
        return;
    }
    csp_setting *slot = &s->shown[s->shown_count];
    slot->name = name;
    slot->value = csp__strdup(value ? value : "");
    slot->source = source ? source : csp__strdup("default");
    if (!slot->value || !slot->source) {
        csp__free(slot->value);
        csp__free(slot->source);
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return;
    }
    s->shown_count++;
}

static const char *type_name(const cJSON *item)
{
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsNumber(item)) return "a number";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNull(item)) return "null";
    if (cJSON_IsArray(item)) return "an array";
    return "an object";
}

static void type_error(resolver *r, const char *keypath, const cJSON *item, const char *want)
{
    if (r->rc == CSP_OK)
        r->rc = csp__fail(r->report, CSP_ECONFIG, "%s: %s must be %s, not %s", r->cfg->path,
                          keypath, want, type_name(item));
}

/*
 * Look a TTS field up as a deep merge of messages.tts under tts would give
 * it: the newer block wins, field by field. Returns the item, *keypath names it.
 */
static const cJSON *tts_field(const resolver *r, const char *rel, char *keypath, size_t size)
{
    static const char *const roots[] = {"tts", "messages.tts"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(keypath, size, "%s.%s", roots[i], rel);
        const cJSON *item = csp__json_at(r->cfg->root, keypath);
        if (item && !cJSON_IsNull(item))
            return item;
    }
    return NULL;
}

/* A present, non-blank, fully resolved string; type errors are reported. */
static const char *usable_string(resolver *r, const cJSON *item, const char *keypath)
{
    if (!item || cJSON_IsNull(item))
        return NULL;
    if (!cJSON_IsString(item)) {
        type_error(r, keypath, item, "a string");
        return NULL;
    }
    const char *v = item->valuestring;
    while (isspace((unsigned char)*v))
        v++;
    if (!*v || csp__config_is_unresolved(r->cfg, item))
        return NULL;
    return item->valuestring;
}

/* First usable TTS string among aliases (already relative to the tts root). */
static const char *tts_string(resolver *r, const char *const *aliases, size_t count,
                              char **source)
{
    char keypath[256];
    for (size_t i = 0; i < count; i++) {
        const cJSON *item = tts_field(r, aliases[i], keypath, sizeof keypath);
        const char *v = usable_string(r, item, keypath);
        if (v) {
            *source = config_source(r, keypath);
            return v;
        }
    }
    return NULL;
}

static int set_copy(resolver *r, char **slot, const char *value)
{
    *slot = value ? csp__strdup(value) : NULL;
    if (value && !*slot) {
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return -1;
    }
    return 0;
}

static int blank(const char *v)
{
    while (isspace((unsigned char)*v))
        v++;
    return *v == '\0';
}

/* A string setting: flag, then config aliases, then default. */
static void resolve_string(resolver *r, const char *name, const char *const *aliases,
                           size_t count, const char *fallback, char **slot)
{
    char *source = NULL;
    const char *v = override_of(r, name);
    if (v) {
        source = flag_source(r, name);
        if (source && !blank(v)) {
            /* given */
        } else if (source) {
            r->rc = csp__fail(r->report, CSP_EUSAGE, "%s: the value is empty", source);
            csp__free(source);
            return;
        }
    } else if (!(v = tts_string(r, aliases, count, &source))) {
        v = fallback;
    }
    if (r->rc == CSP_OK && set_copy(r, slot, v) == 0)
        show(r, name, v, source);
    else
        csp__free(source);
}

static int parse_number_text(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* The range a number setting may take: checked before any conversion to an integer. */
typedef struct number_range {
    double min, max;
    int integer;
} number_range;

static int in_range(double v, const number_range *range)
{
    return isfinite(v) && v >= range->min && v <= range->max &&
           (!range->integer || v == floor(v));
}

/* A number setting; has_value is cleared when nothing sets it (fallback 0). */
static void resolve_number(resolver *r, const char *name, const char *rel, double fallback,
                           const number_range *range, double *value, int *has_value)
{
    char keypath[256], shown_value[64], expect[96];
    char *source = NULL;
    const char *flag = override_of(r, name);
    snprintf(expect, sizeof expect, "%s from %.15g to %.15g", range->integer ? "a whole number" : "a number",
             range->min, range->max);
    *has_value = 1;
    if (flag) {
        source = flag_source(r, name);
        if (source && (parse_number_text(flag, value) < 0 || !in_range(*value, range))) {
            r->rc = csp__fail(r->report, CSP_EUSAGE, "%s: expected %s, got '%s'", source, expect,
                              flag);
            csp__free(source);
            return;
        }
    } else {
        const cJSON *item = tts_field(r, rel, keypath, sizeof keypath);
        if (item) {
            if (!cJSON_IsNumber(item) || !in_range(item->valuedouble, range)) {
                if (r->rc == CSP_OK)
                    r->rc = csp__fail(r->report, CSP_ECONFIG, "%s: %s must be %s", r->cfg->path,
                                      keypath, expect);
                return;
            }
            *value = item->valuedouble;
            source = config_source(r, keypath);
        } else if (fallback > 0) {
            *value = fallback;
        } else {
            *has_value = 0;
        }
    }
    if (*has_value)
        snprintf(shown_value, sizeof shown_value, "%.15g", *value);
    else
        snprintf(shown_value, sizeof shown_value, "(not set)");
    show(r, name, shown_value, source);
}

static int one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return 1;
    return 0;
}

static void check_enum(resolver *r, const char *name, const char *value,
                       const char *const *allowed, const char *list)
{
    if (r->rc != CSP_OK || one_of(value, allowed))
        return;
    const char *src = r->out->shown[r->out->shown_count - 1].source;
    int from_flag = src[0] == '-';
    r->rc = csp__fail(r->report, from_flag ? CSP_EUSAGE : CSP_ECONFIG,
                      "%s: %s '%s' is not supported (use %s)", src, name, value, list);
}

const csp_setting *csp__settings_find(const csp_settings *settings, const char *name)
{
    for (size_t i = 0; i < settings->shown_count; i++)
        if (strcmp(settings->shown[i].name, name) == 0)
            return &settings->shown[i];
    return NULL;
}

char *csp__normalize_base_url(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n == strlen("https://openrouter.ai/v1") && strncmp(url, "https://openrouter.ai/v1", n) == 0)
        return csp__strdup(CSP_DEFAULT_BASE_URL);
    return csp__strndup(url, n);
}

char *csp__chat_model_id(const char *ref)
{
    static const char prefix[] = "openrouter/";
    if (strncmp(ref, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const char *rest = ref + sizeof prefix - 1;
    if (!*rest)
        return NULL;
    /* a bare router name (auto, fusion, ...) keeps its prefix */
    return strchr(rest, '/') ? csp__strdup(rest) : csp__strdup(ref);
}

/* First usable string at one of the dotted paths, or the first env var. */
static const char *first_string(resolver *r, const char *const *paths, size_t count,
                                char **source)
{
    for (size_t i = 0; i < count; i++) {
        const cJSON *item = csp__json_at(r->cfg->root, paths[i]);
        const char *v = usable_string(r, item, paths[i]);
        if (v) {
            *source = config_source(r, paths[i]);
            return v;
        }
    }
    return NULL;
}

static const char *env_key(resolver *r, char **source)
{
    const char *where = NULL;
    const char *v = csp__config_getenv(r->cfg, "OPENROUTER_API_KEY", &where);
    if (!v)
        return NULL;
    if (strcmp(where, "process") == 0)
        *source = need(r, csp__strdup("env OPENROUTER_API_KEY"));
    else
        *source = need(r, csp__printf("%s:%s.OPENROUTER_API_KEY", r->cfg->path, where));
    return v;
}

static void resolve_key(resolver *r, const char *name, const char *const *paths, size_t count,
                        char **slot, char **slot_source)
{
    char *source = NULL;
    const char *key = first_string(r, paths, count, &source);
    if (!key && r->rc == CSP_OK)
        key = env_key(r, &source);
    if (r->rc != CSP_OK) {
        csp__free(source);
        return;
    }
    char masked[CSP_REDACTED_MAX];
    csp__redact_key(key, masked);
    if (set_copy(r, slot, key) == 0 && set_copy(r, slot_source, source ? source : "none") == 0)
        show(r, name, masked, source ? source : csp__strdup("none"));
    else
        csp__free(source);
}

static void resolve_base_url(resolver *r, const char *name, const char *const *paths,
                             size_t count, char **slot)
{
    char *source = NULL;
    const char *v = override_of(r, "base_url");
    if (v)
        source = flag_source(r, "base_url");
    else if (!(v = first_string(r, paths, count, &source)))
        v = CSP_DEFAULT_BASE_URL;
    if (r->rc != CSP_OK) {
        csp__free(source);
        return;
    }
    *slot = csp__normalize_base_url(v);
    if (!*slot) {
        csp__free(source);
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return;
    }
    const char *host = !strncmp(*slot, "http://", 7) ? *slot + 7 : !strncmp(*slot, "https://", 8) ? *slot + 8 : NULL;
    if (!host || !*host || *host == '/' || *host == ':' || strchr(host, ' ')) {
        r->rc = csp__fail(r->report, source && source[0] != '-' ? CSP_ECONFIG : CSP_EUSAGE,
                          "%s: base URL '%s' must be http(s)://host[:port][/path]",
                          source ? source : "--base-url", *slot);
        csp__free(source);
        return;
    }
    show(r, name, *slot, source);
}

static void resolve_routing(resolver *r)
{
    char keypath[256];
    const cJSON *item = tts_field(r, "providers.openrouter.provider", keypath, sizeof keypath);
    if (!item) {
        show(r, "routing", "(not set)", NULL);
        return;
    }
    if (!cJSON_IsObject(item)) {
        type_error(r, keypath, item, "an object (OpenRouter provider routing options)");
        return;
    }
    r->out->routing_json = cJSON_PrintUnformatted(item);
    if (!r->out->routing_json) {
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return;
    }
    show(r, "routing", r->out->routing_json, config_source(r, keypath));
}

/* OpenClaw's openai provider key: known so that it is masked wherever it could show. */
static void resolve_openai_key(resolver *r)
{
    static const char *const paths[] = {"tts.providers.openai.apiKey",
                                        "messages.tts.providers.openai.apiKey"};
    char *source = NULL;
    const char *where = NULL;
    const char *key = first_string(r, paths, 2, &source);
    if (!key && r->rc == CSP_OK)
        key = csp__config_getenv(r->cfg, "OPENAI_API_KEY", &where);
    csp__free(source);
    if (r->rc == CSP_OK && key)
        set_copy(r, &r->out->openai_api_key, key);
}

void csp__settings_secrets(const csp_settings *s, csp_secrets *out)
{
    memset(out, 0, sizeof *out);
    out->keys[0] = s->api_key;
    out->keys[1] = s->chat_api_key;
    out->keys[2] = s->openai_api_key;
}

static void resolve_local(resolver *r)
{
    /* the text goes on standard input: never parsed as options, never on a command line */
    static const char *const default_args[] = {"-w", "{{OutputPath}}", "--stdin"};
    char keypath[256];
    const char *cmd_alias[] = {"providers.tts-local-cli.command"};
    resolve_string(r, "local_command", cmd_alias, 1, "espeak-ng", &r->out->local_command);
    if (r->rc != CSP_OK)
        return;
    /* the local engine's own voice: the API's voices (af_alloy...) mean nothing to espeak-ng */
    char *voice_source = NULL;
    const char *voice_alias[] = {"providers.tts-local-cli.voice"};
    const char *voice = tts_string(r, voice_alias, 1, &voice_source);
    if (r->rc == CSP_OK && voice && set_copy(r, &r->out->local_voice, voice) == 0)
        show(r, "local_voice", voice, voice_source);
    else
        csp__free(voice_source);
    if (r->rc != CSP_OK)
        return;
    const cJSON *args = tts_field(r, "providers.tts-local-cli.args", keypath, sizeof keypath);
    char *source = NULL;
    size_t count = 3;
    r->out->local_args_default = args == NULL;
    if (args) {
        if (!cJSON_IsArray(args)) {
            type_error(r, keypath, args, "an array of strings");
            return;
        }
        count = (size_t)cJSON_GetArraySize(args);
        source = config_source(r, keypath);
    }
    r->out->local_args = csp__calloc(count + 1, sizeof(char *));
    csp_buf shown;
    csp__buf_init(&shown, 1 << 16);
    if (!r->out->local_args)
        goto nomem;
    for (size_t i = 0; i < count; i++) {
        const char *v = default_args[i < 3 ? i : 0];
        if (args) {
            const cJSON *a = cJSON_GetArrayItem(args, (int)i);
            if (!cJSON_IsString(a)) {
                char where[300];
                snprintf(where, sizeof where, "%s[%zu]", keypath, i);
                type_error(r, where, a, "a string");
                goto out;
            }
            v = a->valuestring;
        }
        if (!(r->out->local_args[i] = csp__strdup(v)))
            goto nomem;
        r->out->local_argc = i + 1;
        if (csp__buf_appendf(&shown, "%s%s", i ? " " : "", v) < 0)
            goto nomem;
    }
    show(r, "local_args", shown.data ? shown.data : "", source);
    source = NULL;
    goto out;
nomem:
    r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
out:
    csp__free(source);
    csp__buf_free(&shown);
}

/*
 * Say what say will really use: with no key anywhere and no provider
 * chosen, the local engine (csp__choose_provider switches at run time).
 */
static void show_local_fallback(resolver *r)
{
    csp_setting *shown = (csp_setting *)csp__settings_find(r->out, "provider");
    char *value = csp__strdup("tts-local-cli");
    char *source = csp__strdup("no OpenRouter key found (tts.providers.openrouter.apiKey, "
                               "models.providers.openrouter.apiKey, OPENROUTER_API_KEY)");
    if (!shown || !value || !source) {
        csp__free(value);
        csp__free(source);
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return;
    }
    csp__free(shown->value);
    csp__free(shown->source);
    shown->value = value;
    shown->source = source;
}

/* Every displayed value, masked against every key: a key can hide in a base URL or an arg. */
static void redact_shown(resolver *r)
{
    csp_secrets secrets;
    csp__settings_secrets(r->out, &secrets);
    for (size_t i = 0; i < r->out->shown_count && r->rc == CSP_OK; i++) {
        csp_setting *slot = &r->out->shown[i];
        size_t size = strlen(slot->value) * 2 + CSP_REDACTED_MAX;
        char *clean = csp__malloc(size);
        if (!clean) {
            r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
            return;
        }
        csp__redact_text(slot->value, strlen(slot->value), &secrets, 0, clean, size);
        csp__free(slot->value);
        slot->value = clean;
    }
}

csp_code csp__settings_resolve(csp_report *report, const csp_overrides *overrides,
                               const csp_config *cfg, csp_settings *out)
{
    resolver r = {report, overrides, cfg, out, CSP_OK};
    static const char *const formats[] = {"mp3", "pcm", NULL};
    static const char *const autos[] = {"off", "always", "inbound", "tagged", NULL};
    static const char *const providers[] = {"openrouter", "tts-local-cli", NULL};

    memset(out, 0, sizeof *out);
    out->config_path = csp__strdup(cfg->path);
    out->config_exists = cfg->exists;
    if (!out->config_path)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    show(&r, "config", cfg->path,
         need(&r, csp__printf("%s%s", cfg->path_source, cfg->exists ? "" : " (file missing: defaults)")));

    const char *provider_alias[] = {"provider"};
    resolve_string(&r, "provider", provider_alias, 1, "openrouter", &out->provider);
    /* "local" is the command line's short name for tts-local-cli */
    if (r.rc == CSP_OK && strcmp(out->provider, "local") == 0) {
        csp__free(out->provider);
        set_copy(&r, &out->provider, "tts-local-cli");
    }
    if (r.rc == CSP_OK)
        out->provider_explicit = strcmp(out->shown[out->shown_count - 1].source, "default") != 0;
    check_enum(&r, "provider", out->provider ? out->provider : "", providers,
               "openrouter, local or tts-local-cli");

    const char *model_alias[] = {"providers.openrouter.model", "providers.openrouter.modelId"};
    resolve_string(&r, "model", model_alias, 2, CSP_DEFAULT_MODEL, &out->model);
    const char *voice_alias[] = {"providers.openrouter.speakerVoice",
                                 "providers.openrouter.speakerVoiceId",
                                 "providers.openrouter.voice", "providers.openrouter.voiceId"};
    resolve_string(&r, "voice", voice_alias, 4, CSP_DEFAULT_VOICE, &out->voice);
    const char *format_alias[] = {"providers.openrouter.responseFormat"};
    resolve_string(&r, "response_format", format_alias, 1, "mp3", &out->response_format);
    for (char *c = out->response_format; r.rc == CSP_OK && c && *c; c++)
        *c = (char)tolower((unsigned char)*c); /* "MP3" works, as in OpenClaw */
    check_enum(&r, "response_format", out->response_format ? out->response_format : "", formats,
               "mp3 or pcm");

    double number = 0;
    int has;
    /* OpenAI-style speech takes 0.25-4; a day of silence is the longest sane timeout */
    static const number_range speed_range = {0.25, 4.0, 0};
    static const number_range timeout_range = {1, 86400000, 1};
    static const number_range length_range = {1, 1000000, 1};
    resolve_number(&r, "speed", "providers.openrouter.speed", 0, &speed_range, &out->speed,
                   &out->has_speed);
    resolve_number(&r, "timeout_ms", "timeoutMs", 30000, &timeout_range, &number, &has);
    out->timeout_ms = (long)number;
    resolve_number(&r, "max_text_length", "maxTextLength", 4096, &length_range, &number, &has);
    out->max_text_length = (long)number;
    const char *auto_alias[] = {"auto"};
    resolve_string(&r, "auto", auto_alias, 1, "off", &out->auto_mode);
    check_enum(&r, "auto", out->auto_mode ? out->auto_mode : "", autos,
               "off, always, inbound or tagged");

    const char *tts_url[] = {"tts.providers.openrouter.baseUrl",
                             "messages.tts.providers.openrouter.baseUrl",
                             "models.providers.openrouter.baseUrl"};
    resolve_base_url(&r, "base_url", tts_url, 3, &out->base_url);
    if (r.rc == CSP_OK)
        out->base_is_openrouter = strcmp(out->base_url, CSP_DEFAULT_BASE_URL) == 0;
    const char *tts_key[] = {"tts.providers.openrouter.apiKey",
                             "messages.tts.providers.openrouter.apiKey",
                             "models.providers.openrouter.apiKey"};
    resolve_key(&r, "api_key", tts_key, 3, &out->api_key, &out->api_key_source);
    if (r.rc == CSP_OK && !out->provider_explicit && !out->api_key)
        show_local_fallback(&r);
    resolve_routing(&r);

    char *source = NULL;
    const char *chat = override_of(&r, "chat_model");
    const char *chat_path[] = {"agents.defaults.model.primary"};
    if (chat)
        source = flag_source(&r, "model");
    else if (!(chat = first_string(&r, chat_path, 1, &source)))
        chat = CSP_DEFAULT_CHAT_MODEL;
    if (r.rc == CSP_OK && set_copy(&r, &out->chat_model, chat) == 0) {
        out->chat_model_id = csp__chat_model_id(chat);
        /* NULL is "not an OpenRouter ref" only when the ref has no model after the prefix */
        if (!out->chat_model_id && strncmp(chat, "openrouter/", 11) == 0 && chat[11])
            r.rc = csp__fail(report, CSP_ENOMEM, "out of memory");
        show(&r, "chat_model", chat, source);
    } else {
        csp__free(source);
    }
    const char *chat_url[] = {"models.providers.openrouter.baseUrl"};
    resolve_base_url(&r, "chat_base_url", chat_url, 1, &out->chat_base_url);
    if (r.rc == CSP_OK)
        out->chat_base_is_openrouter = strcmp(out->chat_base_url, CSP_DEFAULT_BASE_URL) == 0;
    const char *chat_key[] = {"models.providers.openrouter.apiKey"};
    char *chat_key_source = NULL;
    resolve_key(&r, "chat_api_key", chat_key, 1, &out->chat_api_key, &chat_key_source);
    csp__free(chat_key_source);
    resolve_openai_key(&r);
    resolve_local(&r);
    if (r.rc == CSP_OK)
        redact_shown(&r);
    return r.rc;
}

void csp__settings_free(csp_settings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->shown_count; i++) {
        csp__free(s->shown[i].value);
        csp__free(s->shown[i].source);
    }
    csp__free(s->config_path);
    csp__free(s->provider);
    csp__free(s->voice);
    csp__free(s->model);
    csp__free(s->response_format);
    csp__free(s->auto_mode);
    csp__free(s->base_url);
    csp__free_secret(s->api_key);
    csp__free(s->api_key_source);
    csp__free(s->routing_json);
    csp__free(s->chat_model);
    csp__free(s->chat_model_id);
    csp__free(s->chat_base_url);
    csp__free_secret(s->chat_api_key);
    csp__free_secret(s->openai_api_key);
    csp__free(s->local_command);
    csp__free(s->local_voice);
    for (size_t i = 0; i < s->local_argc; i++)
        csp__free(s->local_args[i]);
    csp__free(s->local_args);
    memset(s, 0, sizeof *s);
}
