/* SPDX-License-Identifier: MIT */
/*
 * dynlib.h: a library's functions looked up with dlopen, for the libraries the library
 * loads when a run first needs them (libcurl, libpulse, PortAudio, libsndfile, libsoxr):
 * the soname, and a table of function pointers filled by name. Each caller runs it once
 * (pthread_once) and publishes its table only when it returned 0.
 */
#ifndef CSP_DYNLIB_H
#define CSP_DYNLIB_H
#include <stddef.h>

typedef struct csp_dynlib_symbol {
    const char *name;
    size_t offset; /* of the function pointer in the table */
} csp_dynlib_symbol;

/* A table entry: the symbol `name` into the field `field` of `type`. */
#define CSP_DYNLIB_SYMBOL(type, field, name) {name, offsetof(type, field)}

/* dlopen soname (kept open for the process's life) and fill table with every symbol; 0
   when all are there. Else -1, table zeroed, and in why: "cannot load SONAME (install
   PACKAGE): dlerror's reason", or which function it lacks. */
int csp__dynlib_load(const char *soname, const char *package, const csp_dynlib_symbol *symbols,
                     size_t count, void *table, size_t table_size, char *why, size_t why_size);
#endif
