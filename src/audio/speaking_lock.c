/* SPDX-License-Identifier: MIT */
/*
 * speaking_lock.c: see speaking_lock.h. The directory must be the user's
 * own (not a link, mode 0700): under /tmp another user could plant it.
 */
#include "speaking_lock.h"

#include "alloc.h"
#include "clock.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Make (or accept) dir as the user's own private directory. */
static int private_dir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
                   (st.st_mode & 077) == 0
               ? 0
               : -1;
}

/* Each "playing without the lock" reason is said once a run: a sink asks for the lock at
   rate_for and at open, and --lines asks again for each line after a rest. */
static atomic_int told_no_dir, told_bad_file;

static void tell_once(atomic_int *told, csp_report *report, csp_log_level level, const char *fmt,
                      const char *path, const char *why)
{
    if (!atomic_exchange(told, 1))
        csp__log(report, level, fmt, path, why);
}

static int open_lock_file(csp_report *report)
{
    char dir[4096], path[4200];
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime && runtime[0] == '/')
        snprintf(dir, sizeof dir, "%s/clawspeak", runtime);
    else
        snprintf(dir, sizeof dir, "/tmp/clawspeak-%lu", (unsigned long)geteuid());
    if (private_dir(dir) != 0) {
        tell_once(&told_no_dir, report, CSP_LOG_INFO, "no private directory for the speaking "
                  "lock (%s%s): playing without waiting for other clawspeak runs", dir, "");
        return -1;
    }
    snprintf(path, sizeof path, "%s/speaking.lock", dir);
    /* no link, no FIFO to block on, no directory: a regular file or no lock (said once) */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    struct stat st;
    const char *why = NULL;
    if (fd < 0)
        why = errno == ELOOP ? "it is a symbolic link" : errno == EISDIR ? "it is a directory"
                                                                       : strerror(errno);
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        why = "it is not a regular file";
    if (why) {
        if (fd >= 0)
            close(fd);
        tell_once(&told_bad_file, report, CSP_LOG_WARN, "cannot use the speaking lock %s (%s): "
                  "playing without waiting for other clawspeak runs; remove it to fix this",
                  path, why);
        return -1;
    }
    return fd;
}

csp_code csp__speaking_lock(csp_report *report, int *fd)
{
    *fd = -1;
    /* a wait Ctrl-C ended is over: asked again (open after rate_for), no second notice */
    if (csp__canceled(report))
        return csp__fail(report, CSP_ECANCELED, "interrupted");
    *fd = open_lock_file(report);
    if (*fd < 0 || flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return CSP_OK;
    csp__log(report, CSP_LOG_WARN, "waiting for another clawspeak to finish speaking "
             "(--no-wait plays at once)");
    /* a blocking flock would not notice Ctrl-C: poll, as the rest of playback does */
    while (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            close(*fd);
            *fd = -1;
            return CSP_OK;
        }
        if (csp__canceled(report)) {
            close(*fd);
            *fd = -1;
            return csp__fail(report, CSP_ECANCELED, "interrupted");
        }
        struct timespec nap = {0, 20 * 1000000L};
        nanosleep(&nap, NULL);
    }
    return CSP_OK;
}

void csp__speaking_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
