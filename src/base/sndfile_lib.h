/* SPDX-License-Identifier: MIT */
/*
 * sndfile_lib.h: libsndfile's functions, looked up with dlopen when a run first reads or
 * writes an audio file (-o, --resume's parts, the local engine's WAV), so that a run that
 * plays the API's mp3 starts without mapping libsndfile and its six codec libraries (3 ms
 * of each start on the 2-core machine). Its headers at build time only.
 */
#ifndef CSP_SNDFILE_LIB_H
#define CSP_SNDFILE_LIB_H
#include <sndfile.h>
#include <stddef.h>

typedef struct csp_sndfile_api {
    SNDFILE *(*open)(const char *, int, SF_INFO *);
    SNDFILE *(*open_fd)(int, int, SF_INFO *, int);
    SNDFILE *(*open_virtual)(SF_VIRTUAL_IO *, int, SF_INFO *, void *);
    int (*close)(SNDFILE *);
    int (*command)(SNDFILE *, int, void *, int);
    int (*format_check)(const SF_INFO *);
    sf_count_t (*readf_short)(SNDFILE *, short *, sf_count_t);
    sf_count_t (*writef_short)(SNDFILE *, const short *, sf_count_t);
    const char *(*strerror)(SNDFILE *);
    const char *(*error_number)(int);
} csp_sndfile_api;

/* Filled by csp__sndfile_load; read only after it returned 0. */
extern csp_sndfile_api csp__sndfile;

/* Load libsndfile.so.1 once: 0 when its functions are there; else -1 and why (what to
   install) in why. */
int csp__sndfile_load(char *why, size_t size);
/* sf_open, sf_open_fd and sf_open_virtual, loading the library first: NULL when that
   failed too, and csp__sndfile_error(NULL) then says what to install. */
SNDFILE *csp__sndfile_open(const char *path, int mode, SF_INFO *info);
SNDFILE *csp__sndfile_open_fd(int fd, int mode, SF_INFO *info, int close_desc);
SNDFILE *csp__sndfile_open_virtual(SF_VIRTUAL_IO *io, int mode, SF_INFO *info, void *user);
/* sf_strerror, also when the library could not be loaded. */
const char *csp__sndfile_error(SNDFILE *sf);
#endif
