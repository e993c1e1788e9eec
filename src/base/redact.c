/* SPDX-License-Identifier: MIT */
/*
 * redact.c: key masking and control-character scrubbing for everything
 * the library prints. See redact.h for the rules.
 */
#include "redact.h"

#include "alloc.h"
#include "clawspeak.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void csp__redact_key(const char *key, char out[CSP_REDACTED_MAX])
{
    size_t len = key ? strlen(key) : 0;
    /* the key's own kind ("sk-or-", "sk-proj-", "sk-"), never more than that */
    size_t kind = 0;
    if (len >= 16 && !strncmp(key, "sk-", 3)) {
        const char *dash = memchr(key + 3, '-', len - 3 < 6 ? len - 3 : 6);
        kind = dash ? (size_t)(dash - key) + 1 : 3;
    }
    /* A short key would be mostly revealed by its last 4 characters. */
    if (len >= 16)
        snprintf(out, CSP_REDACTED_MAX, "%.*s...%s", (int)kind, key, key + len - 4);
    else if (len > 0)
        snprintf(out, CSP_REDACTED_MAX, "...");
    else
        snprintf(out, CSP_REDACTED_MAX, "(none)");
}

/*
 * The longest run text[at..len) shares with any stretch of a key, and which
 * key. Keys are short (tens of bytes), so trying each start in each key is
 * cheap next to what is printed.
 */
static size_t secret_run(const char *text, size_t len, size_t at, const csp_secrets *secrets,
                         const char **which)
{
    size_t best = 0;
    for (size_t k = 0; secrets && k < CSP_MAX_SECRETS; k++) {
        const char *key = secrets->keys[k];
        if (!key)
            continue;
        size_t key_len = strlen(key);
        if (key_len < 4)
            continue; /* not a real key: masking it would eat ordinary words */
        for (size_t j = 0; j < key_len; j++) {
            if (key[j] != text[at])
                continue;
            size_t n = 0;
            while (j + n < key_len && at + n < len && key[j + n] == text[at + n])
                n++;
            if (n > best) {
                best = n;
                *which = key;
            }
        }
    }
    return best;
}

/* Length of a key's masked form when text[at..len) starts with it, else 0. */
static size_t already_masked(const char *text, size_t len, size_t at, const csp_secrets *secrets)
{
    for (size_t k = 0; secrets && k < CSP_MAX_SECRETS; k++) {
        const char *key = secrets->keys[k];
        if (!key || strlen(key) < 16)
            continue; /* shorter keys mask to "...", which hides nothing to keep */
        char masked[CSP_REDACTED_MAX];
        csp__redact_key(key, masked);
        size_t m = strlen(masked);
        if (m <= len - at && !memcmp(text + at, masked, m))
            return m;
    }
    return 0;
}

void csp__redact_text(const char *text, size_t len, const csp_secrets *secrets,
                      int keep_newlines, char *out, size_t size)
{
    size_t o = 0, i = 0;
    if (size == 0)
        return;
    while (i < len) {
        /* a key already masked ("sk-proj-...4321") shows only what a mask shows: its
           kind prefix can be 8 characters of the key, which must not be masked again */
        size_t masked_len = already_masked(text, len, i, secrets);
        if (masked_len) {
            if (o + masked_len >= size)
                break;
            memcpy(out + o, text + i, masked_len);
            o += masked_len;
            i += masked_len;
            continue;
        }
        const char *key = NULL;
        size_t run = secret_run(text, len, i, secrets, &key);
        if (run >= CSP_SECRET_MIN_RUN || (key && run == strlen(key) && run >= 4)) {
            char masked[CSP_REDACTED_MAX];
            csp__redact_key(key, masked);
            size_t m = strlen(masked);
            if (o + m >= size)
                break; /* the cut falls here: nothing of the key goes out */
            memcpy(out + o, masked, m);
            o += m;
            i += run;
            continue;
        }
        unsigned char c = (unsigned char)text[i];
        uint32_t cp = c;
        size_t n = c < 0x80 ? 1 : csp__utf8_decode((const unsigned char *)text + i, len - i, &cp);
        /* C0, DEL, C1, bytes that are not UTF-8, and the invisible marks that reorder or
           break lines (bidi overrides, U+2028): never copied as they are */
        int control = n == 0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0) ||
                      (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
                      cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F ||
                      cp == 0x061C;
        if (n == 0)
            n = 1;
        if (control && keep_newlines && (c == '\n' || c == '\t'))
            control = 0;
        if (o + (control ? 1 : n) >= size)
            break;
        if (control)
            out[o++] = '?';
        else
            memcpy(out + o, text + i, n), o += n;
        i += n;
    }
    out[o] = '\0';
}

void csp_printable(const char *text, char *out, size_t size)
{
    csp__redact_text(text ? text : "", text ? strlen(text) : 0, NULL, 0, out, size);
}

void csp__redactor_init(csp_redactor *r, const csp_secrets *secrets,
                        void (*emit)(void *userdata, const char *text, size_t len),
                        void *userdata)
{
    memset(r, 0, sizeof *r);
    r->secrets = secrets;
    r->emit = emit;
    r->userdata = userdata;
}

/* Clean pending[0..len) and pass it on. */
static int emit_clean(csp_redactor *r, const char *pending, size_t len)
{
    if (len == 0)
        return 0;
    size_t size = len * 2 + CSP_REDACTED_MAX; /* a mask may be longer than what it hides */
    char *clean = csp__malloc(size);
    if (!clean)
        return -1;
    csp__redact_text(pending, len, r->secrets, 1, clean, size);
    r->emit(r->userdata, clean, strlen(clean));
    csp__free(clean);
    return 0;
}

int csp__redactor_feed(csp_redactor *r, const char *text, size_t len)
{
    size_t n = r->held_len + len;
    char *pending = csp__malloc(n ? n : 1);
    if (!pending)
        return -1;
    memcpy(pending, r->held, r->held_len);
    memcpy(pending + r->held_len, text, len);
    /* hold the longest tail that a later piece could extend into a key's run */
    size_t keep_from = n;
    const char *key;
    for (size_t s = n > sizeof r->held - 1 ? n - (sizeof r->held - 1) : 0; s < n; s++)
        if (secret_run(pending, n, s, r->secrets, &key) == n - s) {
            keep_from = s;
            break;
        }
    /* a run that starts before the tail and reaches into it is held whole */
    for (size_t i = 0; i < keep_from;) {
        size_t run = secret_run(pending, n, i, r->secrets, &key);
        if (run >= CSP_SECRET_MIN_RUN && i + run > keep_from) {
            keep_from = i;
            break;
        }
        i += run >= CSP_SECRET_MIN_RUN ? run : 1;
    }
    while (keep_from > 0 && keep_from < n && ((unsigned char)pending[keep_from] & 0xC0) == 0x80)
        keep_from--; /* never split a UTF-8 sequence */
    if (n - keep_from > sizeof r->held - 1)
        keep_from = n - (sizeof r->held - 1);
    int rc = emit_clean(r, pending, keep_from);
    if (rc == 0) {
        r->held_len = n - keep_from;
        memcpy(r->held, pending + keep_from, r->held_len);
    }
    csp__free(pending);
    return rc;
}

int csp__redactor_finish(csp_redactor *r)
{
    int rc = emit_clean(r, r->held, r->held_len);
    r->held_len = 0;
    return rc;
}
