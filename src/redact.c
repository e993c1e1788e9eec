/* redact.c: key masking. */
#include "redact.h"

#include <stdio.h>
#include <string.h>

void csp__redact_key(const char *key, char out[CSP_REDACTED_MAX])
{
    size_t len = key ? strlen(key) : 0;
    /* A short key would be mostly revealed by its last 4 characters. */
    if (len >= 16)
        snprintf(out, CSP_REDACTED_MAX, "sk-or-...%s", key + len - 4);
    else if (len > 0)
        snprintf(out, CSP_REDACTED_MAX, "sk-or-...");
    else
        snprintf(out, CSP_REDACTED_MAX, "(none)");
}

void csp__redact_text(const char *text, const char *const *secrets, size_t count, char *out,
                      size_t size)
{
    size_t o = 0;
    if (size == 0)
        return;
    while (*text && o + 1 < size) {
        size_t hit = 0;
        const char *which = NULL;
        for (size_t i = 0; i < count; i++) {
            size_t n = secrets[i] ? strlen(secrets[i]) : 0;
            /* very short "secrets" would mask ordinary words; they are never real keys */
            if (n >= 4 && strncmp(text, secrets[i], n) == 0 && n > hit) {
                hit = n;
                which = secrets[i];
            }
        }
        if (which) {
            char masked[CSP_REDACTED_MAX];
            csp__redact_key(which, masked);
            size_t m = strlen(masked);
            if (o + m >= size)
                break;
            memcpy(out + o, masked, m);
            o += m;
            text += hit;
        } else {
            out[o++] = *text++;
        }
    }
    out[o] = '\0';
}
