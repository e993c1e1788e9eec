/*
 * say.c: csp_say and csp_say_lines: check the input, pick the provider
 * (falling back to the local engine when no key exists anywhere and none
 * was asked for), and run the pipeline.
 */
#include "alloc.h"
#include "client.h"
#include "pipeline.h"
#include "text.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

csp_code csp__require_key(csp_client *client, const char *key, const char *purpose,
                          const char *config_places)
{
    if (key)
        return CSP_OK;
    return csp__fail(client, CSP_EKEY,
                     "no OpenRouter API key%s: set %s in %s, or the OPENROUTER_API_KEY "
                     "environment variable",
                     purpose, config_places, client->settings.config_path);
}

/* Decide the provider for this run. */
csp_code csp__choose_provider(csp_client *client)
{
    csp_settings *s = &client->settings;
    if (!client->loaded)
        return csp__fail(client, CSP_EUSAGE, "csp_client_load() was not called");
    if (strcmp(s->provider, "openrouter") != 0 || s->api_key)
        return CSP_OK;
    if (s->provider_explicit)
        return csp__require_key(client, s->api_key, "",
                                "tts.providers.openrouter.apiKey or "
                                "models.providers.openrouter.apiKey");
    char *local = csp__strdup("tts-local-cli");
    if (!local)
        return csp__fail(client, CSP_ENOMEM, "out of memory");
    csp__free(s->provider);
    s->provider = local;
    csp__log(client, CSP_LOG_WARN,
             "no OpenRouter API key found; speaking with the local engine (%s)", s->local_command);
    return CSP_OK;
}

static csp_code check_text(csp_client *client, const char *text, size_t len)
{
    size_t bad;
    if (csp__text_check(text, len, &bad) < 0)
        return csp__fail(client, CSP_EINPUT, "the input is not valid UTF-8 text: %s at byte offset %zu",
                         text[bad] == '\0' ? "NUL byte" : "invalid byte", bad);
    if (csp__text_blank(text, len))
        return csp__fail(client, CSP_EINPUT, "nothing to say: the input is empty, or only whitespace and invisible characters");
    return CSP_OK;
}

csp_code csp_say(csp_client *client, const char *text, size_t len, const csp_say_options *options)
{
    csp_pipeline *p = NULL;
    csp_code rc = check_text(client, text, len);
    if (rc == CSP_OK)
        rc = csp__choose_provider(client);
    if (rc == CSP_OK)
        rc = csp__pipeline_new(client, options, &p);
    if (rc == CSP_OK)
        rc = csp__pipeline_add(p, text, len, NULL);
    if (rc == CSP_OK) {
        csp__pipeline_close(p);
        rc = csp__pipeline_run(p);
    }
    csp__pipeline_free(p);
    return rc;
}

typedef struct line_reader {
    csp_client *client;
    csp_pipeline *pipeline;
    atomic_int stop; /* the speech side failed: stop reading */
    int fd;
    csp_code rc;
    size_t offset; /* bytes read so far, for error messages */
} line_reader;

static csp_code add_line(line_reader *r, const char *line, size_t len)
{
    size_t bad;
    if (csp__text_check(line, len, &bad) < 0)
        return csp__fail(r->client, CSP_EINPUT,
                         "the input is not valid UTF-8 text: %s at byte offset %zu",
                         line[bad] == '\0' ? "NUL byte" : "invalid byte", r->offset + bad);
    if (csp__text_blank(line, len))
        return CSP_OK;
    return csp__pipeline_add(r->pipeline, line, len, NULL);
}

static void *read_lines(void *arg)
{
    line_reader *r = arg;
    csp_buf pending;
    csp__buf_init(&pending, 1 << 24);
    char block[4096];
    for (;;) {
        if (csp__canceled(r->client) || atomic_load(&r->stop))
            break;
        struct pollfd pfd = {r->fd, POLLIN, 0};
        int ready = poll(&pfd, 1, 100);
        if (ready == 0 || (ready < 0 && errno == EINTR))
            continue;
        ssize_t n = read(r->fd, block, sizeof block);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (csp__buf_append(&pending, block, (size_t)n) < 0) {
            r->rc = csp__fail(r->client, CSP_EINPUT, "a line longer than 16 MiB");
            break;
        }
        char *nl;
        while (r->rc == CSP_OK && (nl = memchr(pending.data, '\n', pending.len))) {
            size_t line_len = (size_t)(nl - pending.data);
            r->rc = add_line(r, pending.data, line_len);
            r->offset += line_len + 1;
            csp__buf_consume(&pending, line_len + 1);
        }
        if (r->rc != CSP_OK)
            break;
    }
    if (r->rc == CSP_OK && pending.len)
        r->rc = add_line(r, pending.data, pending.len);
    csp__buf_free(&pending);
    if (r->rc != CSP_OK)
        csp__pipeline_abort(r->pipeline, r->rc); /* stop the speech: the input is bad */
    csp__pipeline_close(r->pipeline);
    return NULL;
}

csp_code csp_say_lines(csp_client *client, int fd, const csp_say_options *options)
{
    csp_pipeline *p = NULL;
    csp_code rc = csp__choose_provider(client);
    if (rc == CSP_OK)
        rc = csp__pipeline_new(client, options, &p);
    if (rc != CSP_OK)
        return rc;
    /* a followed log can outrun speech: reading waits while lines queue (no line lost) */
    csp__pipeline_limit_waiting(p, (size_t)(options->jobs > 0 ? options->jobs : 3) * 2 + 2);
    line_reader reader = {client, p, 0, fd, CSP_OK, 0};
    pthread_t thread;
    if (pthread_create(&thread, NULL, read_lines, &reader) != 0) {
        csp__pipeline_free(p);
        return csp__fail(client, CSP_ENOMEM, "cannot start the input thread");
    }
    rc = csp__pipeline_run(p);
    atomic_store(&reader.stop, 1); /* let the reader go */
    pthread_join(thread, NULL);
    if (reader.rc != CSP_OK)
        rc = reader.rc; /* its message is the one recorded */
    csp__pipeline_free(p);
    return rc;
}
