/* SPDX-License-Identifier: MIT */
/*
 * dynlib.h: a library's functions looked up with dlopen, for the libraries the library
 * loads when a run first needs them (libcurl, libpulse, PortAudio, libsndfile, libsoxr).
 * Each is a csp_dynlib: the soname, the package to install, and a table of function
 * pointers filled by name, once, by the first csp__dynlib_open; every later call returns
 * that first result (a library that failed is not tried again).
 */
#ifndef CSP_DYNLIB_H
#define CSP_DYNLIB_H
#include <pthread.h>
#include <stddef.h>

typedef struct csp_dynlib_symbol {
    const char *name;
    size_t offset; /* of the function pointer in the table */
} csp_dynlib_symbol;

/* A table entry: the symbol `name` into the field `field` of `type`. */
#define CSP_DYNLIB_SYMBOL(type, field, name) {name, offsetof(type, field)}

typedef struct csp_dynlib {
    const char *soname, *package;
    const csp_dynlib_symbol *symbols;
    size_t count;
    void *table;
    size_t table_size;
    pthread_mutex_t lock;
    int state;     /* 0: not tried yet; 1: loaded; -1: failed */
    char why[300]; /* when it failed: "cannot load SONAME (install PACKAGE): dlerror's
                      reason", or which function it lacks */
} csp_dynlib;

/* A csp_dynlib filling `table` (a variable) with the array `symbols`. */
#define CSP_DYNLIB(soname, package, symbols, table)                                           \
    {soname, package, symbols, sizeof symbols / sizeof symbols[0], &table, sizeof table,      \
     PTHREAD_MUTEX_INITIALIZER, 0, ""}

/* dlopen the library (kept open for the process's life) and fill its table, the first
   time: 0 when every symbol is there. Else -1, the table zeroed, and lib->why says why.
   The table may be read by a thread once this returned 0 to it, or to a thread that
   started it afterwards. */
int csp__dynlib_open(csp_dynlib *lib);
#endif
