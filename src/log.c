/*
 * log.c: logging and error details for a client. Everything that leaves the
 * library as text is formatted whole, then masked against every key the
 * settings hold and scrubbed of control characters, and only then cut to
 * its buffer: a key can never straddle a cut.
 */
#include "client.h"
#include "redact.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Format into a large stack buffer (no allocation: logging must work when
 * memory is short), then redact and cut. A message longer than the buffer
 * is cut first, and the 8-character rule still masks a key at that cut.
 */
static void format_clean(const csp_client *client, char *out, size_t size, const char *fmt,
                         va_list ap)
{
    csp_secrets secrets;
    char raw[16384];
    csp__settings_secrets(&client->settings, &secrets);
    vsnprintf(raw, sizeof raw, fmt, ap);
    csp__redact_text(raw, strlen(raw), &secrets, 0, out, size);
}

void csp__log(csp_client *client, csp_log_level level, const char *fmt, ...)
{
    if (!client || !client->log_fn || level > client->log_max)
        return;
    char clean[2048];
    va_list ap;
    va_start(ap, fmt);
    format_clean(client, clean, sizeof clean, fmt, ap);
    va_end(ap);
    client->log_fn(client->log_userdata, level, clean);
}

csp_code csp__fail(csp_client *client, csp_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_clean(client, client->error, sizeof client->error, fmt, ap);
    va_end(ap);
    return code;
}

int csp__canceled(const csp_client *client)
{
    return atomic_load(&((csp_client *)client)->canceled);
}
