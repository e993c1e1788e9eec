/* SPDX-License-Identifier: MIT */
/* test_misc.c: Content-Type parsing, key redaction, the reporter's masking, model refs,
 * base URLs, buffers. */
#include "alloc.h"
#include "check.h"
#include "config.h"
#include "content_type.h"
#include "redact.h"
#include "report.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char streamed[4096];
static void collect(void *userdata, const char *text, size_t len)
{
    (void)userdata;
    strncat(streamed, text, len);
}

/* The streaming redactor: the key split at every point, in pieces of every size. */
static void check_streaming_redaction(const csp_secrets *secrets)
{
    const char *reply = "Your key is sk-or-v1-abcdefghijklmnop1234, keep it.\x1b[2J Done.";
    size_t len = strlen(reply);
    for (size_t piece = 1; piece <= len; piece++) {
        csp_redactor r;
        streamed[0] = '\0';
        csp__redactor_init(&r, secrets, collect, NULL);
        for (size_t at = 0; at < len; at += piece)
            CHECK_INT(csp__redactor_feed(&r, reply + at, at + piece > len ? len - at : piece), 0);
        CHECK_INT(csp__redactor_finish(&r), 0);
        CHECK_STR(streamed, "Your key is sk-or-...1234, keep it.?[2J Done.");
    }
}

static char logged[2048];
static void keep_log(void *userdata, csp_log_level level, const char *text)
{
    (void)userdata, (void)level;
    snprintf(logged, sizeof logged, "%s", text);
}

/* The reporter masks the keys it is given as data (issue 22: it no longer reads the
 * settings), and the settings resolver gives it each key as soon as it is resolved. */
static void check_report_masks_given_keys(void)
{
    const char *key = "sk-or-v1-reporterkey0123456789";
    csp_report report;
    memset(&report, 0, sizeof report);
    report.log_fn = keep_log;
    report.log_max = CSP_LOG_DEBUG;
    csp__fail(&report, CSP_EAPI, "server said: bad key %s", key);
    CHECK_STR(report.error, "server said: bad key sk-or-v1-reporterkey0123456789"); /* none given */
    report.secrets.keys[1] = key;
    csp__fail(&report, CSP_EAPI, "server said: bad key %s", key);
    CHECK_STR(report.error, "server said: bad key sk-or-...6789");
    csp__log(&report, CSP_LOG_WARN, "echo %s", key);
    CHECK_STR(logged, "echo sk-or-...6789");

    char path[] = "/tmp/csp-test-misc-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *config = "{models: {providers: {openrouter: {apiKey: 'sk-or-v1-fromtheconfig98765'}}}}";
    CHECK_INT((int)write(fd, config, strlen(config)), (int)strlen(config));
    close(fd);
    memset(&report, 0, sizeof report);
    csp_config cfg;
    csp_settings settings;
    csp_overrides overrides;
    memset(&overrides, 0, sizeof overrides);
    CHECK_INT(csp__config_load(&report, path, &cfg), CSP_OK);
    CHECK_INT(csp__settings_resolve(&report, &overrides, &cfg, &settings), CSP_OK);
    CHECK(report.secrets.keys[0] == settings.api_key);
    csp__fail(&report, CSP_EAPI, "echo %s", "sk-or-v1-fromtheconfig98765");
    CHECK_STR(report.error, "echo sk-or-...8765");
    csp__config_free(&cfg);
    csp__settings_free(&settings);
    unlink(path);
}

int main(void)
{
    check_report_masks_given_keys();
    static const struct {
        const char *header;
        int rc;
        csp_media_kind kind;
        long rate;
        int channels;
    } types[] = {
        {"audio/mpeg", 0, CSP_MEDIA_MP3, 0, 0},
        {"Audio/MPEG; charset=binary", 0, CSP_MEDIA_MP3, 0, 0},
        {"audio/pcm;rate=24000;channels=1", 0, CSP_MEDIA_PCM, 24000, 1},
        {"audio/pcm; channels=\"2\" ; RATE=48000", 0, CSP_MEDIA_PCM, 48000, 2},
        {"audio/pcm;rate=24000", -1, CSP_MEDIA_PCM, 24000, 0},
        {"audio/pcm;rate=abc;channels=1", -1, CSP_MEDIA_PCM, 0, 1},
        {"audio/pcm;rate=24000;channels=99", -1, CSP_MEDIA_PCM, 24000, 99},
        {"text/html; charset=utf-8", 0, CSP_MEDIA_OTHER, 0, 0},
        {"application/json", 0, CSP_MEDIA_OTHER, 0, 0},
        {"", 0, CSP_MEDIA_OTHER, 0, 0},
        {";;;=;", 0, CSP_MEDIA_OTHER, 0, 0},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        csp_media m;
        CHECK_INT(csp__parse_content_type(types[i].header, &m), types[i].rc);
        CHECK_INT(m.kind, types[i].kind);
        CHECK_INT(m.rate, types[i].rate);
        CHECK_INT(m.channels, types[i].channels);
    }

    char masked[CSP_REDACTED_MAX];
    csp__redact_key("sk-or-v1-abcdefghijklmnop1234", masked);
    CHECK_STR(masked, "sk-or-...1234");
    csp__redact_key("short", masked);
    CHECK_STR(masked, "...");
    csp__redact_key("sk-proj-OPENAIKEY0987654321", masked);
    CHECK_STR(masked, "sk-proj-...4321");
    csp__redact_key("ab-0123456789abcdefgh", masked);
    CHECK_STR(masked, "...efgh");
    csp_secrets secrets = {{"sk-or-v1-abcdefghijklmnop1234", NULL, "sk-proj-OPENAIKEY0987654321"}};
    char out[200];
    static const struct {
        const char *in, *out;
        size_t size;
    } redactions[] = {
        {"key sk-or-v1-abcdefghijklmnop1234 twice sk-or-v1-abcdefghijklmnop1234.",
         "key sk-or-...1234 twice sk-or-...1234.", 200},
        /* a cut inside the key: nothing of it goes out */
        {"error: sk-or-v1-abcdefghijklmnop1234", "error: ", 20},
        /* a prefix, a shifted run and a stretch from the middle: all masked */
        {"got sk-or-v1-abcdef.", "got sk-or-...1234.", 200},
        {"got k-or-v1-abcdefghijklmnop12", "got sk-or-...1234", 200},
        {"mid cdefghijkl end", "mid sk-or-...1234 end", 200},
        {"openai sk-proj-OPENAIKEY0987654321!", "openai sk-proj-...4321!", 200},
        /* a key masked once is not masked again (its 8-character kind is a run of the key) */
        {"shown sk-proj-...4321 and sk-or-...1234", "shown sk-proj-...4321 and sk-or-...1234", 200},
        /* seven characters are ordinary text */
        {"sk-or-v is public", "sk-or-v is public", 200},
        /* escapes from a server never reach a terminal */
        {"a\x1b]0;title\x07" "b\rc\nd\xc2\x9b" "e", "a?]0;title?b?c?d?e", 200},
        /* cut on a UTF-8 boundary */
        {"\xe4\xbd\xa0\xe5\xa5\xbd", "\xe4\xbd\xa0", 5},
    };
    for (size_t i = 0; i < sizeof redactions / sizeof redactions[0]; i++) {
        csp__redact_text(redactions[i].in, strlen(redactions[i].in), &secrets, 0, out,
                         redactions[i].size);
        CHECK_STR(out, redactions[i].out);
    }
    csp__redact_text("line\nnext\ttab\x1b", 14, &secrets, 1, out, sizeof out);
    CHECK_STR(out, "line\nnext\ttab?");
    check_streaming_redaction(&secrets);

    static const struct {
        const char *ref, *id;
    } refs[] = {
        {"openrouter/auto", "openrouter/auto"},
        {"openrouter/moonshotai/kimi-k2.6", "moonshotai/kimi-k2.6"},
        {"openrouter/openrouter/fusion", "openrouter/fusion"},
        {"anthropic/claude-3", NULL},
        {"openrouter/", NULL},
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        char *id = csp__chat_model_id(refs[i].ref);
        if (refs[i].id)
            CHECK_STR(id, refs[i].id);
        else
            CHECK(id == NULL);
        csp__free(id);
    }
    static const struct {
        const char *in, *out;
    } urls[] = {
        {"https://openrouter.ai/api/v1/", "https://openrouter.ai/api/v1"},
        {"https://openrouter.ai/v1", "https://openrouter.ai/api/v1"},
        {"https://openrouter.ai/v1///", "https://openrouter.ai/api/v1"},
        {"http://127.0.0.1:8080/x//", "http://127.0.0.1:8080/x"},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char *u = csp__normalize_base_url(urls[i].in);
        CHECK_STR(u, urls[i].out);
        csp__free(u);
    }

    csp_buf buf;
    csp__buf_init(&buf, 10);
    CHECK_INT(csp__buf_append(&buf, "0123456789", 10), 0);
    CHECK_INT(csp__buf_append(&buf, "x", 1), -1); /* the cap holds */
    csp__buf_consume(&buf, 4);
    CHECK_STR(buf.data, "456789");
    csp__buf_free(&buf);
    return CHECK_DONE();
}
