/* SPDX-License-Identifier: MIT */
/*
 * client.c: the csp_client handle: overrides, loading the config and
 * resolving settings, reading them back, and the small shared helpers of
 * the public API (strerror, version, free).
 */
#include "client.h"

#include "alloc.h"
#include "config.h"
#include "http.h"
#include "load_order.h"
#include "sink.h"
#include "utf8.h"

#include <stdatomic.h>
#include <string.h>

static const char *const code_texts[] = {
#define CSP_CODE_TEXT(name, text) text,
    CSP_CODE_MAP(CSP_CODE_TEXT)
#undef CSP_CODE_TEXT
};

const char *csp_strerror(csp_code code)
{
    if ((int)code < 0 || code >= CSP_CODE_COUNT)
        return "unknown error";
    return code_texts[code];
}

const char *csp_version(void) { return CSP_VERSION_STRING; }

void csp_free(void *ptr) { csp__free(ptr); }

static void *cjson_malloc(size_t size) { return csp__malloc(size); }
static void cjson_free(void *ptr) { csp__free(ptr); }

/* The report masks the settings' keys (settings.c hands them over as it resolves
 * them): it lets go of them before they are freed. */
static void drop_settings(csp_client *client)
{
    memset(&client->report.secrets, 0, sizeof client->report.secrets);
    csp__settings_free(&client->settings);
}

csp_client *csp_client_new(void)
{
    /* cJSON allocates through our wrapper too, so the countdown covers it */
    cJSON_Hooks hooks = {cjson_malloc, cjson_free};
    cJSON_InitHooks(&hooks);
    csp_client *client = csp__calloc(1, sizeof *client);
    if (client && !(client->pool = csp__http_pool_new())) {
        csp__free(client);
        client = NULL;
    }
    if (client) {
        client->report.log_max = CSP_LOG_WARN;
    }
    return client;
}

void csp_client_free(csp_client *client)
{
    if (!client)
        return;
    for (size_t i = 0; i < client->overrides.count; i++) {
        csp__free(client->overrides.items[i].name);
        csp__free(client->overrides.items[i].value);
        csp__free(client->overrides.items[i].typed);
    }
    drop_settings(client);
    csp__http_pool_free(client->pool); /* closes the connections kept */
    csp__free(client);
}

void csp_client_set_log(csp_client *client, csp_log_fn fn, csp_log_level max_level,
                        void *userdata)
{
    client->report.log_fn = fn;
    client->report.log_max = max_level;
    client->report.log_userdata = userdata;
}

csp_code csp_client_override_as(csp_client *client, const char *name, const char *value,
                                const char *typed)
{
    if (!csp__setting_overridable(name))
        return csp__fail(&client->report, CSP_EUSAGE, "unknown setting '%s'", name);
    /* one entry per name (the last wins anyway), so a resident program that changes its
       voice for every message never runs out of room; NULL takes it back */
    for (size_t i = 0; i < client->overrides.count; i++) {
        if (strcmp(client->overrides.items[i].name, name) != 0)
            continue;
        csp__free(client->overrides.items[i].name);
        csp__free(client->overrides.items[i].value);
        csp__free(client->overrides.items[i].typed);
        client->overrides.items[i] = client->overrides.items[--client->overrides.count];
        break;
    }
    if (!value)
        return CSP_OK;
    if (client->overrides.count >= CSP_MAX_OVERRIDES)
        return csp__fail(&client->report, CSP_EUSAGE, "too many overrides");
    /* values go into JSON bodies and headers: bytes that are not UTF-8 would make a body
       that is not JSON, and the server's unrelated 400 would hide why */
    size_t bad = value ? csp__utf8_validate(value, strlen(value)) : 0;
    if (value && bad < strlen(value))
        return csp__fail(&client->report, CSP_EUSAGE,
                         "%s: the value is not valid UTF-8 text (byte %zu); nothing was sent",
                         typed ? typed : name, bad + 1);
    char *n = csp__strdup(name), *v = csp__strdup(value);
    char *t = typed ? csp__strdup(typed) : NULL;
    if (!n || !v || (typed && !t)) {
        csp__free(n);
        csp__free(v);
        csp__free(t);
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    }
    client->overrides.items[client->overrides.count].name = n;
    client->overrides.items[client->overrides.count].value = v;
    client->overrides.items[client->overrides.count].typed = t;
    client->overrides.count++;
    return CSP_OK;
}

csp_code csp_client_override(csp_client *client, const char *name, const char *value)
{
    return csp_client_override_as(client, name, value, NULL);
}

csp_code csp_client_load(csp_client *client, const char *config_path)
{
    csp_config cfg;
    drop_settings(client);
    client->loaded = 0;
    client->report.error[0] = '\0';
    csp_code rc = csp__config_load(&client->report, config_path, &cfg);
    if (rc == CSP_OK)
        rc = csp__settings_resolve(&client->report, &client->overrides, &cfg, &client->settings);
    if (rc == CSP_OK) {
        client->loaded = 1;
        if (cfg.others_can_read && csp__config_holds_key(&cfg))
            csp__log(&client->report, CSP_LOG_WARN,
                     "%s holds an API key and other users can read it; run: chmod 600 %s",
                     cfg.path, cfg.path);
    } else {
        drop_settings(client);
    }
    csp__config_free(&cfg);
    if (rc == CSP_OK && csp__canceled(&client->report)) {
        /* a signal while a large config was read: stop here, not after the whole run */
        drop_settings(client);
        client->loaded = 0;
        rc = csp__fail(&client->report, CSP_ECANCELED, "interrupted");
    }
    return rc;
}

csp_code csp_list_devices(csp_client *client, char **out)
{
    return csp__sink_list_devices(&client->report, out);
}

const char *csp_client_error(const csp_client *client) { return client ? client->report.error : ""; }

void csp_client_cancel(csp_client *client)
{
    if (client)
        atomic_store(&client->report.canceled, 1);
}

void csp_client_clear_cancel(csp_client *client)
{
    if (client)
        atomic_store(&client->report.canceled, 0);
}

size_t csp_setting_count(const csp_client *client) { return client->settings.shown_count; }

csp_code csp_setting_at(const csp_client *client, size_t index, const char **name,
                        const char **value, const char **source)
{
    if (index >= client->settings.shown_count)
        return CSP_EUSAGE;
    const csp_setting *s = &client->settings.shown[index];
    *name = s->name;
    *value = s->value;
    *source = s->source;
    return CSP_OK;
}

const char *csp_setting_get(const csp_client *client, const char *name)
{
    const csp_setting *s = csp__settings_find(&client->settings, name);
    return s ? s->value : NULL;
}

void csp_warm_up(unsigned what, const char *device)
{
    int plays = !!(what & CSP_WARM_PLAYBACK), records = !!(what & CSP_WARM_MICROPHONE);
    /* before any thread: the device's thread waits for the request's start (load_order.h);
       a microphone's does not (the echo canceller's timing depends on the device) */
    static atomic_flag begun = ATOMIC_FLAG_INIT;
    if ((what & CSP_WARM_NETWORK) && !records && !atomic_flag_test_and_set(&begun))
        csp__load_first_begin();
    if (plays || records)
        csp_audio_warm_up_for(device, plays, records);
    if (what & CSP_WARM_NETWORK)
        csp_network_warm_up(); /* last: no thread starts while its dlopen runs */
}
