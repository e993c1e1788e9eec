/* SPDX-License-Identifier: MIT */
/*
 * ask.c: csp_ask: stream an OpenRouter chat reply and speak it while the
 * model is still writing. The chat stream runs on its own thread; each
 * complete sentence of normalised text goes to a speaker at once; the reply
 * streams on the calling thread while the speaker plays on its own.
 */
#include "alloc.h"
#include "client.h"
#include "http.h"
#include "json5.h"
#include "listen.h"
#include "normalize.h"
#include "speaker.h"
#include "redact.h"
#include "speech.h"
#include "sse.h"
#include "text.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SPOKEN_CHARS 10 /* OpenClaw does not speak shorter replies */
/* A reply longer than any model's output limit (128k tokens is ~512 KiB) is a server
   gone wrong; 4 MiB leaves room for every model we know. */
#define REPLY_CAP ((size_t)4 << 20)
#define REPLY_CAP_TEXT "4 MiB"
#define CHAT_TOTAL_TIMEOUTS 20 /* a whole reply: 20 stall windows (10 minutes by default) */

typedef struct ask_state {
    csp_client *client;
    const csp_ask_options *options;
    const csp_chat_message *messages;
    size_t count;
    csp_speaker *speaker; /* NULL: not speaking */
    csp_code speech_rc;   /* the speech side failed: why */
    int tagged_only;
    csp_secrets secrets;
    csp_redactor redactor; /* keys masked and escapes scrubbed before anything is shown or spoken */
    csp_normalizer norm;
    csp_sse sse;
    csp_buf reply, speech, error_body;
    csp_voice_params params;
    int released, done, error_response;
    char dropped[8][32]; /* directive keys already warned about in this reply */
    size_t dropped_count;
    atomic_int stop; /* the speech side failed: stop the model's stream */
    long status;
    csp_code rc;
    char error[1024];
} ask_state;

static void set_error(ask_state *a, csp_code code, const char *message)
{
    if (a->rc != CSP_OK)
        return;
    a->rc = code;
    snprintf(a->error, sizeof a->error, "%s", message);
}

static void on_show(void *userdata, const char *text, size_t len)
{
    ask_state *a = userdata;
    if (a->reply.len + len > REPLY_CAP)
        set_error(a, CSP_EAPI, "the reply went past " REPLY_CAP_TEXT " (no model writes that "
                               "much): stopped; the server may be looping");
    else if (csp__buf_append(&a->reply, text, len) < 0)
        set_error(a, CSP_ENOMEM, "out of memory holding the reply");
    if (a->options->on_text && a->rc == CSP_OK)
        a->options->on_text(a->options->text_userdata, text, len);
}

static void on_speak(void *userdata, const char *text, size_t len)
{
    ask_state *a = userdata;
    if (a->speaker && csp__buf_append(&a->speech, text, len) < 0)
        set_error(a, CSP_ENOMEM, "out of memory holding speech");
}

/* A directive key that is not applied: one warning per key and reply. */
static void drop_directive(ask_state *a, const char *key, const char *why)
{
    for (size_t i = 0; i < a->dropped_count; i++)
        if (!strcmp(a->dropped[i], key))
            return;
    if (a->dropped_count < sizeof a->dropped / sizeof a->dropped[0])
        snprintf(a->dropped[a->dropped_count++], sizeof a->dropped[0], "%s", key);
    csp__log(&a->client->report, CSP_LOG_WARN, "[[tts:%s=...]] dropped: %s", key, why);
}

static void on_directive(void *userdata, const char *key, const char *value)
{
    ask_state *a = userdata;
    const csp_settings *s = &a->client->settings;
    char **slot = NULL;
    /* the directive is stripped from text and speech whatever happens here */
    if (!s->model_overrides) {
        drop_directive(a, key, "tts.modelOverrides.enabled is false");
        return;
    }
    if (!strcmp(key, "voice") || !strcmp(key, "speakerVoice") || !strcmp(key, "speakerVoiceId") ||
        !strcmp(key, "voiceId") || !strcmp(key, "voiceName") || !strcmp(key, "voice_name"))
        slot = &a->params.voice;
    else if (!strcmp(key, "model"))
        slot = &a->params.model;
    else if (!strcmp(key, "provider")) {
        if (!s->allow_provider) {
            drop_directive(a, key, "tts.modelOverrides.allowProvider is false");
            return;
        }
        const char *id = !strcmp(value, "local") ? "tts-local-cli" : value;
        for (size_t i = 0; i < s->chain_count; i++)
            if (!strcmp(s->chain[i], id))
                a->params.provider = s->chain[i];
        if (!a->params.provider)
            drop_directive(a, key, "that provider is not in this run's chain (see clawspeak "
                                   "config; --provider and --no-fallback keep to one)");
        return;
    } else if (!strcmp(key, "speed")) {
        char *end;
        double speed = strtod(value, &end);
        if (*value && !*end && speed > 0) {
            a->params.speed = speed;
            a->params.has_speed = 1;
        }
        return;
    }
    if (!slot) {
        drop_directive(a, key, "no provider here supports it");
        return;
    }
    if (*value) {
        csp__free(*slot);
        *slot = csp__strdup(value);
    }
}

/* Reply text with keys masked and control characters scrubbed: on to the normaliser. */
static void on_clean_text(void *userdata, const char *text, size_t len)
{
    ask_state *a = userdata;
    if (csp__normalizer_feed(&a->norm, text, len) < 0)
        set_error(a, CSP_ENOMEM, "out of memory");
}

/*
 * Hand speech to the speaker, which sends each sentence the moment it is
 * whole. Gates follow OpenClaw: nothing is spoken until the reply is known
 * to be long enough, tagged when it must be, and not mostly code.
 */
static void release_speech(ask_state *a, int final)
{
    if (!a->speaker || a->rc != CSP_OK || a->speech_rc != CSP_OK)
        return;
    if (!a->released) {
        int tagged_ok = !a->tagged_only || a->norm.tagged;
        int long_enough = a->norm.prose_chars >= MIN_SPOKEN_CHARS;
        int mostly_code = a->norm.code_chars > a->norm.prose_chars;
        if (!tagged_ok || !long_enough || mostly_code) {
            if (final)
                a->speech.len = 0; /* not spoken, as OpenClaw */
            return;
        }
        a->released = 1;
    }
    csp_code rc = csp__speaker_set_params(a->speaker, &a->params);
    if (rc == CSP_OK && a->speech.len)
        rc = csp_speaker_write(a->speaker, a->speech.data, a->speech.len);
    a->speech.len = 0;
    if (rc != CSP_OK) {
        a->speech_rc = rc;
        atomic_store(&a->stop, 1); /* the speech failed: stop the model too */
    }
}

/* The usage event (stream_options.include_usage): tokens, and the cost OpenRouter reports. */
static void log_usage(ask_state *a, const cJSON *usage)
{
    if (!cJSON_IsObject(usage))
        return;
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
    const cJSON *completion = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(usage, "cost");
    char cost_text[64] = "";
    if (cJSON_IsNumber(cost))
        snprintf(cost_text, sizeof cost_text, ", cost $%.6f", cost->valuedouble);
    csp__log(&a->client->report, CSP_LOG_INFO, "chat usage: %.0f prompt tokens, %.0f completion tokens%s",
             cJSON_IsNumber(prompt) ? prompt->valuedouble : 0.0,
             cJSON_IsNumber(completion) ? completion->valuedouble : 0.0, cost_text);
}

static int on_event(void *userdata, const char *data, size_t len)
{
    ask_state *a = userdata;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        a->done = 1;
        return 0;
    }
    /* our reader tells "out of memory" apart from "not JSON", which cJSON cannot */
    csp_json5_error perr;
    cJSON *root = csp__json5_parse(data, len, NULL, &perr);
    if (!root) {
        if (perr.out_of_memory) {
            set_error(a, CSP_ENOMEM, "out of memory reading the chat stream");
        } else {
            char message[300];
            snprintf(message, sizeof message, "the chat stream sent an event that is not JSON: %.80s",
                     data);
            set_error(a, CSP_EAPI, message);
        }
        return 1;
    }
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (error) {
        char text[400];
        csp__api_error_text(&a->client->settings, data, len, text, sizeof text);
        char message[500];
        snprintf(message, sizeof message, "the model failed mid-reply: %s", text);
        set_error(a, CSP_EAPI, message);
        cJSON_Delete(root);
        return 1;
    }
    log_usage(a, cJSON_GetObjectItemCaseSensitive(root, "usage"));
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "delta");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
    if (cJSON_IsString(content) && *content->valuestring) {
        if (csp__redactor_feed(&a->redactor, content->valuestring, strlen(content->valuestring)) < 0)
            set_error(a, CSP_ENOMEM, "out of memory");
        release_speech(a, 0);
    }
    cJSON_Delete(root);
    return a->rc != CSP_OK;
}

static int on_response(void *userdata, long status, const char *content_type)
{
    ask_state *a = userdata;
    a->status = status;
    a->error_response = status != 200 || !strstr(content_type, "text/event-stream");
    return 0;
}

static int on_data(void *userdata, const char *data, size_t len)
{
    ask_state *a = userdata;
    if (a->error_response)
        return csp__buf_append(&a->error_body, data, len) < 0 ? 1 : 0; /* capped */
    int rc = csp__sse_feed(&a->sse, data, len);
    if (rc == -1)
        set_error(a, CSP_EAPI, "the chat stream sent an event larger than 4 MiB");
    else if (rc == -2)
        set_error(a, CSP_ENOMEM, "out of memory reading the chat stream");
    return rc != 0;
}

static char *request_body(ask_state *a)
{
    const csp_settings *s = &a->client->settings;
    cJSON *body = cJSON_CreateObject(), *messages = cJSON_AddArrayToObject(body, "messages");
    char *out = NULL;
    cJSON *stream_options = cJSON_AddObjectToObject(body, "stream_options");
    /* the last event then carries the tokens and, from OpenRouter, the cost (--verbose) */
    if (!cJSON_AddStringToObject(body, "model", s->chat_model_id) ||
        !cJSON_AddTrueToObject(body, "stream") || !messages || !stream_options ||
        !cJSON_AddTrueToObject(stream_options, "include_usage"))
        goto out;
    for (size_t i = 0; i < a->count; i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(messages, m) ||
            !cJSON_AddStringToObject(m, "role", a->messages[i].role) ||
            !cJSON_AddStringToObject(m, "content", a->messages[i].content))
            goto out;
    }
    out = cJSON_PrintUnformatted(body);
out:
    cJSON_Delete(body);
    return out;
}

static void stream_chat(ask_state *a)
{
    const csp_settings *s = &a->client->settings;
    char *url = csp__printf("%s/chat/completions", s->chat_base_url);
    char *body = request_body(a);
    csp_http_result r;
    if (!url || !body) {
        set_error(a, CSP_ENOMEM, "out of memory");
        goto out;
    }
    csp__log(&a->client->report, CSP_LOG_INFO, "POST %s (model %s)", url, s->chat_model_id);
    csp_http_request req = {.method = "POST", .url = url, .bearer = s->chat_api_key,
                            .body = body, .body_len = strlen(body),
                            .attribution = s->chat_base_is_openrouter,
                            .accept = "text/event-stream", .timeout_ms = s->timeout_ms,
                            /* keep-alive comments are not silence: the reply has a deadline */
                            .total_ms = CHAT_TOTAL_TIMEOUTS * s->timeout_ms,
                            .on_response = on_response, .userdata = a, .stop = &a->stop,
                            .pool = a->client->pool};
    csp_code rc = csp__http_stream(&a->client->report, &req, on_data, &r);
    if (rc != CSP_OK) {
        set_error(a, rc, rc == CSP_ECANCELED ? "interrupted" : r.detail);
    } else if (a->rc != CSP_OK) {
        /* already decided: a mid-stream error event */
    } else if (atomic_load(&a->stop)) {
        /* stopped because speech failed: that error is the one to report */
    } else if (r.outcome != CSP_HTTP_DONE) {
        /* (a cancel by the user already returned CSP_ECANCELED above) */
        set_error(a, csp__http_outcome_code(r.outcome),
                  r.outcome == CSP_HTTP_ABORTED ? "interrupted" : r.detail);
    } else if (a->error_response) {
        char text[400], message[1024];
        csp__api_error_text(&a->client->settings, a->error_body.data, a->error_body.len, text, sizeof text);
        snprintf(message, sizeof message, "HTTP %ld from %s: %s", a->status, r.url,
                 text[0] ? text : "(no message)");
        set_error(a, a->status == 200 ? CSP_EAPI : csp__status_code(a->status), message);
    } else if (!a->done) {
        set_error(a, CSP_ENET, "the chat stream ended before [DONE]");
    }
    if (csp__redactor_finish(&a->redactor) < 0)
        set_error(a, CSP_ENOMEM, "out of memory");
    csp__normalizer_finish(&a->norm);
    release_speech(a, a->rc == CSP_OK);
out:
    csp__free(url);
    csp__free(body);
}

static void barge_in(void *userdata) { csp_client_cancel(userdata); }

static int decide_speech(const csp_client *client, const csp_ask_options *o, int *tagged_only)
{
    *tagged_only = 0;
    if (o->speak == CSP_SPEAK_ALWAYS)
        return 1;
    if (o->speak == CSP_SPEAK_NEVER)
        return 0;
    const char *mode = client->settings.auto_mode;
    if (!strcmp(mode, "always"))
        return 1;
    if (!strcmp(mode, "tagged"))
        return *tagged_only = 1;
    if (!strcmp(mode, "inbound"))
        return o->inbound; /* the prompt came by voice: the reply comes by voice */
    return 0;
}

csp_code csp_ask(csp_client *client, const csp_chat_message *messages, size_t count,
                 const csp_ask_options *options, char **reply)
{
    const csp_settings *s = &client->settings;
    ask_state a;
    memset(&a, 0, sizeof a);
    a.client = client;
    a.options = options;
    a.messages = messages;
    a.count = count;
    csp__buf_init(&a.reply, REPLY_CAP);
    csp__buf_init(&a.speech, REPLY_CAP);
    csp__buf_init(&a.error_body, 64u << 10);
    csp_normalizer_ops ops = {on_show, on_speak, on_directive};
    csp__normalizer_init(&a.norm, &ops, &a);
    csp__settings_secrets(s, &a.secrets);
    csp__redactor_init(&a.redactor, &a.secrets, on_clean_text, &a);
    csp__sse_init(&a.sse, on_event, &a);
    csp_code rc = CSP_OK;
    if (reply)
        *reply = NULL;
    if (!client->loaded) {
        rc = csp__fail(&client->report, CSP_EUSAGE, "csp_client_load() was not called");
        goto out;
    }
    /* every message goes into the JSON body: bytes that are not UTF-8 stop here, unsent */
    for (size_t i = 0; i < count; i++) {
        const char *text = messages[i].content ? messages[i].content : "";
        size_t bad = csp__utf8_validate(text, strlen(text));
        if (bad < strlen(text)) {
            rc = csp__fail(&client->report, CSP_EINPUT,
                           "the %s message is not valid UTF-8 text (byte %zu); nothing was sent",
                           messages[i].role ? messages[i].role : "user",
                           bad + 1);
            goto out;
        }
    }
    if (!s->chat_model_id) {
        const csp_setting *shown = csp__settings_find(s, "chat_model");
        int from_flag = shown && shown->source[0] == '-';
        rc = csp__fail(&client->report, from_flag ? CSP_EUSAGE : CSP_ECONFIG,
                       "model ref '%s' is not an OpenRouter model; clawspeak speaks OpenRouter "
                       "only (use openrouter/auto or openrouter/<provider>/<model>)",
                       s->chat_model);
        goto out;
    }
    if ((rc = csp__require_key(client, s->chat_api_key, " for chat",
                               "models.providers.openrouter.apiKey")) != CSP_OK)
        goto out;
    int speaking = decide_speech(client, options, &a.tagged_only);
    if (speaking) {
        if ((rc = csp_speaker_new(client, &options->say, &a.speaker)) != CSP_OK)
            goto out;
        csp__speaker_allow_empty(a.speaker); /* a reply too short to speak is not an error */
        /* the speech connection opens while the model thinks: the first sentence pays no
           handshake (the chat's own connection is busy streaming until the reply ends) */
        csp__speaker_warm(a.speaker);
    }
    /* barge-in: the first syllable heard stops the reply at once, as Ctrl-C does (the cancel
       flag reaches the chat stream and the sink's 20 ms writes) */
    csp_capture *barge = speaking && options->barge_in ? csp__listener_capture(options->barge_in)
                                                       : NULL;
    if (barge)
        csp__capture_arm(barge, CSP_CAPTURE_BARGE_IN, barge_in, client);
    /* the reply streams on this thread; its speech plays on the speaker's */
    stream_chat(&a);
    if (a.speaker) {
        /* a failed reply leaves no half-written file; played speech finishes what is queued */
        if (a.rc != CSP_OK && options->say.output_path)
            csp__speaker_abort(a.speaker, a.rc);
        rc = csp_speaker_finish(a.speaker);
        if (a.speech_rc != CSP_OK && rc == CSP_OK)
            rc = a.speech_rc;
    }
    if (barge) {
        csp__capture_arm(barge, CSP_CAPTURE_IDLE, NULL, NULL);
        if (csp__capture_barged_in(barge)) {
            /* the user spoke: not a failure of the reply, and the next turn must not be
               canceled (the listener is collecting what they say) */
            csp_client_clear_cancel(client);
            a.rc = CSP_OK;
            rc = csp__fail(&client->report, CSP_ECANCELED, "the reply was interrupted by speech");
            goto out;
        }
    }
    /* the model's failure explains more than the speech's */
    if (a.rc != CSP_OK)
        rc = csp__fail(&client->report, a.rc, "%s", a.error);
    if (reply && rc == CSP_OK && !(*reply = csp__buf_steal(&a.reply)))
        rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
out:
    csp_speaker_free(a.speaker);
    csp__normalizer_free(&a.norm);
    csp__sse_free(&a.sse);
    csp__buf_free(&a.reply);
    csp__buf_free(&a.speech);
    csp__buf_free(&a.error_body);
    csp__free(a.params.voice);
    csp__free(a.params.model);
    return rc;
}
