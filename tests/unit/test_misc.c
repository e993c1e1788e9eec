/* test_misc.c: Content-Type parsing, key redaction, model refs, base URLs, buffers. */
#include "alloc.h"
#include "check.h"
#include "content_type.h"
#include "redact.h"
#include "settings.h"

#include <stdlib.h>

int main(void)
{
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
    CHECK_STR(masked, "sk-or-...");
    const char *secrets[] = {"sk-or-v1-abcdefghijklmnop1234"};
    char out[200];
    csp__redact_text("key sk-or-v1-abcdefghijklmnop1234 twice sk-or-v1-abcdefghijklmnop1234.",
                     secrets, 1, out, sizeof out);
    CHECK_STR(out, "key sk-or-...1234 twice sk-or-...1234.");

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
