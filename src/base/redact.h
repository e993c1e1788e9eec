/* SPDX-License-Identifier: MIT */
/*
 * redact.h: the one place secrets and hostile bytes are turned into
 * printable text. A key prints as "sk-or-...1234" at most. Any run of 8 or
 * more characters that appears inside a key is masked too, so a key cut by
 * a buffer, shifted by a character or split across stream pieces never
 * shows; a short key (4-7 characters) is masked where it appears whole.
 * Masking happens on the whole text, before anything is cut.
 */
#ifndef CSP_REDACT_H
#define CSP_REDACT_H
#include <stddef.h>

#define CSP_REDACTED_MAX 32
#define CSP_SECRET_MIN_RUN 8 /* shorter runs are ordinary text ("sk-or-v" is public) */
#define CSP_MAX_SECRETS 8 /* three API keys, three base URLs' passwords */

/* The keys a client knows; NULL entries are skipped. Borrowed pointers. */
typedef struct csp_secrets {
    const char *keys[CSP_MAX_SECRETS];
} csp_secrets;

/* Printable form of a key: "sk-or-..." plus its last 4 characters when it is long enough. */
void csp__redact_key(const char *key, char out[CSP_REDACTED_MAX]);
/*
 * Copy text into out (size bytes, always terminated), masking secrets
 * first and cutting after, never inside a UTF-8 sequence. Control
 * characters (C0, DEL, C1), bidirectional overrides, line and paragraph
 * separators, and bytes that are not UTF-8 become '?', except
 * '\n' and '\t' when keep_newlines is set: server bytes never reach a
 * terminal as escapes.
 */
void csp__redact_text(const char *text, size_t len, const csp_secrets *secrets,
                      int keep_newlines, char *out, size_t size);

/*
 * Streaming form, for text that arrives in pieces (a chat reply): a piece's
 * tail that could be the start of a secret is held until the next piece
 * shows what follows. emit receives clean text; finish flushes the rest.
 */
typedef struct csp_redactor {
    const csp_secrets *secrets;
    void (*emit)(void *userdata, const char *text, size_t len);
    void *userdata;
    char held[512];
    size_t held_len;
} csp_redactor;

void csp__redactor_init(csp_redactor *r, const csp_secrets *secrets,
                        void (*emit)(void *userdata, const char *text, size_t len),
                        void *userdata);
/* Returns 0, or -1 when out of memory (nothing was emitted then). */
int csp__redactor_feed(csp_redactor *r, const char *text, size_t len);
int csp__redactor_finish(csp_redactor *r);
#endif
