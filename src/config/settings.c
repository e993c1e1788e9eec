/* SPDX-License-Identifier: MIT */
/*
 * settings.c: OpenClaw's TTS and chat settings resolution, in one place.
 * One table (specs[] below) describes every setting: its name, config keys,
 * command-line flag, type, range, default and how it resolves. The same
 * table drives resolution, validation, `config`, `config --json`, the
 * command line's options, --help and the man page: adding a setting is one
 * entry plus its use. Each value records where it came from, for `config`
 * and for errors that name the key path (or the flag as typed) of a bad value.
 */
#include "settings.h"

#include "alloc.h"
#include "report.h"
#include "command.h"
#include "config.h"
#include "redact.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum { POLICY_PRESERVE, POLICY_PROVIDER_DEFAULTS, POLICY_FAIL } persona_policy;

typedef struct resolver {
    csp_report *report;
    const csp_overrides *overrides;
    const csp_config *cfg;
    csp_settings *out;
    csp_code rc;
    const cJSON *persona;     /* tts.personas.<id> of the active persona, or NULL */
    const char *persona_root; /* "tts" or "messages.tts": where it was found */
    persona_policy policy;
} resolver;

/* The flag given for a setting (the last one wins, as in curl), and its label as typed. */
static const char *override_of(const resolver *r, const char *name, const char **typed)
{
    const char *value = NULL;
    for (size_t i = 0; i < r->overrides->count; i++)
        if (strcmp(r->overrides->items[i].name, name) == 0) {
            value = r->overrides->items[i].value;
            if (typed)
                *typed = r->overrides->items[i].typed;
        }
    return value;
}

/* An allocated source label, or out of memory recorded in the resolver. */
static char *need(resolver *r, char *label)
{
    if (!label && r->rc == CSP_OK)
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
    return label;
}

/*
 * Source labels: the flag as it was typed ("-v", "--voi"), else "--voice";
 * "/path/openclaw.json:tts.voice". NULL means out of memory, recorded.
 */
static char *flag_source(resolver *r, const char *name, const char *typed)
{
    if (typed)
        return need(r, csp__strdup(typed));
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

/* Does the active persona bind the provider whose id starts `id_and_rest` ("openai.voice")? */
static int persona_binds(const resolver *r, const char *id_and_rest)
{
    char binding[256];
    snprintf(binding, sizeof binding, "%s.personas.%s.providers.%.*s", r->persona_root,
             r->out->persona, (int)strcspn(id_and_rest, "."), id_and_rest);
    return cJSON_IsObject(csp__json_at(r->cfg->root, binding));
}

/*
 * Look a TTS field up as a deep merge of messages.tts under tts would give
 * it: the newer block wins, field by field. Returns the item, *keypath names it.
 */
static const cJSON *tts_field(const resolver *r, const char *rel, char *keypath, size_t size)
{
    static const char *const roots[] = {"tts", "messages.tts"};
    /* a persona's binding for a provider beats the provider's own settings (OpenClaw's order) */
    if (r->persona && strncmp(rel, "providers.", 10) == 0) {
        snprintf(keypath, size, "%s.personas.%s.%s", r->persona_root, r->out->persona, rel);
        const cJSON *item = csp__json_at(r->cfg->root, keypath);
        if (item && !cJSON_IsNull(item))
            return item;
        /* provider-defaults: a provider the persona does not bind speaks with its defaults */
        if (r->policy == POLICY_PROVIDER_DEFAULTS && !persona_binds(r, rel + 10))
            return NULL;
    }
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

/* --- the table's entries and how each kind resolves ------------------------ */

typedef struct setting_spec setting_spec;
typedef void (*resolve_fn)(resolver *r, const setting_spec *spec);

struct setting_spec {
    csp_setting_info info;  /* first: csp_setting_info_at() hands out its address */
    const char *paths[4];   /* config keys relative to the tts block (tts.*, then messages.tts.*) */
    size_t field;           /* where the value lives in csp_settings */
    resolve_fn resolve;
    const char *prefs_key;  /* its key in the local preferences file, which beats the config */
    /* A provider's own setting: the shared flag it listens to ("voice"), heard only when
       that provider speaks first (--voice is for the provider you will hear). */
    const char *owner, *listens;
};

#define FIELD(member) offsetof(csp_settings, member)

static char **text_field(resolver *r, const setting_spec *spec)
{
    return (char **)((char *)r->out + spec->field);
}

static size_t path_count(const setting_spec *spec)
{
    size_t n = 0;
    while (n < 4 && spec->paths[n])
        n++;
    return n;
}

/* The local preferences' string for key, or NULL; a wrong type is an error naming the file. */
static const char *prefs_string(resolver *r, const char *key, char **source)
{
    const cJSON *item = key && r->cfg->prefs ? cJSON_GetObjectItemCaseSensitive(r->cfg->prefs, key) : NULL;
    if (!item || cJSON_IsNull(item))
        return NULL;
    if (!cJSON_IsString(item) || blank(item->valuestring)) {
        if (r->rc == CSP_OK)
            r->rc = csp__fail(r->report, CSP_ECONFIG, "%s: tts.%s must be a non-empty string or null",
                              r->cfg->prefs_path, key);
        return NULL;
    }
    *source = need(r, csp__printf("%s:tts.%s", r->cfg->prefs_path, key));
    return item->valuestring;
}

/* A preference set to null: OpenClaw's "off" (`/tts persona off` writes persona: null). */
static int prefs_off(const resolver *r, const char *key)
{
    return key && r->cfg->prefs && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r->cfg->prefs, key));
}

/* The flag for a setting; an empty value is a usage error naming it as typed. */
static const char *flag_value(resolver *r, const char *name, const char *label, char **source)
{
    const char *typed = NULL, *v = override_of(r, name, &typed);
    if (!v)
        return NULL;
    *source = flag_source(r, label, typed);
    if (*source && blank(v)) {
        r->rc = csp__fail(r->report, CSP_EUSAGE, "%s: the value is empty", *source);
        csp__free(*source);
        *source = NULL;
        return NULL;
    }
    return v;
}

/* The primary provider: resolved before every provider's own settings. */
static const char *primary(const resolver *r)
{
    return r->out->provider ? r->out->provider : "openrouter";
}

/* The flag a setting hears: its own, or the shared one when its provider speaks first. */
/* The override name a setting hears, or NULL when its provider is not the one heard first. */
static const char *heard_name(const resolver *r, const setting_spec *spec)
{
    if (spec->owner && strcmp(spec->owner, primary(r)) != 0)
        return NULL;
    return spec->listens ? spec->listens : spec->info.name;
}

static const char *heard_flag(resolver *r, const setting_spec *spec, char **source)
{
    const char *flag = heard_name(r, spec);
    return flag ? flag_value(r, flag, flag, source) : NULL;
}

/* A string setting: flag, then the preferences file, then config aliases, then default. */
static void resolve_text(resolver *r, const setting_spec *spec)
{
    const char *name = spec->info.name;
    char *source = NULL;
    const char *v = heard_flag(r, spec, &source);
    if (!v && r->rc == CSP_OK && !(v = prefs_string(r, spec->prefs_key, &source)) &&
        r->rc == CSP_OK && !(v = tts_string(r, spec->paths, path_count(spec), &source)))
        v = spec->info.fallback;
    if (r->rc != CSP_OK) {
        csp__free(source);
        return;
    }
    if (r->rc == CSP_OK && set_copy(r, text_field(r, spec), v) == 0)
        show(r, name, v ? v : "(not set)", source);
    else
        csp__free(source);
}

static void check_choice(resolver *r, const setting_spec *spec);

/* One of a list, matched without regard to case ("MP3" works, as in OpenClaw). */
static void resolve_choice(resolver *r, const setting_spec *spec)
{
    resolve_text(r, spec);
    check_choice(r, spec);
}

static void check_choice(resolver *r, const setting_spec *spec)
{
    char *value = *text_field(r, spec);
    if (r->rc != CSP_OK || !value)
        return;
    csp_setting *shown = &r->out->shown[r->out->shown_count - 1];
    for (size_t i = 0; value[i]; i++)
        value[i] = shown->value[i] = (char)tolower((unsigned char)value[i]);
    const char *choices = spec->info.choices;
    size_t n = strlen(value);
    for (const char *c = choices; *c; c += strcspn(c, " "), c += *c == ' ')
        if (strcspn(c, " ") == n && strncmp(c, value, n) == 0)
            return;
    r->rc = csp__fail(r->report, shown->source[0] == '-' ? CSP_EUSAGE : CSP_ECONFIG,
                      "%s: %s '%s' is not supported (use one of: %s)", shown->source,
                      spec->info.name, value, choices);
}

static int parse_number_text(const char *text, double *out)
{
    char *end;
    errno = 0;
    /* decimal only: strtod also reads hex ("0x2"), which nobody means as a speed */
    if (text[strspn(text, "0123456789.+-eE \t")] != '\0')
        return -1;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Checked before any conversion to an integer: 1e300 never reaches a long. */
static int in_range(double v, const csp_setting_info *info)
{
    return isfinite(v) && v >= info->min && v <= info->max &&
           (info->type != CSP_SETTING_INTEGER || v == floor(v));
}

/* A number; returns 0 when nothing sets it and it has no default. */
static int resolve_number(resolver *r, const setting_spec *spec)
{
    const csp_setting_info *info = &spec->info;
    char keypath[256], shown_value[64], expect[96];
    char *source = NULL;
    const char *typed = NULL, *heard = heard_name(r, spec);
    const char *flag = heard ? override_of(r, heard, &typed) : NULL;
    double value = 0;
    int has_value = 1;
    snprintf(expect, sizeof expect, "%s from %.15g to %.15g",
             info->type == CSP_SETTING_INTEGER ? "a whole number" : "a number", info->min, info->max);
    if (flag) {
        source = flag_source(r, info->name, typed);
        if (source && (parse_number_text(flag, &value) < 0 || !in_range(value, info))) {
            r->rc = csp__fail(r->report, CSP_EUSAGE, "%s: expected %s, got '%s'", source, expect,
                              flag);
            csp__free(source);
            return 0;
        }
    } else {
        const cJSON *item = NULL;
        if (spec->paths[0]) {
            item = tts_field(r, spec->paths[0], keypath, sizeof keypath);
        } else if (info->config_key) { /* outside the tts block (tools.media...) */
            snprintf(keypath, sizeof keypath, "%s", info->config_key);
            item = csp__json_at(r->cfg->root, keypath);
        }
        if (item) {
            if (!cJSON_IsNumber(item) || !in_range(item->valuedouble, info)) {
                if (r->rc == CSP_OK)
                    r->rc = csp__fail(r->report, CSP_ECONFIG, "%s: %s must be %s", r->cfg->path,
                                      keypath, expect);
                return 0;
            }
            value = item->valuedouble;
            source = config_source(r, keypath);
        } else if (info->fallback) {
            value = strtod(info->fallback, NULL);
        } else {
            has_value = 0;
        }
    }
    if (info->type == CSP_SETTING_INTEGER)
        *(long *)((char *)r->out + spec->field) = (long)value;
    else
        *(double *)((char *)r->out + spec->field) = value;
    if (has_value)
        snprintf(shown_value, sizeof shown_value, "%.15g", value);
    else
        snprintf(shown_value, sizeof shown_value, "(not set)");
    show(r, info->name, shown_value, source);
    return has_value;
}

static void resolve_plain_number(resolver *r, const setting_spec *spec)
{
    resolve_number(r, spec);
}

static void resolve_speed(resolver *r, const setting_spec *spec)
{
    r->out->has_speed = resolve_number(r, spec);
}

static void resolve_openai_speed(resolver *r, const setting_spec *spec)
{
    r->out->has_openai_speed = resolve_number(r, spec);
}

/* A persona's own provider: it comes between the preferences and tts.provider. */
static const char *persona_provider(resolver *r, char **source)
{
    const cJSON *item = r->persona ? cJSON_GetObjectItemCaseSensitive(r->persona, "provider") : NULL;
    if (!item)
        return NULL;
    char keypath[256];
    snprintf(keypath, sizeof keypath, "%s.personas.%s.provider", r->persona_root, r->out->persona);
    const char *v = usable_string(r, item, keypath);
    if (v)
        *source = config_source(r, keypath);
    return v;
}

static int known_provider(const char *v)
{
    return !strcasecmp(v, "openrouter") || !strcasecmp(v, "openai") || !strcasecmp(v, "local") ||
           !strcasecmp(v, "tts-local-cli") || !strcasecmp(v, "cli");
}

static void resolve_provider(resolver *r, const setting_spec *spec)
{
    /* OpenClaw's order: override, local preference, persona, tts.provider, default */
    char *source = NULL;
    const char *v = flag_value(r, spec->info.name, spec->info.name, &source);
    if (!v && r->rc == CSP_OK)
        v = prefs_string(r, spec->prefs_key, &source);
    if (!v && r->rc == CSP_OK)
        v = persona_provider(r, &source);
    if (!v && r->rc == CSP_OK)
        v = tts_string(r, spec->paths, 1, &source);
    if (r->rc != CSP_OK) {
        csp__free(source);
        return;
    }
    if (!v)
        v = spec->info.fallback;
    if (source && source[0] != '-' && !known_provider(v)) {
        /* OpenClaw speaks with providers clawspeak has not (elevenlabs...): go on without it */
        csp__log(r->report, CSP_LOG_WARN, "%s: provider '%s' is not one clawspeak speaks "
                 "(openrouter, openai, local); using openrouter and the chain after it",
                 source, v);
        csp__free(source);
        source = need(r, csp__printf("unsupported provider '%s' skipped", v));
        v = "openrouter";
    }
    if (r->rc == CSP_OK && set_copy(r, &r->out->provider, v) == 0)
        show(r, spec->info.name, v, source);
    else
        csp__free(source);
    check_choice(r, spec);
    /* "local" is the command line's short name for tts-local-cli */
    if (r->rc == CSP_OK && (!strcmp(r->out->provider, "local") || !strcmp(r->out->provider, "cli"))) {
        csp__free(r->out->provider);
        set_copy(r, &r->out->provider, "tts-local-cli");
    }
}

/* The persona named v (an id, or a label in any case) into r->persona; the ids known are
   listed in known. Returns the length of that list. */
static size_t find_persona(resolver *r, const char *v, char *known, size_t size)
{
    static const char *const roots[] = {"tts", "messages.tts"};
    size_t used = 0;
    known[0] = '\0';
    for (size_t i = 0; i < 2 && !r->persona; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s.personas", roots[i]);
        const cJSON *all = csp__json_at(r->cfg->root, path), *persona;
        if (!cJSON_IsObject(all))
            continue;
        cJSON_ArrayForEach(persona, all)
        {
            const cJSON *label = cJSON_GetObjectItemCaseSensitive(persona, "label");
            if (!strcasecmp(persona->string, v) ||
                (cJSON_IsString(label) && !strcasecmp(label->valuestring, v))) {
                r->persona = persona;
                r->persona_root = roots[i];
                break;
            }
            if (used < size - 1)
                used += (size_t)snprintf(known + used, size - used, "%s%s", used ? ", " : "",
                                         persona->string);
        }
    }
    return used < size ? used : size - 1;
}

/* --persona, the preferences' persona, tts.persona: an id, or a label in any case. */
static void resolve_persona(resolver *r, const setting_spec *spec)
{
    char *source = NULL;
    const char *v = flag_value(r, spec->info.name, "persona", &source);
    if (!v && r->rc == CSP_OK)
        v = prefs_string(r, spec->prefs_key, &source);
    int off = !v && prefs_off(r, spec->prefs_key);
    if (!v && r->rc == CSP_OK && !off)
        v = tts_string(r, spec->paths, 1, &source);
    if (r->rc != CSP_OK || !v) {
        csp__free(source);
        if (r->rc == CSP_OK)
            show(r, spec->info.name, off ? "(off)" : "(not set)",
                 off ? need(r, csp__printf("%s:tts.persona is null", r->cfg->prefs_path)) : NULL);
        return;
    }
    char known[512] = "";
    size_t used = find_persona(r, v, known, sizeof known);
    int from_prefs = source && r->cfg->prefs_path && !strncmp(source, r->cfg->prefs_path, strlen(r->cfg->prefs_path));
    if (!r->persona && from_prefs) {
        /* OpenClaw goes on without a preferred persona it does not know: so do we */
        csp__log(r->report, CSP_LOG_WARN, "%s: no persona '%s' in tts.personas; ignored (as OpenClaw "
                 "does)", source, v);
        csp__free(source);
        source = NULL;
        v = tts_string(r, spec->paths, 1, &source);
        if (v)
            used = find_persona(r, v, known, sizeof known);
        if (!v) {
            show(r, spec->info.name, "(not set)", NULL);
            return;
        }
    }
    if (!r->persona) {
        r->rc = csp__fail(r->report, source && source[0] == '-' ? CSP_EUSAGE : CSP_ECONFIG,
                          "%s: no persona '%s' in tts.personas (%s%s)", source ? source : "persona",
                          v, used ? "known: " : "none defined", known);
        csp__free(source);
        return;
    }
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(r->persona, "fallbackPolicy");
    if (cJSON_IsString(policy) && !strcmp(policy->valuestring, "provider-defaults"))
        r->policy = POLICY_PROVIDER_DEFAULTS;
    else if (cJSON_IsString(policy) && !strcmp(policy->valuestring, "fail"))
        r->policy = POLICY_FAIL;
    else if (policy && !(cJSON_IsString(policy) && !strcmp(policy->valuestring, "preserve-persona"))) {
        r->rc = csp__fail(r->report, CSP_ECONFIG, "%s: %s.personas.%s.fallbackPolicy must be "
                          "preserve-persona, provider-defaults or fail", r->cfg->path,
                          r->persona_root, r->persona->string);
        csp__free(source);
        return;
    }
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(r->persona, "label");
    char shown[300];
    snprintf(shown, sizeof shown, "%s%s%s%s", r->persona->string, cJSON_IsString(label) ? " (" : "",
             cJSON_IsString(label) ? label->valuestring : "", cJSON_IsString(label) ? ")" : "");
    if (set_copy(r, &r->out->persona, r->persona->string) == 0)
        show(r, spec->info.name, shown, source);
    else
        csp__free(source);
}

/* true or false: a flag ("true", "false", "1", "0", "yes", "no") or a config boolean. */
static void resolve_bool(resolver *r, const setting_spec *spec)
{
    const char *typed = NULL, *flag = override_of(r, spec->info.name, &typed);
    char *source = NULL, keypath[256];
    int value = spec->info.fallback && !strcmp(spec->info.fallback, "true");
    if (flag) {
        source = flag_source(r, spec->info.name, typed);
        if (!strcmp(flag, "true") || !strcmp(flag, "1") || !strcmp(flag, "yes"))
            value = 1;
        else if (!strcmp(flag, "false") || !strcmp(flag, "0") || !strcmp(flag, "no"))
            value = 0;
        else if (source) {
            r->rc = csp__fail(r->report, CSP_EUSAGE, "%s: expected true or false, got '%s'",
                              source, flag);
            csp__free(source);
            return;
        }
    } else {
        const cJSON *item = tts_field(r, spec->paths[0], keypath, sizeof keypath);
        if (item && !cJSON_IsBool(item)) {
            type_error(r, keypath, item, "true or false");
            return;
        }
        if (item) {
            value = cJSON_IsTrue(item);
            source = config_source(r, keypath);
        }
    }
    *(int *)((char *)r->out + spec->field) = value;
    show(r, spec->info.name, value ? "true" : "false", source);
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

/* First usable string at one of the dotted paths (from the root, not the tts block). */
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

static const char *env_key(resolver *r, const char *var, char **source)
{
    const char *where = NULL;
    const char *v = csp__config_getenv(r->cfg, var, &where);
    if (!v)
        return NULL;
    if (strcmp(where, "process") == 0)
        *source = need(r, csp__printf("env %s", var));
    else if (where[0] == '/') /* OpenClaw's .env */
        *source = need(r, csp__printf("%s:%s", where, var));
    else
        *source = need(r, csp__printf("%s:%s.%s", r->cfg->path, where, var));
    return v;
}

/* Keys are short printable ASCII (OpenRouter's: 73 characters); anything else is a file
   or a paste gone wrong, and would go into a header line. Said without the key. */
#define KEY_MAX 4096
static int plausible_key(const char *key)
{
    size_t i = 0;
    for (; key[i] && i <= KEY_MAX; i++)
        if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 0x7f)
            return 0;
    return i <= KEY_MAX;
}

/* A key from the config paths, then the environment; shown masked unless hidden. */
static void resolve_key_from(resolver *r, const char *name, const char *const *paths,
                             size_t count, const char *env, char **slot, char **slot_source,
                             int shown)
{
    char *source = NULL;
    const char *key = first_string(r, paths, count, &source);
    if (!key && r->rc == CSP_OK && env)
        key = env_key(r, env, &source);
    if (key && r->rc == CSP_OK && !plausible_key(key))
        r->rc = csp__fail(r->report, CSP_EKEY, "%s (%s) is not an API key: %zu bytes%s; put "
                          "the key itself there", name, source ? source : "?", strlen(key),
                          strlen(key) > KEY_MAX ? ", over 4 KiB" : ", with spaces, control "
                          "characters or non-ASCII bytes in it");
    if (r->rc != CSP_OK || set_copy(r, slot, key) != 0) {
        csp__free(source);
        return;
    }
    if (slot_source && set_copy(r, slot_source, source ? source : "none") != 0) {
        csp__free(source);
        return;
    }
    char masked[CSP_REDACTED_MAX];
    csp__redact_key(key, masked);
    if (shown)
        show(r, name, masked, source ? source : need(r, csp__strdup("none")));
    else
        csp__free(source);
}

/*
 * Say what say will really use when the chosen provider cannot speak (no
 * key, or the local command is clawspeak itself): the chain's first.
 */
/* A value shown earlier, and its source, replaced. */
static void reshow(resolver *r, const char *name, const char *new_value, const char *why)
{
    csp_setting *shown = (csp_setting *)csp__settings_find(r->out, name);
    if (!shown)
        return; /* not shown for this kind of run */
    char *value = csp__strdup(new_value);
    char *source = csp__strdup(why);
    if (!value || !source) {
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

static void show_first_of_chain(resolver *r, const char *why)
{
    reshow(r, "provider", r->out->chain[0], why);
}

static const char *const provider_ids[] = {"openrouter", "openai", "tts-local-cli"};

/* The canonical (static) spelling of a provider id. */
static const char *provider_id(const char *id)
{
    if (!strcmp(id, "cli") || !strcmp(id, "local"))
        return "tts-local-cli"; /* OpenClaw's alias, and the command line's short name */
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(id, provider_ids[i]))
            return provider_ids[i];
    return provider_ids[0];
}

/* A tts.providers.<id> section (or the older messages.tts one) names a provider for the chain. */
static int configured(const resolver *r, const char *id)
{
    char path[96];
    snprintf(path, sizeof path, "tts.providers.%s", id);
    if (cJSON_IsObject(csp__json_at(r->cfg->root, path)))
        return 1;
    snprintf(path, sizeof path, "messages.tts.providers.%s", id);
    if (cJSON_IsObject(csp__json_at(r->cfg->root, path)))
        return 1;
    /* OpenClaw's own OpenRouter section (chat) names OpenRouter too: its key speaks */
    return !strcmp(id, "openrouter") &&
           cJSON_IsObject(csp__json_at(r->cfg->root, "models.providers.openrouter"));
}

/*
 * The providers say tries, in order (OpenClaw's): the chosen one, then the
 * other providers the config names, then the local engine, which sends
 * nothing anywhere. A provider named on the command line, or tts.fallback
 * false, means that one alone. A network provider without a key and, under a
 * persona whose fallbackPolicy is "fail", providers it does not bind (the
 * local engine too, as in OpenClaw) are left out. When the local command is
 * clawspeak itself (OpenClaw running clawspeak as its tts-local-cli), the
 * built-in espeak-ng is the local engine (resolve_local_args), and a chosen
 * tts-local-cli means "clawspeak's own chain": OpenRouter first.
 */
static void resolve_chain(resolver *r, const setting_spec *spec)
{
    csp_settings *s = r->out;
    const char *candidates[4];
    size_t n = 0;
    s->provider_from_flag = override_of(r, "provider", NULL) != NULL;
    s->as_openclaw_command = s->local_is_self && !s->provider_from_flag &&
                             !strcmp(provider_id(s->provider), "tts-local-cli");
    candidates[n++] = provider_id(s->as_openclaw_command ? "openrouter" : s->provider);
    if (s->as_openclaw_command && s->timeout_ms > 4000)
        s->timeout_ms /= 4; /* three tries of the API and espeak-ng, inside OpenClaw's limit */
    if (!s->provider_from_flag && s->fallback) {
        for (size_t i = 0; i < 2; i++)
            if (strcmp(provider_ids[i], candidates[0]) && configured(r, provider_ids[i]))
                candidates[n++] = provider_ids[i];
        if (strcmp(candidates[0], "tts-local-cli"))
            candidates[n++] = "tts-local-cli";
    }
    char skipped[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = candidates[i], *why = NULL;
        const char *key = !strcmp(id, "openrouter") ? s->api_key
                          : !strcmp(id, "openai")   ? s->openai_api_key
                                                    : "local";
        if (!key && !s->provider_from_flag)
            why = "no key";
        else if (r->persona && r->policy == POLICY_FAIL && !persona_binds(r, id) &&
                 !s->provider_from_flag) /* --provider is asked for */
            why = "the persona does not bind it (fallbackPolicy fail)";
        if (why)
            used += (size_t)snprintf(skipped + used, sizeof skipped - used, "%s%s: %s",
                                     used ? "; " : "", id, why);
        else
            s->chain[s->chain_count++] = id;
        if (used >= sizeof skipped)
            used = sizeof skipped - 1;
    }
    snprintf(s->chain_note, sizeof s->chain_note, "%s", skipped);
    if (!s->chain_count) {
        /* not a broken config: `config` still shows why, and speaking fails then
           (csp__choose_provider) */
        s->chain_error = strstr(skipped, "no key") ? CSP_EKEY : CSP_ECONFIG;
        show(r, spec->info.name, "(none: nothing can speak)",
             need(r, csp__printf("left out: %s", skipped)));
        return;
    }
    csp_buf value;
    csp__buf_init(&value, 4096);
    int nomem = 0;
    for (size_t i = 0; i < s->chain_count; i++)
        nomem |= csp__buf_appendf(&value, "%s%s", i ? " > " : "", s->chain[i]) < 0;
    const csp_setting *fallback = csp__settings_find(s, "fallback");
    char *source = need(r, csp__printf("%s%s%s%s", s->provider_from_flag ? "--provider: no fallback"
                                                   : !s->fallback && fallback && fallback->source[0] == '-'
                                                       ? "--no-fallback"
                                                   : !s->fallback ? "tts.fallback is false: no fallback"
                                                                  : "the chosen provider, the others configured, the local engine last",
                                       used ? " (left out: " : "", skipped, used ? ")" : ""));
    if (value.data && !nomem) {
        show(r, spec->info.name, value.data, source);
    } else {
        csp__free(source);
        if (r->rc == CSP_OK)
            r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
    }
    csp__buf_free(&value);
    if (r->rc == CSP_OK && strcmp(s->chain[0], candidates[0]) != 0) {
        if (!strcmp(candidates[0], "openrouter") && !s->api_key)
            show_first_of_chain(r, "no OpenRouter key found (tts.providers.openrouter.apiKey, "
                                   "models.providers.openrouter.apiKey, OPENROUTER_API_KEY)");
        else
            show_first_of_chain(r, skipped);
    }
}

static void resolve_tts_key(resolver *r, const setting_spec *spec)
{
    static const char *const paths[] = {"tts.providers.openrouter.apiKey",
                                        "messages.tts.providers.openrouter.apiKey",
                                        "models.providers.openrouter.apiKey"};
    resolve_key_from(r, spec->info.name, paths, 3, "OPENROUTER_API_KEY", &r->out->api_key,
                     &r->out->api_key_source, 1);
}

static void resolve_chat_key(resolver *r, const setting_spec *spec)
{
    static const char *const paths[] = {"models.providers.openrouter.apiKey"};
    resolve_key_from(r, spec->info.name, paths, 1, "OPENROUTER_API_KEY", &r->out->chat_api_key,
                     NULL, 1);
}

/* OpenClaw's openai provider key: known so that it is masked wherever it could show. */
static void resolve_openai_key(resolver *r, const setting_spec *spec)
{
    static const char *const paths[] = {"tts.providers.openai.apiKey",
                                        "messages.tts.providers.openai.apiKey"};
    resolve_key_from(r, spec->info.name, paths, 2, "OPENAI_API_KEY", &r->out->openai_api_key,
                     NULL, 1);
}

static void resolve_base_url(resolver *r, const char *name, const char *const *paths,
                             size_t count, const char *owner, const char *fallback, char **slot)
{
    char *source = NULL;
    const char *typed = NULL;
    const char *v = owner && strcmp(owner, primary(r)) ? NULL : override_of(r, "base_url", &typed);
    if (v)
        source = flag_source(r, "base_url", typed);
    else if (!(v = first_string(r, paths, count, &source)))
        v = fallback;
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

static void resolve_tts_base_url(resolver *r, const setting_spec *spec)
{
    static const char *const paths[] = {"tts.providers.openrouter.baseUrl",
                                        "messages.tts.providers.openrouter.baseUrl",
                                        "models.providers.openrouter.baseUrl"};
    resolve_base_url(r, spec->info.name, paths, 3, "openrouter", CSP_DEFAULT_BASE_URL,
                     &r->out->base_url);
    if (r->rc == CSP_OK)
        r->out->base_is_openrouter = strcmp(r->out->base_url, CSP_DEFAULT_BASE_URL) == 0;
}

static void resolve_chat_base_url(resolver *r, const setting_spec *spec)
{
    static const char *const paths[] = {"models.providers.openrouter.baseUrl"};
    resolve_base_url(r, spec->info.name, paths, 1, NULL, CSP_DEFAULT_BASE_URL,
                     &r->out->chat_base_url);
    if (r->rc == CSP_OK)
        r->out->chat_base_is_openrouter = strcmp(r->out->chat_base_url, CSP_DEFAULT_BASE_URL) == 0;
}

static void resolve_openai_base_url(resolver *r, const setting_spec *spec)
{
    char with_persona[2][160];
    snprintf(with_persona[0], sizeof with_persona[0], "tts.personas.%s.providers.openai.baseUrl",
             r->out->persona ? r->out->persona : "");
    snprintf(with_persona[1], sizeof with_persona[1], "messages.tts.personas.%s.providers.openai.baseUrl",
             r->out->persona ? r->out->persona : "");
    const char *paths[] = {with_persona[0], with_persona[1], "tts.providers.openai.baseUrl",
                           "messages.tts.providers.openai.baseUrl"};
    resolve_base_url(r, spec->info.name, r->out->persona ? paths : paths + 2,
                     r->out->persona ? 4 : 2, "openai", spec->info.fallback,
                     &r->out->openai_base_url);
}

static void resolve_routing(resolver *r, const setting_spec *spec)
{
    char keypath[256];
    const cJSON *item = tts_field(r, spec->paths[0], keypath, sizeof keypath);
    if (!item) {
        show(r, spec->info.name, "(not set)", NULL);
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
    show(r, spec->info.name, r->out->routing_json, config_source(r, keypath));
}

/* The chat model: a ref from the root of the config, mapped to the id sent. */
static void resolve_chat_model(resolver *r, const setting_spec *spec)
{
    static const char *const paths[] = {"agents.defaults.model.primary"};
    char *source = NULL;
    const char *typed = NULL, *chat = override_of(r, spec->info.name, &typed);
    if (chat && (source = flag_source(r, "model", typed)) != NULL && blank(chat)) {
        r->rc = csp__fail(r->report, CSP_EUSAGE, "%s: the value is empty", source);
        csp__free(source);
        return;
    }
    if (!chat && !(chat = first_string(r, paths, 1, &source)))
        chat = spec->info.fallback;
    if (r->rc != CSP_OK || set_copy(r, &r->out->chat_model, chat) != 0) {
        csp__free(source);
        return;
    }
    r->out->chat_model_id = csp__chat_model_id(chat);
    /* NULL is "not an OpenRouter ref" only when the ref has no model after the prefix */
    if (!r->out->chat_model_id && strncmp(chat, "openrouter/", 11) == 0 && chat[11])
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
    show(r, spec->info.name, chat, source);
}

/*
 * A command string with arguments ("clawspeak say -q", as OpenClaw allows): split at spaces
 * (single or double quotes keep a word whole) unless the whole string names a program. The
 * words after the first go in front of args. Returns the count of words moved, -1 on OOM.
 */
static int split_command(resolver *r, char ***words)
{
    char *command = r->out->local_command;
    *words = NULL;
    if (!strpbrk(command, " \t") || access(command, X_OK) == 0)
        return 0;
    size_t len = strlen(command);
    char **out = csp__calloc(len + 1, sizeof *out), *word = csp__malloc(len + 1);
    int count = 0;
    if (!out || !word)
        goto nomem;
    for (const char *p = command; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t used = 0;
        char quote = 0;
        for (; *p && (quote || (*p != ' ' && *p != '\t')); p++) {
            if (!quote && (*p == '"' || *p == '\''))
                quote = *p;
            else if (quote && *p == quote)
                quote = 0;
            else
                word[used++] = *p;
        }
        word[used] = '\0';
        if (!(out[count++] = csp__strdup(word)))
            goto nomem;
    }
    csp__free(word);
    if (count < 2) { /* only spaces around one word */
        csp__free(r->out->local_command);
        r->out->local_command = count ? out[0] : csp__strdup(command);
        csp__free(out);
        return r->out->local_command ? 0 : -1;
    }
    csp__free(r->out->local_command);
    r->out->local_command = out[0];
    memmove(out, out + 1, (size_t)(count - 1) * sizeof *out);
    out[count - 1] = NULL;
    *words = out;
    return count - 1;
nomem:
    for (int i = 0; out && i < count; i++)
        csp__free(out[i]);
    csp__free(out);
    csp__free(word);
    return -1;
}

/* The local engine's argument list: the built-in espeak-ng one or the config's. */
static void resolve_local_args(resolver *r, const setting_spec *spec)
{
    char **leading = NULL;
    int lead = split_command(r, &leading);
    if (lead < 0) {
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return;
    }
    /* the text goes on standard input: never parsed as options, never on a command line */
    static const char *const default_args[] = {"--stdout", "--stdin"}; /* audio as it is made */
    char keypath[256];
    const cJSON *args = tts_field(r, spec->paths[0], keypath, sizeof keypath);
    if (!args) /* OpenClaw's alias of the provider: tts.providers.cli */
        args = tts_field(r, "providers.cli.args", keypath, sizeof keypath);
    if (lead)
        reshow(r, "local_command", r->out->local_command, "the first word of the configured command");
    /* OpenClaw running clawspeak as its tts-local-cli: the built-in espeak-ng stands in
       rather than clawspeak running itself; a nested clawspeak (CLAWSPEAK_DEPTH) runs only it */
    int self = csp__command_is_self(r->out->local_command);
    if (self || (csp__nested() && (args || strcmp(r->out->local_command, "espeak-ng")))) {
        r->out->local_is_self = 1;
        args = NULL;
        csp__free(r->out->local_command);
        if (set_copy(r, &r->out->local_command, "espeak-ng") != 0)
            goto out;
        reshow(r, "local_command", "espeak-ng",
               self ? "built in: the configured command is clawspeak itself"
                    : "built in: clawspeak runs as another clawspeak's command here");
        if (r->rc != CSP_OK)
            goto out;
    }
    if (r->out->local_is_self)
        lead = 0; /* the built-in espeak-ng: none of the configured words */
    char *source = NULL;
    size_t count = lead ? (size_t)lead : 2;
    r->out->local_args_default = args == NULL && !lead;
    if (args) {
        if (!cJSON_IsArray(args)) {
            type_error(r, keypath, args, "an array of strings");
            goto out;
        }
        count = (size_t)lead + (size_t)cJSON_GetArraySize(args);
        source = config_source(r, keypath);
    }
    r->out->local_args = csp__calloc(count + 1, sizeof(char *));
    csp_buf shown;
    csp__buf_init(&shown, 1 << 16);
    if (!r->out->local_args)
        goto nomem;
    for (size_t i = 0; i < count; i++) {
        const char *v = i < (size_t)lead ? leading[i] : default_args[i < 2 ? i : 0];
        if (args && i >= (size_t)lead) {
            const cJSON *a = cJSON_GetArrayItem(args, (int)(i - (size_t)lead));
            if (!cJSON_IsString(a)) {
                char where[300];
                snprintf(where, sizeof where, "%s[%zu]", keypath, i - (size_t)lead);
                type_error(r, where, a, "a string");
                goto done;
            }
            v = a->valuestring;
        }
        if (!(r->out->local_args[i] = csp__strdup(v)))
            goto nomem;
        r->out->local_argc = i + 1;
        if (csp__buf_appendf(&shown, "%s%s", i ? " " : "", v) < 0)
            goto nomem;
    }
    show(r, spec->info.name, shown.data ? shown.data : "", source);
    source = NULL;
    goto done;
nomem:
    r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
done:
    csp__free(source);
    csp__buf_free(&shown);
out:
    for (int i = 0; leading && leading[i]; i++)
        csp__free(leading[i]);
    csp__free(leading);
}

/* --- speech to text: tools.media (OpenClaw's media understanding) --------- */

/* Does a tools.media entry claim audio? OpenClaw's entries declare capabilities; one
   without "audio" is no transcriber. (Entries under clawspeak 0.2's tools.media.audio.models
   always did.) */
static int entry_hears_audio(const cJSON *entry, int audio_list)
{
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(entry, "capabilities");
    if (audio_list)
        return 1;
    const cJSON *c;
    cJSON_ArrayForEach(c, caps)
        if (cJSON_IsString(c) && !strcmp(c->valuestring, "audio"))
            return 1;
    return 0;
}

/* The lists of entries, in the order they are tried: tools.media.audio.models first. */
static const char *const stt_lists[] = {"tools.media.audio.models", "tools.media.models"};

static int entry_is_openrouter(const cJSON *entry)
{
    const cJSON *provider = cJSON_GetObjectItemCaseSensitive(entry, "provider");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(entry, "type");
    return cJSON_IsString(provider) && !strcmp(provider->valuestring, "openrouter") &&
           !(cJSON_IsString(type) && !strcmp(type->valuestring, "cli"));
}

/* The model: --model, else the first OpenRouter audio entry's, else the default. */
static void resolve_stt_model(resolver *r, const setting_spec *spec)
{
    char *source = NULL;
    const char *v = flag_value(r, spec->info.name, "model", &source);
    for (size_t l = 0; !v && r->rc == CSP_OK && l < 2; l++) {
        const cJSON *list = csp__json_at(r->cfg->root, stt_lists[l]);
        for (int i = 0; !v && cJSON_IsArray(list) && i < cJSON_GetArraySize(list); i++) {
            const cJSON *entry = cJSON_GetArrayItem(list, i);
            if (!cJSON_IsObject(entry) || !entry_is_openrouter(entry) || !entry_hears_audio(entry, l == 0))
                continue;
            char keypath[128];
            snprintf(keypath, sizeof keypath, "%s[%d].model", stt_lists[l], i);
            if ((v = usable_string(r, cJSON_GetObjectItemCaseSensitive(entry, "model"), keypath)))
                source = config_source(r, keypath);
        }
    }
    if (!v)
        v = spec->info.fallback;
    if (r->rc == CSP_OK && set_copy(r, &r->out->stt_model, v) == 0)
        show(r, spec->info.name, v, source);
    else
        csp__free(source);
}

static csp_stt_entry *add_stt_entry(resolver *r, const char *where)
{
    csp_settings *s = r->out;
    csp_stt_entry *grown = csp__realloc(s->stt_entries, (s->stt_entry_count + 1) * sizeof *grown);
    if (!grown) {
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return NULL;
    }
    s->stt_entries = grown;
    csp_stt_entry *e = &grown[s->stt_entry_count];
    memset(e, 0, sizeof *e);
    if (!(e->where = csp__strdup(where))) {
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return NULL;
    }
    s->stt_entry_count++;
    return e;
}

/* A CLI entry: command, args (strings), timeoutSeconds (default 60). */
static void read_cli_entry(resolver *r, const cJSON *entry, const char *where)
{
    char keypath[160];
    snprintf(keypath, sizeof keypath, "%s.command", where);
    const char *command = usable_string(r, cJSON_GetObjectItemCaseSensitive(entry, "command"), keypath);
    if (r->rc != CSP_OK)
        return;
    if (!command) {
        r->rc = csp__fail(r->report, CSP_ECONFIG, "%s: %s: a CLI entry needs a command",
                          r->cfg->path, where);
        return;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(entry, "args");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(entry, "timeoutSeconds");
    snprintf(keypath, sizeof keypath, "%s.args", where);
    if (args && !cJSON_IsArray(args)) {
        type_error(r, keypath, args, "an array of strings");
        return;
    }
    snprintf(keypath, sizeof keypath, "%s.timeoutSeconds", where);
    if (timeout && (!cJSON_IsNumber(timeout) || timeout->valuedouble < 1 ||
                    timeout->valuedouble > 86400)) {
        if (r->rc == CSP_OK)
            r->rc = csp__fail(r->report, CSP_ECONFIG, "%s: %s must be a number of seconds "
                              "from 1 to 86400", r->cfg->path, keypath);
        return;
    }
    csp_stt_entry *e = add_stt_entry(r, where);
    if (!e)
        return;
    e->is_cli = 1;
    e->timeout_s = timeout ? (long)timeout->valuedouble : 60;
    /* {{Prompt}}, {{MaxChars}}, {{Language}}: the entry's own, else tools.media.audio's */
    static const char *const keys[] = {"prompt", "maxChars", "language"};
    char **slots[] = {&e->prompt, &e->max_chars, &e->language};
    for (size_t k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, keys[k]);
        if (!v) {
            snprintf(keypath, sizeof keypath, "tools.media.audio.%s", keys[k]);
            v = csp__json_at(r->cfg->root, keypath);
        }
        if (cJSON_IsString(v) && !blank(v->valuestring))
            *slots[k] = csp__strdup(v->valuestring);
        else if (cJSON_IsNumber(v))
            *slots[k] = csp__printf("%.0f", v->valuedouble);
        else
            continue;
        if (!*slots[k]) {
            r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
            return;
        }
    }
    size_t count = args ? (size_t)cJSON_GetArraySize(args) : 0;
    if (!(e->command = csp__strdup(command)) || !(e->args = csp__calloc(count + 1, sizeof *e->args))) {
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const cJSON *a = cJSON_GetArrayItem(args, (int)i);
        if (!cJSON_IsString(a)) {
            snprintf(keypath, sizeof keypath, "%s.args[%zu]", where, i);
            type_error(r, keypath, a, "a string");
            return;
        }
        if (!(e->args[i] = csp__strdup(a->valuestring))) {
            r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
            return;
        }
        e->argc = i + 1;
    }
}

/* Does an entry match tools.media.audio.preferredModel (provider/model, a model id,
   provider:<id> or cli:command)? */
static int entry_preferred(const csp_stt_entry *e, const char *want)
{
    if (e->is_cli) {
        const char *base = strrchr(e->command, '/') ? strrchr(e->command, '/') + 1 : e->command;
        return !strncmp(want, "cli:", 4) && (!strcmp(want + 4, e->command) || !strcmp(want + 4, base));
    }
    if (!strcmp(want, "provider:openrouter"))
        return 1;
    if (!strncmp(want, "openrouter/", 11) && !strcmp(want + 11, e->model))
        return 1;
    return !strcmp(want, e->model);
}

/* OpenClaw moves the entries matching tools.media.audio.preferredModel to the front. */
static void prefer_entries(resolver *r)
{
    const cJSON *want = csp__json_at(r->cfg->root, "tools.media.audio.preferredModel");
    csp_settings *s = r->out;
    if (!cJSON_IsString(want) || blank(want->valuestring))
        return;
    size_t front = 0;
    for (size_t i = 0; i < s->stt_entry_count; i++)
        if (entry_preferred(&s->stt_entries[i], want->valuestring)) {
            csp_stt_entry moved = s->stt_entries[i];
            memmove(s->stt_entries + front + 1, s->stt_entries + front, (i - front) * sizeof moved);
            s->stt_entries[front++] = moved;
        }
}

/*
 * The entries transcribe tries, in config order: OpenRouter entries (with
 * the model resolved above when --model is given) and CLI entries. Entries
 * of providers clawspeak does not speak are left out with a notice. No
 * entry at all: OpenRouter with the default model. --model with no
 * OpenRouter entry puts one first.
 */
static void resolve_stt_entries(resolver *r, const setting_spec *spec)
{
    csp_settings *s = r->out;
    int model_flag = override_of(r, "stt_model", NULL) != NULL, api_seen = 0, any = 0;
    for (size_t l = 0; r->rc == CSP_OK && l < 2; l++) {
        const cJSON *list = csp__json_at(r->cfg->root, stt_lists[l]);
        if (list && !cJSON_IsArray(list)) {
            type_error(r, stt_lists[l], list, "an array of entries");
            return;
        }
        if (list && l == 0)
            csp__log(r->report, CSP_LOG_WARN, "%s: tools.media.audio.models is read, but OpenClaw "
                     "2026.9 rejects that key and then runs no command at all: move its entries to "
                     "tools.media.models, each with capabilities: [\"audio\"]", r->cfg->path);
        for (int i = 0; r->rc == CSP_OK && list && i < cJSON_GetArraySize(list); i++) {
            const cJSON *entry = cJSON_GetArrayItem(list, i);
            char where[96];
            snprintf(where, sizeof where, "%s[%d]", stt_lists[l], i);
            if (!cJSON_IsObject(entry)) {
                type_error(r, where, entry, "an object");
                return;
            }
            if (!entry_hears_audio(entry, l == 0)) {
                if (!cJSON_GetObjectItemCaseSensitive(entry, "capabilities"))
                    csp__log(r->report, CSP_LOG_WARN, "%s: %s declares no capabilities; as in "
                             "OpenClaw it transcribes nothing (add capabilities: [\"audio\"])",
                             r->cfg->path, where);
                continue;
            }
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(entry, "type");
            const cJSON *command = cJSON_GetObjectItemCaseSensitive(entry, "command");
            if (cJSON_IsString(type) && !strcmp(type->valuestring, "cli") && cJSON_IsString(command) &&
                (csp__command_is_self(command->valuestring) || csp__nested())) {
                /* OpenClaw running clawspeak as its transcriber: our own entry, never run */
                csp__log(r->report, CSP_LOG_WARN, "%s: %s left out: %s", r->cfg->path, where,
                         csp__nested() ? "clawspeak runs as another clawspeak's command here "
                                         "(CLAWSPEAK_DEPTH), so it runs no command"
                                       : "its command is clawspeak itself");
            } else if (cJSON_IsString(type) && !strcmp(type->valuestring, "cli")) {
                read_cli_entry(r, entry, where);
                any = 1;
            } else if (entry_is_openrouter(entry)) {
                any = 1;
                const cJSON *m = cJSON_GetObjectItemCaseSensitive(entry, "model");
                const char *model = !model_flag && cJSON_IsString(m) && !blank(m->valuestring)
                                        ? m->valuestring : s->stt_model;
                csp_stt_entry *e = add_stt_entry(r, where);
                if (e && !(e->model = csp__strdup(model)))
                    r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
                api_seen = 1;
            } else {
                csp__log(r->report, CSP_LOG_INFO, "%s: %s: only OpenRouter and CLI entries are "
                         "used here; left out", r->cfg->path, where);
            }
        }
    }
    /* with nothing else left (our own entry skipped), OpenRouter with the default model */
    if (r->rc == CSP_OK)
        prefer_entries(r);
    if (r->rc == CSP_OK && (!any || (model_flag && !api_seen))) {
        csp_stt_entry *e = add_stt_entry(r, "default");
        if (e && !(e->model = csp__strdup(s->stt_model)))
            r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
        /* --model with only CLI entries configured: the API is tried first */
        if (e && any && s->stt_entry_count > 1) {
            csp_stt_entry first = *e;
            memmove(s->stt_entries + 1, s->stt_entries, (s->stt_entry_count - 1) * sizeof first);
            s->stt_entries[0] = first;
        }
    }
    if (r->rc != CSP_OK)
        return;
    csp_buf value;
    csp__buf_init(&value, 4096);
    int nomem = 0;
    for (size_t i = 0; i < s->stt_entry_count; i++) {
        const csp_stt_entry *e = &s->stt_entries[i];
        nomem |= csp__buf_appendf(&value, "%s%s%s", i ? " > " : "", e->is_cli ? "cli:" : "openrouter:",
                                  e->is_cli ? e->command : e->model) < 0;
    }
    if (!nomem && value.data)
        show(r, spec->info.name, value.data,
             need(r, csp__strdup(any ? "tools.media (config order)" : "default")));
    else
        r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
    csp__buf_free(&value);
}

void csp__stt_entries_free(csp_settings *s)
{
    for (size_t i = 0; i < s->stt_entry_count; i++) {
        csp_stt_entry *e = &s->stt_entries[i];
        csp__free(e->model);
        csp__free(e->command);
        csp__free(e->prompt);
        csp__free(e->max_chars);
        csp__free(e->language);
        for (size_t k = 0; e->args && k < e->argc; k++)
            csp__free(e->args[k]);
        csp__free(e->args);
        csp__free(e->where);
    }
    csp__free(s->stt_entries);
    s->stt_entries = NULL;
    s->stt_entry_count = 0;
}

enum { SPEECH = CSP_FOR_SPEECH, CHAT = CSP_FOR_CHAT, STT = CSP_FOR_TRANSCRIBE, ANY = CSP_FOR_SPEECH | CSP_FOR_CHAT | CSP_FOR_LISTING | CSP_FOR_TRANSCRIBE };

/* Every setting, in the order `config` shows them. */
static const setting_spec specs[] = {
    /* first: a persona's bindings change the provider and its settings below */
    {{"persona", CSP_SETTING_TEXT, "tts.persona", "persona", 0, "NAME",
      "speak as this persona of tts.personas (id or label)", NULL, 0, 0, NULL, SPEECH},
     {"persona"}, FIELD(persona), resolve_persona, "persona", NULL, NULL},
    {{"provider", CSP_SETTING_CHOICE, "tts.provider", "provider", 0, "NAME",
      "speech provider (local: espeak-ng, offline); naming one turns fallback off", "openrouter",
      0, 0, "openrouter openai local tts-local-cli cli", SPEECH},
     {"provider"}, FIELD(provider), resolve_provider, "provider", NULL, NULL},
    {{"model", CSP_SETTING_TEXT, "tts.providers.openrouter.model", "model", 0, "ID",
      "speech model (say), chat model ref (ask) or transcription model (transcribe)", CSP_DEFAULT_MODEL,
      0, 0, NULL, SPEECH | CHAT | STT},
     {"providers.openrouter.model", "providers.openrouter.modelId"}, FIELD(model), resolve_text, NULL, "openrouter", "model"},
    {{"voice", CSP_SETTING_TEXT, "tts.providers.openrouter.voice", "voice", 'v', "NAME",
      "voice; '?' lists the voices", CSP_DEFAULT_VOICE, 0, 0, NULL, SPEECH},
     {"providers.openrouter.speakerVoice", "providers.openrouter.speakerVoiceId",
      "providers.openrouter.voice", "providers.openrouter.voiceId"},
     FIELD(voice), resolve_text, NULL, "openrouter", "voice"},
    {{"response_format", CSP_SETTING_CHOICE, "tts.providers.openrouter.responseFormat",
      "response-format", 0, "FMT", "audio requested from the API", "mp3", 0, 0, "mp3 pcm", SPEECH},
     {"providers.openrouter.responseFormat"}, FIELD(response_format), resolve_choice, NULL, NULL, NULL},
    {{"speed", CSP_SETTING_NUMBER, "tts.providers.openrouter.speed", "speed", 0, "X",
      "speaking speed, sent only when set", NULL, 0.25, 4.0, NULL, SPEECH},
     {"providers.openrouter.speed"}, FIELD(speed), resolve_speed, NULL, NULL, NULL},
    /* a day of silence is the longest sane timeout */
    {{"timeout_ms", CSP_SETTING_INTEGER, "tts.timeoutMs", "timeout-ms", 0, "MS",
      "timeout of each request", "30000", 1, 86400000, NULL, ANY},
     {"timeoutMs"}, FIELD(timeout_ms), resolve_plain_number, NULL, NULL, NULL},
    {{"max_text_length", CSP_SETTING_INTEGER, "tts.maxTextLength", "max-text-length", 0, "N",
      "at most N characters per speech request", "4096", 1, 1000000, NULL, SPEECH},
     {"maxTextLength"}, FIELD(max_text_length), resolve_plain_number, NULL, NULL, NULL},
    {{"auto", CSP_SETTING_CHOICE, "tts.auto", NULL, 0, NULL, "when ask speaks its reply", "off",
      0, 0, "off always inbound tagged", CHAT},
     {"auto"}, FIELD(auto_mode), resolve_choice, "auto", NULL, NULL},
    {{"base_url", CSP_SETTING_URL, "tts.providers.openrouter.baseUrl", "base-url", 0, "URL",
      "API base URL", CSP_DEFAULT_BASE_URL, 0, 0, NULL, ANY},
     {NULL}, FIELD(base_url), resolve_tts_base_url, NULL, NULL, NULL},
    {{"api_key", CSP_SETTING_SECRET, "tts.providers.openrouter.apiKey", NULL, 0, NULL,
      "the OpenRouter key for speech (shown masked)", NULL, 0, 0, NULL, ANY},
     {NULL}, FIELD(api_key), resolve_tts_key, NULL, NULL, NULL},
    {{"routing", CSP_SETTING_JSON, "tts.providers.openrouter.provider", NULL, 0, NULL,
      "OpenRouter provider routing for speech requests", NULL, 0, 0, NULL, SPEECH},
     {"providers.openrouter.provider"}, FIELD(routing_json), resolve_routing, NULL, NULL, NULL},
    {{"openai_base_url", CSP_SETTING_URL, "tts.providers.openai.baseUrl", NULL, 0, NULL,
      "API base URL of the openai provider", "https://api.openai.com/v1", 0, 0, NULL, SPEECH},
     {NULL}, FIELD(openai_base_url), resolve_openai_base_url, NULL, NULL, NULL},
    {{"openai_api_key", CSP_SETTING_SECRET, "tts.providers.openai.apiKey", NULL, 0, NULL,
      "the openai provider's key, then OPENAI_API_KEY (shown masked)", NULL, 0, 0, NULL, SPEECH},
     {NULL}, FIELD(openai_api_key), resolve_openai_key, NULL, NULL, NULL},
    {{"openai_model", CSP_SETTING_TEXT, "tts.providers.openai.model", NULL, 0, NULL,
      "speech model of the openai provider", "gpt-4o-mini-tts", 0, 0, NULL, SPEECH},
     {"providers.openai.model", "providers.openai.modelId"}, FIELD(openai_model), resolve_text, NULL, "openai", "model"},
    {{"openai_voice", CSP_SETTING_TEXT, "tts.providers.openai.voice", NULL, 0, NULL,
      "voice of the openai provider", "alloy", 0, 0, NULL, SPEECH},
     {"providers.openai.speakerVoice", "providers.openai.voice", "providers.openai.voiceId"},
     FIELD(openai_voice), resolve_text, NULL, "openai", "voice"},
    {{"openai_speed", CSP_SETTING_NUMBER, "tts.providers.openai.speed", NULL, 0, NULL,
      "speaking speed of the openai provider, sent only when set", NULL, 0.25, 4.0, NULL, SPEECH},
     {"providers.openai.speed"}, FIELD(openai_speed), resolve_openai_speed, NULL, "openai", "speed"},
    {{"openai_instructions", CSP_SETTING_TEXT, "tts.providers.openai.instructions", NULL, 0, NULL,
      "how the openai provider should speak (gpt-4o-mini-tts)", NULL, 0, 0, NULL, SPEECH},
     {"providers.openai.instructions"}, FIELD(openai_instructions), resolve_text, NULL, NULL, NULL},
    {{"model_overrides", CSP_SETTING_BOOL, "tts.modelOverrides.enabled", NULL, 0, NULL,
      "replies may carry [[tts:...]] directives (false: stripped, never applied)", "true", 0, 0,
      NULL, CHAT},
     {"modelOverrides.enabled"}, FIELD(model_overrides), resolve_bool, NULL, NULL, NULL},
    {{"allow_provider", CSP_SETTING_BOOL, "tts.modelOverrides.allowProvider", NULL, 0, NULL,
      "a directive may switch the provider ([[tts:provider=...]])", "false", 0, 0, NULL, CHAT},
     {"modelOverrides.allowProvider"}, FIELD(allow_provider), resolve_bool, NULL, NULL, NULL},
    {{"fallback", CSP_SETTING_BOOL, "tts.fallback", NULL, 0, NULL,
      "when a provider fails, the next in the chain speaks (--no-fallback: off)", "true", 0, 0,
      NULL, SPEECH},
     {"fallback"}, FIELD(fallback), resolve_bool, NULL, NULL, NULL},
    {{"chat_model", CSP_SETTING_TEXT, "agents.defaults.model.primary", NULL, 0, NULL,
      "the agent's chat model ref (ask --model)", CSP_DEFAULT_CHAT_MODEL, 0, 0, NULL, CHAT},
     {NULL}, FIELD(chat_model), resolve_chat_model, NULL, NULL, NULL},
    {{"chat_base_url", CSP_SETTING_URL, "models.providers.openrouter.baseUrl", NULL, 0, NULL,
      "API base URL for chat", CSP_DEFAULT_BASE_URL, 0, 0, NULL, CHAT},
     {NULL}, FIELD(chat_base_url), resolve_chat_base_url, NULL, NULL, NULL},
    {{"chat_api_key", CSP_SETTING_SECRET, "models.providers.openrouter.apiKey", NULL, 0, NULL,
      "the OpenRouter key for chat (shown masked)", NULL, 0, 0, NULL, CHAT},
     {NULL}, FIELD(chat_api_key), resolve_chat_key, NULL, NULL, NULL},
    {{"local_command", CSP_SETTING_TEXT, "tts.providers.tts-local-cli.command", NULL, 0, NULL,
      "the local speech engine", "espeak-ng", 0, 0, NULL, SPEECH},
     {"providers.tts-local-cli.command", "providers.cli.command"}, FIELD(local_command), resolve_text, NULL, NULL, NULL},
    /* the local engine's own voice: the API's voices (af_alloy...) mean nothing to espeak-ng */
    {{"local_voice", CSP_SETTING_TEXT, "tts.providers.tts-local-cli.voice", NULL, 0, NULL,
      "the local engine's voice (unset: chosen from the text's script)", NULL, 0, 0, NULL, SPEECH},
     {"providers.tts-local-cli.voice"}, FIELD(local_voice), resolve_text, NULL, "tts-local-cli", "voice"},
    {{"local_args", CSP_SETTING_COMMAND, "tts.providers.tts-local-cli.args", NULL, 0, NULL,
      "the local engine's arguments", "--stdout --stdin", 0, 0, NULL, SPEECH},
     {"providers.tts-local-cli.args"}, FIELD(local_args), resolve_local_args, NULL, NULL, NULL},
    /* speech to text (transcribe): tools.media, read as OpenClaw reads it */
    {{"stt_model", CSP_SETTING_TEXT, "tools.media.audio.models", NULL, 0, NULL,
      "transcription model of OpenRouter entries (transcribe --model)", CSP_DEFAULT_STT_MODEL, 0, 0,
      NULL, STT},
     {NULL}, FIELD(stt_model), resolve_stt_model, NULL, NULL, NULL},
    {{"stt_max_bytes", CSP_SETTING_INTEGER, "tools.media.audio.maxBytes", NULL, 0, NULL,
      "audio longer than this many bytes (16-bit, 16 kHz) is sent in pieces", "20000000", 64000,
      1e10, NULL, STT},
     {NULL}, FIELD(stt_max_bytes), resolve_plain_number, NULL, NULL, NULL},
    {{"stt_piece_seconds", CSP_SETTING_INTEGER, NULL, "piece-seconds", 0, "S",
      "cut audio longer than this into pieces at silences", "120", 5, 3600, NULL, STT},
     {NULL}, FIELD(stt_piece_seconds), resolve_plain_number, NULL, NULL, NULL},
    {{"stt_entries", CSP_SETTING_TEXT, "tools.media.models", NULL, 0, NULL,
      "what transcribe tries, in order (OpenRouter models and CLI commands)", NULL, 0, 0, NULL, STT},
     {NULL}, 0, resolve_stt_entries, NULL, NULL, NULL},
    /* last: it needs every key and the local command */
    {{"chain", CSP_SETTING_TEXT, "tts.provider", NULL, 0, NULL,
      "the providers tried in order when one fails", NULL, 0, 0, NULL, SPEECH},
     {NULL}, FIELD(chain), resolve_chain, NULL, NULL, NULL},
};
#define SPEC_COUNT (sizeof specs / sizeof specs[0])

const csp_setting_info *csp_setting_info_at(size_t index)
{
    return index < SPEC_COUNT ? &specs[index].info : NULL;
}

const csp_setting_info *csp_setting_info_find(const char *name)
{
    for (size_t i = 0; i < SPEC_COUNT; i++)
        if (strcmp(specs[i].info.name, name) == 0)
            return &specs[i].info;
    return NULL;
}

int csp__setting_overridable(const char *name)
{
    const csp_setting_info *info = csp_setting_info_find(name);
    return info && info->type != CSP_SETTING_SECRET && info->type != CSP_SETTING_JSON &&
           info->type != CSP_SETTING_COMMAND;
}

void csp__settings_secrets(const csp_settings *s, csp_secrets *out)
{
    memset(out, 0, sizeof *out);
    out->keys[0] = s->api_key;
    out->keys[1] = s->chat_api_key;
    out->keys[2] = s->openai_api_key;
    for (size_t i = 0; i < 3; i++)
        out->keys[3 + i] = s->url_secrets[i];
}

/* "https://user:password@host/..." -> "password" (the whole userinfo when it has no ':'):
   a front's credentials are a secret like a key, in every URL we print. NULL: none. */
static char *userinfo_secret(const char *url)
{
    const char *start = url ? strstr(url, "://") : NULL;
    if (!start)
        return NULL;
    start += 3;
    size_t authority = strcspn(start, "/?#");
    const char *at = NULL; /* the last '@': a password may hold one */
    for (size_t i = 0; i < authority; i++)
        if (start[i] == '@')
            at = start + i;
    if (!at)
        return NULL;
    const char *colon = memchr(start, ':', (size_t)(at - start));
    const char *secret = colon ? colon + 1 : start;
    return at > secret ? csp__strndup(secret, (size_t)(at - secret)) : NULL;
}

static void note_url_secrets(csp_settings *s)
{
    const char *urls[3] = {s->base_url, s->chat_base_url, s->openai_base_url};
    for (size_t i = 0; i < 3; i++)
        if (!s->url_secrets[i])
            s->url_secrets[i] = userinfo_secret(urls[i]);
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
        /* a source names config keys, which hold what the file holds (escapes too) */
        size = strlen(slot->source) * 2 + CSP_REDACTED_MAX;
        if (!(clean = csp__malloc(size))) {
            r->rc = csp__fail(r->report, CSP_ENOMEM, "out of memory");
            return;
        }
        csp__redact_text(slot->source, strlen(slot->source), &secrets, 0, clean, size);
        csp__free(slot->source);
        slot->source = clean;
    }
}

/* Keys people put at the top of the tts block that OpenClaw reads per provider. */
static void warn_misplaced(resolver *r)
{
    static const char *const keys[] = {"speed", "voice", "model", "apiKey", "baseUrl",
                                       "responseFormat"};
    static const char *const roots[] = {"tts", "messages.tts"};
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            char path[64];
            snprintf(path, sizeof path, "%s.%s", roots[i], keys[k]);
            if (csp__json_at(r->cfg->root, path))
                csp__log(r->report, CSP_LOG_WARN, "%s: %s is not read: it belongs to a provider, "
                         "as %s.providers.%s.%s", r->cfg->path, path, roots[i],
                         primary(r), keys[k]);
        }
}

csp_code csp__settings_resolve(csp_report *report, const csp_overrides *overrides,
                               const csp_config *cfg, csp_settings *out)
{
    resolver r = {report, overrides, cfg, out, CSP_OK, NULL, NULL, POLICY_PRESERVE};
    memset(out, 0, sizeof *out);
    out->config_path = csp__strdup(cfg->path);
    out->config_exists = cfg->exists;
    if (!out->config_path)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    show(&r, "config", cfg->path,
         need(&r, csp__printf("%s%s", cfg->path_source, cfg->exists ? "" : " (file missing: defaults)")));
    for (size_t i = 0; i < SPEC_COUNT && r.rc == CSP_OK; i++) {
        specs[i].resolve(&r, &specs[i]);
        note_url_secrets(out);
        /* each key is masked in every message from the moment it is known */
        csp__settings_secrets(out, &report->secrets);
    }
    /* OpenClaw's default is silence; clawspeak's ask speaks until tts.auto is set
       (commands.c): say so where `config` shows it, or "off" reads as a silent ask */
    const csp_setting *auto_mode = csp__settings_find(out, "auto");
    if (r.rc == CSP_OK && auto_mode && !strcmp(auto_mode->source, "default"))
        reshow(&r, "auto", auto_mode->value, "default: OpenClaw's; `clawspeak ask` speaks "
                                             "until tts.auto is set");
    if (r.rc == CSP_OK)
        warn_misplaced(&r);
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
    for (size_t i = 0; i < 3; i++)
        csp__free_secret(s->url_secrets[i]);
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
    csp__free(s->persona);
    csp__free(s->openai_base_url);
    csp__free(s->openai_model);
    csp__free(s->openai_voice);
    csp__free(s->openai_instructions);
    for (size_t i = 0; i < s->local_argc; i++)
        csp__free(s->local_args[i]);
    csp__free(s->local_args);
    csp__free(s->stt_model);
    csp__stt_entries_free(s);
    memset(s, 0, sizeof *s);
}
