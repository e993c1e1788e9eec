/* SPDX-License-Identifier: MIT */
/* dynlib.c: see dynlib.h. */
#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int load(csp_dynlib *lib)
{
    void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        /* dlerror names what failed: the library, or one of the libraries it needs */
        snprintf(lib->why, sizeof lib->why, "cannot load %s (install %s): %s", lib->soname,
                 lib->package, dlerror());
        return -1;
    }
    for (size_t i = 0; i < lib->count; i++) {
        void *fn = dlsym(handle, lib->symbols[i].name);
        if (!fn) {
            snprintf(lib->why, sizeof lib->why, "%s lacks %s (install a newer %s)", lib->soname,
                     lib->symbols[i].name, lib->package);
            memset(lib->table, 0, lib->table_size);
            return -1;
        }
        memcpy((char *)lib->table + lib->symbols[i].offset, &fn, sizeof fn);
    }
    return 1;
}

int csp__dynlib_open(csp_dynlib *lib)
{
    pthread_mutex_lock(&lib->lock); /* also what publishes the table to the caller */
    if (lib->state == 0)
        lib->state = load(lib);
    int state = lib->state;
    pthread_mutex_unlock(&lib->lock);
    return state == 1 ? 0 : -1;
}
