/* SPDX-License-Identifier: MIT */
/* dynlib.c: see dynlib.h. */
#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int csp__dynlib_load(const char *soname, const char *package, const csp_dynlib_symbol *symbols,
                     size_t count, void *table, size_t table_size, char *why, size_t why_size)
{
    memset(table, 0, table_size);
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        /* dlerror names what failed: the library, or one of the libraries it needs */
        snprintf(why, why_size, "cannot load %s (install %s): %s", soname, package, dlerror());
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        void *fn = dlsym(lib, symbols[i].name);
        if (!fn) {
            snprintf(why, why_size, "%s lacks %s (install a newer %s)", soname, symbols[i].name,
                     package);
            memset(table, 0, table_size);
            return -1;
        }
        memcpy((char *)table + symbols[i].offset, &fn, sizeof fn);
    }
    return 0;
}
