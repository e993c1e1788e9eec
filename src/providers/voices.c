/* SPDX-License-Identifier: MIT */
/*
 * voices.c: `clawspeak voices`: the speech models OpenRouter lists with
 * output_modalities=speech, and each one's supported_voices; and `clawspeak
 * models list`: the chat models (output_modalities=text) as refs.
 */
#include "alloc.h"
#include "client.h"
#include "http.h"
#include "local_tts.h"
#include "redact.h"
#include "speech.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line of the list: names come from the server, so escapes and keys are scrubbed. */
static int append_name(csp_buf *list, const char *indent, const char *name, const csp_settings *s)
{
    char clean[256];
    csp_secrets secrets;
    csp__settings_secrets(s, &secrets);
    csp__redact_text(name, strlen(name), &secrets, 0, clean, sizeof clean);
    return csp__buf_appendf(list, "%s%s\n", indent, clean);
}

/* The local engine's voices, offline: with --provider local, or with no key at all. */
static csp_code list_local_voices(csp_client *client, char **out)
{
    csp_buf list;
    csp__buf_init(&list, 1 << 20);
    csp_code rc = csp__local_voices(&client->settings, &client->report, &list);
    /* "  cmn  Chinese_(Mandarin,_latin_as_English)": espeak-ng's names join words with '_';
       the description (after the id and two spaces) reads better with spaces */
    for (size_t i = 0; rc == CSP_OK && i < list.len;) {
        char *line = list.data + i, *end = memchr(line, '\n', list.len - i);
        size_t n = end ? (size_t)(end - line) : list.len - i;
        char *gap = NULL;
        for (size_t k = 2; line[0] == ' ' && k + 1 < n && !gap; k++)
            if (line[k] == ' ' && line[k + 1] == ' ')
                gap = line + k;
        for (char *c = gap; c && c < line + n; c++)
            if (*c == '_')
                *c = ' ';
        i += n + 1;
    }
    if (rc == CSP_OK && !(*out = csp__buf_steal(&list)))
        rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    csp__buf_free(&list);
    return rc;
}

/* GET /models?output_modalities=KIND: *root holds a "data" array on success. */
static csp_code fetch_models(csp_client *client, const char *kind, cJSON **root)
{
    const csp_settings *s = &client->settings;
    char *url = csp__printf("%s/models?output_modalities=%s", s->base_url, kind);
    char *body = NULL;
    size_t len = 0;
    csp_http_result r;
    csp_code rc;
    *root = NULL;
    if (!url)
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    csp_http_request req = {.method = "GET", .url = url, .bearer = s->api_key,
                            .attribution = s->base_is_openrouter, .accept = "application/json",
                            .timeout_ms = s->timeout_ms};
    rc = csp__http_fetch(&client->report, &req, 16u << 20, &body, &len, &r);
    if (rc != CSP_OK) {
        if (!*csp_client_error(client))
            csp__fail(&client->report, rc, "%s", rc == CSP_ECANCELED ? "interrupted" : r.detail);
    } else if (r.outcome != CSP_HTTP_DONE) {
        rc = csp__fail(&client->report, csp__http_outcome_code(r.outcome), "%s", r.detail);
    } else if (r.status != 200) {
        char text[300];
        csp__api_error_text(s, body, len, text, sizeof text);
        rc = csp__fail(&client->report, csp__status_code(r.status), "HTTP %ld from %s: %s",
                       r.status, r.url, text);
    } else {
        *root = cJSON_ParseWithLength(body, len);
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*root, "data"))) {
            cJSON_Delete(*root);
            *root = NULL;
            rc = csp__fail(&client->report, CSP_EAPI, "%s did not return a model list", url);
        }
    }
    csp__free(body);
    csp__free(url);
    return rc;
}

csp_code csp_list_voices(csp_client *client, char **out)
{
    const csp_settings *s = &client->settings;
    *out = NULL;
    if (!client->loaded)
        return csp__fail(&client->report, CSP_EUSAGE, "csp_client_load() was not called");
    if (!strcmp(s->chain[0], "tts-local-cli"))
        return list_local_voices(client, out);
    cJSON *root;
    csp_code rc = fetch_models(client, "speech", &root);
    if (rc != CSP_OK)
        return rc;
    csp_buf list;
    csp__buf_init(&list, 1 << 20);
    const cJSON *model;
    cJSON_ArrayForEach(model, cJSON_GetObjectItemCaseSensitive(root, "data"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(model, "id");
        const cJSON *voices = cJSON_GetObjectItemCaseSensitive(model, "supported_voices");
        if (!cJSON_IsString(id))
            continue;
        if (append_name(&list, "", id->valuestring, s) < 0)
            goto nomem;
        const cJSON *voice;
        cJSON_ArrayForEach(voice, voices)
        {
            if (cJSON_IsString(voice) && append_name(&list, "  ", voice->valuestring, s) < 0)
                goto nomem;
        }
    }
    if ((*out = csp__buf_steal(&list)) != NULL)
        goto out;
nomem:
    rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
out:
    cJSON_Delete(root);
    csp__buf_free(&list);
    return rc;
}

csp_code csp_speech_price(csp_client *client, double *usd_per_char)
{
    *usd_per_char = -1;
    if (!client->loaded)
        return csp__fail(&client->report, CSP_EUSAGE, "csp_client_load() was not called");
    cJSON *root;
    csp_code rc = fetch_models(client, "speech", &root);
    if (rc != CSP_OK)
        return rc;
    const cJSON *model;
    cJSON_ArrayForEach(model, cJSON_GetObjectItemCaseSensitive(root, "data"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(model, "id");
        if (!cJSON_IsString(id) || strcmp(id->valuestring, client->settings.model) != 0)
            continue;
        /* OpenRouter gives prices as decimal strings, per unit of input */
        const cJSON *price = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(model, "pricing"), "prompt");
        char *end = NULL;
        double value = cJSON_IsString(price) ? strtod(price->valuestring, &end) : -1;
        if (end && !*end && value >= 0 && value < 1)
            *usd_per_char = value;
        break;
    }
    cJSON_Delete(root);
    return CSP_OK;
}

csp_code csp_list_models(csp_client *client, char **out)
{
    const csp_settings *s = &client->settings;
    *out = NULL;
    if (!client->loaded)
        return csp__fail(&client->report, CSP_EUSAGE, "csp_client_load() was not called");
    cJSON *root;
    csp_code rc = fetch_models(client, "text", &root);
    if (rc != CSP_OK)
        return rc;
    csp_buf list;
    csp__buf_init(&list, 4 << 20);
    /* agents.defaults.model.primary's model, as the ref names it */
    const char *in_use = s->chat_model && !strncmp(s->chat_model, "openrouter/", 11)
                             ? s->chat_model + 11 : "";
    const cJSON *model;
    cJSON_ArrayForEach(model, cJSON_GetObjectItemCaseSensitive(root, "data"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(model, "id");
        if (!cJSON_IsString(id))
            continue;
        /* refs as `models set` takes them: openrouter/<id> */
        char ref[300];
        snprintf(ref, sizeof ref, "openrouter/%s%s", id->valuestring,
                 !strcmp(id->valuestring, in_use) ? "  (in use)" : "");
        if (append_name(&list, "", ref, s) < 0) {
            rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == CSP_OK && !(*out = csp__buf_steal(&list)))
        rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    cJSON_Delete(root);
    csp__buf_free(&list);
    return rc;
}
