/*
 * redact.h: the one place secrets are turned into printable text.
 * A key prints as "sk-or-...1234" at most; every log line and error text
 * passes through csp__redact_text before it leaves the library.
 */
#ifndef CSP_REDACT_H
#define CSP_REDACT_H
#include <stddef.h>

#define CSP_REDACTED_MAX 32
/* Printable form of a key: "sk-or-..." plus its last 4 characters when it is long enough. */
void csp__redact_key(const char *key, char out[CSP_REDACTED_MAX]);
/* Copy text into out (size bytes), replacing every occurrence of each secret. */
void csp__redact_text(const char *text, const char *const *secrets, size_t count, char *out,
                      size_t size);
#endif
