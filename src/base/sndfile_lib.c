/* SPDX-License-Identifier: MIT */
/* sndfile_lib.c: libsndfile's functions looked up once, when a run first needs them. */
#include "sndfile_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

csp_sndfile_api csp__sndfile;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char missing[300] = "cannot load libsndfile.so.1 (install libsndfile1)";

static void load(void)
{
    /* the soname libsndfile has kept since 1.0: Debian's libsndfile1 */
    void *lib = dlopen("libsndfile.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        /* dlerror names what failed: the library, or one of its codecs' libraries */
        snprintf(missing, sizeof missing, "cannot load libsndfile.so.1 (install libsndfile1): %s",
                 dlerror());
        return;
    }
    static const struct {
        const char *name;
        size_t offset;
    } symbols[] = {
#define SYM(field) {"sf_" #field, offsetof(csp_sndfile_api, field)}
        SYM(open), SYM(open_fd), SYM(open_virtual), SYM(close), SYM(command),
        SYM(format_check), SYM(readf_short), SYM(writef_short), SYM(strerror),
        SYM(error_number),
#undef SYM
    };
    csp_sndfile_api api;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *fn = dlsym(lib, symbols[i].name);
        if (!fn) {
            snprintf(missing, sizeof missing, "libsndfile.so.1 lacks %s (install libsndfile1 1.0.28 or later)",
                     symbols[i].name);
            return;
        }
        memcpy((char *)&api + symbols[i].offset, &fn, sizeof fn);
    }
    csp__sndfile = api; /* published once: pthread_once orders it before every reader */
    loaded = 1;
}

int csp__sndfile_load(char *why, size_t size)
{
    pthread_once(&once, load);
    if (loaded)
        return 0;
    if (why && size)
        snprintf(why, size, "%s", missing);
    return -1;
}

SNDFILE *csp__sndfile_open(const char *path, int mode, SF_INFO *info)
{
    return csp__sndfile_load(NULL, 0) == 0 ? csp__sndfile.open(path, mode, info) : NULL;
}

SNDFILE *csp__sndfile_open_fd(int fd, int mode, SF_INFO *info, int close_desc)
{
    return csp__sndfile_load(NULL, 0) == 0 ? csp__sndfile.open_fd(fd, mode, info, close_desc) : NULL;
}

SNDFILE *csp__sndfile_open_virtual(SF_VIRTUAL_IO *io, int mode, SF_INFO *info, void *user)
{
    return csp__sndfile_load(NULL, 0) == 0 ? csp__sndfile.open_virtual(io, mode, info, user) : NULL;
}

const char *csp__sndfile_error(SNDFILE *sf)
{
    return csp__sndfile_load(NULL, 0) == 0 ? csp__sndfile.strerror(sf) : missing;
}
