/*
 * log.c: logging and error details for a client. Everything that leaves the
 * library as text is redacted here, against every key the settings hold.
 */
#include "client.h"
#include "redact.h"

#include <stdarg.h>
#include <stdio.h>

static void redact_with_client(const csp_client *client, const char *raw, char *out, size_t size)
{
    const char *secrets[2] = {client->settings.api_key, client->settings.chat_api_key};
    csp__redact_text(raw, secrets, 2, out, size);
}

void csp__log(csp_client *client, csp_log_level level, const char *fmt, ...)
{
    if (!client || !client->log_fn || level > client->log_max)
        return;
    char raw[2048], clean[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    redact_with_client(client, raw, clean, sizeof clean);
    client->log_fn(client->log_userdata, level, clean);
}

csp_code csp__fail(csp_client *client, csp_code code, const char *fmt, ...)
{
    char raw[sizeof client->error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    redact_with_client(client, raw, client->error, sizeof client->error);
    return code;
}

int csp__canceled(const csp_client *client)
{
    return atomic_load(&((csp_client *)client)->canceled);
}
