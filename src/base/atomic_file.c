/* SPDX-License-Identifier: MIT */
/* atomic_file.c: see atomic_file.h. */
#define _GNU_SOURCE /* mkostemp */
#include "atomic_file.h"

#include "alloc.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The kernel's fs.protected_symlinks rule, applied because we follow links
 * ourselves: in a sticky, world-writable directory (/tmp), a link is only
 * followed when it belongs to us or to the directory's owner. Otherwise
 * another user could point our output at any file we may write.
 */
static int may_follow(const char *link, const struct stat *link_st)
{
    char *dir = csp__strdup(link);
    if (!dir)
        return 0;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    struct stat dir_st;
    int ok = stat(dir, &dir_st) != 0 || !(dir_st.st_mode & S_ISVTX) ||
             !(dir_st.st_mode & S_IWOTH) || link_st->st_uid == geteuid() ||
             link_st->st_uid == dir_st.st_uid;
    csp__free(dir);
    return ok;
}

/* Resolve symlinks in the last component of path (a dangling link gives its target). */
char *csp__atomic_resolve(const char *path)
{
    char *current = csp__strdup(path);
    /* as the kernel does, give up after 40 links (ELOOP) */
    for (int hops = 0; current && hops < 40; hops++) {
        struct stat st;
        if (lstat(current, &st) != 0 || !S_ISLNK(st.st_mode))
            return current;
        if (!may_follow(current, &st)) {
            csp__free(current);
            errno = EACCES;
            return NULL;
        }
        char target[PATH_MAX];
        ssize_t n = readlink(current, target, sizeof target - 1);
        if (n < 0)
            return current;
        target[n] = '\0';
        char *next;
        const char *slash = strrchr(current, '/');
        if (target[0] == '/' || !slash)
            next = csp__strdup(target);
        else
            next = csp__printf("%.*s%s", (int)(slash - current + 1), current, target);
        csp__free(current);
        current = next;
    }
    int looped = current != NULL;
    csp__free(current);
    errno = looped ? ELOOP : ENOMEM;
    return NULL;
}

int csp__atomic_begin(csp_atomic_file *f, const char *path, mode_t new_mode, const char **step)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->cleanup_slot = -1;
    *step = "resolve the path";
    if (!(f->target = csp__atomic_resolve(path))) {
        if (errno == EACCES)
            *step = "follow a link that another user owns in a shared directory";
        return errno;
    }
    struct stat st;
    if (stat(f->target, &st) == 0) {
        /* a device, a FIFO or a directory is never swapped for a file (callers write devices
           and FIFOs directly): a safety net under every caller */
        *step = "replace it: it is not a regular file";
        if (!S_ISREG(st.st_mode))
            return EINVAL;
        *step = "replace it";
        if (faccessat(AT_FDCWD, f->target, W_OK, AT_EACCESS) != 0)
            return errno;
        f->existed = 1;
        f->mode = st.st_mode & 0777; /* never carry set-user-ID or set-group-ID onto audio */
        f->uid = st.st_uid;
        f->gid = st.st_gid;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        f->mode = new_mode & ~mask;
    }
    *step = "write here";
    const char *slash = strrchr(f->target, '/');
    if (strlen(slash ? slash + 1 : f->target) > NAME_MAX)
        return ENAMETOOLONG; /* found now, not at the rename after every request */
    f->tmp_path = slash ? csp__printf("%.*s.clawspeak-XXXXXX", (int)(slash - f->target + 1),
                                      f->target)
                        : csp__strdup(".clawspeak-XXXXXX");
    if (!f->tmp_path)
        return ENOMEM;
    f->fd = mkostemp(f->tmp_path, O_CLOEXEC);
    if (f->fd < 0) {
        int err = errno;
        csp__free(f->tmp_path);
        f->tmp_path = NULL;
        return err;
    }
    f->cleanup_slot = csp__cleanup_add_file(f->tmp_path);
    return 0;
}

/* The temporary file is gone (renamed or removed): nothing is left to clean up. */
static void forget(csp_atomic_file *f)
{
    csp__cleanup_remove(f->cleanup_slot);
    f->cleanup_slot = -1;
    csp__free(f->tmp_path);
    f->tmp_path = NULL;
    csp__free(f->target);
    f->target = NULL;
}

int csp__atomic_commit(csp_atomic_file *f, const char **step)
{
    *step = "finish the file";
    /* the old owner where we may set it; where we may not (EPERM), the new file is ours */
    if (f->existed && fchown(f->fd, f->uid, f->gid) != 0 && errno != EPERM) {
        int err = errno;
        csp__atomic_abort(f);
        return err;
    }
    if (fchmod(f->fd, f->mode) != 0 || fsync(f->fd) != 0) {
        int err = errno;
        csp__atomic_abort(f);
        return err;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        int err = errno;
        csp__atomic_abort(f);
        return err;
    }
    *step = "move the finished file into place";
    if (rename(f->tmp_path, f->target) != 0) {
        int err = errno;
        csp__atomic_abort(f);
        return err;
    }
    forget(f);
    return 0;
}

void csp__atomic_abort(csp_atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp_path)
        unlink(f->tmp_path);
    forget(f);
}

int csp__write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
