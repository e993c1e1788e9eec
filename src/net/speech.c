/* SPDX-License-Identifier: MIT */
/* speech.c: request bodies and API error text for OpenRouter. */
#include "speech.h"

#include "alloc.h"
#include "redact.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void csp__speech_target(const csp_settings *s, const char *id, csp_speech_target *out)
{
    memset(out, 0, sizeof *out);
    out->response_format = s->response_format;
    out->speed = s->speed;
    out->has_speed = s->has_speed;
    out->timeout_ms = s->timeout_ms;
    if (!strcmp(id, "openai")) {
        *out = (csp_speech_target){"openai", s->openai_base_url, s->openai_api_key,
                                   s->openai_model, s->openai_voice, s->response_format,
                                   s->openai_instructions, NULL, 0, s->openai_speed,
                                   s->has_openai_speed, s->timeout_ms};
        return;
    }
    *out = (csp_speech_target){"openrouter", s->base_url, s->api_key, s->model, s->voice,
                               s->response_format, NULL, s->routing_json, s->base_is_openrouter,
                               s->speed, s->has_speed, s->timeout_ms};
}

char *csp__speech_body(const csp_speech_target *s, const csp_voice_params *params,
                       const char *text, size_t len)
{
    char *out = NULL, *input = csp__strndup(text, len);
    cJSON *body = cJSON_CreateObject();
    if (!input || !body)
        goto out;
    const char *model = params && params->model ? params->model : s->model;
    const char *voice = params && params->voice ? params->voice : s->voice;
    int has_speed = params && params->has_speed ? 1 : s->has_speed;
    double speed = params && params->has_speed ? params->speed : s->speed;
    if (!cJSON_AddStringToObject(body, "model", model) ||
        !cJSON_AddStringToObject(body, "input", input) ||
        !cJSON_AddStringToObject(body, "voice", voice) ||
        /* always sent: OpenRouter's own default is pcm */
        !cJSON_AddStringToObject(body, "response_format", s->response_format))
        goto out;
    if (has_speed && !cJSON_AddNumberToObject(body, "speed", speed))
        goto out;
    if (s->instructions && !cJSON_AddStringToObject(body, "instructions", s->instructions))
        goto out;
    if (s->routing_json) {
        cJSON *routing = cJSON_Parse(s->routing_json);
        if (!routing || !cJSON_AddItemToObject(body, "provider", routing)) {
            cJSON_Delete(routing);
            goto out;
        }
    }
    out = cJSON_PrintUnformatted(body);
out:
    cJSON_Delete(body);
    csp__free(input);
    return out;
}

void csp__api_error_text(const csp_settings *settings, const char *body, size_t len, char *out,
                         size_t size)
{
    csp_secrets secrets;
    csp__settings_secrets(settings, &secrets);
    out[0] = '\0';
    cJSON *root = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    if (!cJSON_IsString(message))
        message = cJSON_IsString(error) ? error : NULL;
    if (message) {
        csp__redact_text(message->valuestring, strlen(message->valuestring), &secrets, 0, out,
                         size);
    } else if (body && len) {
        /* not OpenRouter's JSON: show the first non-blank line, up to 200 characters */
        size_t i = 0;
        while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
            i++;
        size_t j = i;
        while (j < len && body[j] != '\n' && body[j] != '\r')
            j++;
        csp__redact_text(body + i, j - i, &secrets, 0, out, size < 201 ? size : 201);
    }
    cJSON_Delete(root);
}

size_t csp__audio_cap(size_t text_bytes, double bytes_per_second)
{
    double seconds = 5.0 + 0.5 * (double)text_bytes;
    return (size_t)(seconds * bytes_per_second);
}

csp_code csp__status_code(long status)
{
    return (status == 401 || status == 403) ? CSP_EKEY : CSP_EAPI;
}

int csp__status_retryable(long status)
{
    return status == 408 || status == 409 || status == 429 || status >= 500;
}
