/* SPDX-License-Identifier: MIT */
/* sndfile_lib.c: libsndfile's functions looked up once, when a run first needs them. */
#include "sndfile_lib.h"

#include "dynlib.h"

#include <stdio.h>

csp_sndfile_api csp__sndfile;

static const csp_dynlib_symbol symbols[] = {
#define SYM(field) CSP_DYNLIB_SYMBOL(csp_sndfile_api, field, "sf_" #field)
    SYM(open), SYM(open_fd), SYM(open_virtual), SYM(close), SYM(command), SYM(format_check),
    SYM(readf_short), SYM(writef_short), SYM(strerror), SYM(error_number),
#undef SYM
};
/* the soname libsndfile has kept since 1.0: Debian's libsndfile1 */
static csp_dynlib lib = CSP_DYNLIB("libsndfile.so.1", "libsndfile1", symbols, csp__sndfile);

int csp__sndfile_load(char *why, size_t size)
{
    if (csp__dynlib_open(&lib) == 0)
        return 0;
    if (why && size)
        snprintf(why, size, "%s", lib.why);
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
    return csp__sndfile_load(NULL, 0) == 0 ? csp__sndfile.strerror(sf) : lib.why;
}
