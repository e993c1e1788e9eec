/* SPDX-License-Identifier: MIT */
/*
 * alloc.h: every library allocation goes through these wrappers, so a test
 * build can fail allocation N (SQLite's test_malloc idea) and prove that each
 * failure ends in a clean CSP_ENOMEM with nothing leaked.
 */
#ifndef CSP_ALLOC_H
#define CSP_ALLOC_H
#include <stddef.h>

void *csp__malloc(size_t size);
void *csp__calloc(size_t count, size_t size);
void *csp__realloc(void *ptr, size_t size);
char *csp__strdup(const char *text);
char *csp__strndup(const char *text, size_t len);
void csp__free(void *ptr);
/* Overwrite then free: for memory that held a secret. */
void csp__free_secret(char *secret);
char *csp__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Countdown: the Nth allocation from now on fails (0 disables). Returns count so far. */
void csp__alloc_fail_at(unsigned long n);
unsigned long csp__alloc_count(void);

/* Growable byte buffer with a hard cap set at init (curl's dynbuf). */
typedef struct csp_buf {
    char *data;
    size_t len, cap, max;
} csp_buf;

void csp__buf_init(csp_buf *buf, size_t max);
int csp__buf_append(csp_buf *buf, const void *data, size_t len); /* 0 ok, -1 nomem/over cap */
int csp__buf_appendf(csp_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void csp__buf_consume(csp_buf *buf, size_t len); /* drop len bytes from the front */
char *csp__buf_steal(csp_buf *buf);             /* NUL-terminated; buf is reset */
void csp__buf_free(csp_buf *buf);
#endif
