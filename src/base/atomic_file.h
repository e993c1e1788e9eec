/* SPDX-License-Identifier: MIT */
/*
 * atomic_file.h: replace a file so that readers see the old version or the
 * new one, never half of either. Shared by audio files and config edits.
 *
 * - A symlink is written through: the file it points at is replaced (the
 *   temporary file goes in that file's directory), the link stays.
 * - An existing file keeps its permission bits, and its owner and group
 *   where the user may set them; one the user cannot write is refused
 *   (EACCES), as cp and shell redirection refuse it.
 * - Hard links to the old file keep the old contents: the new file is a
 *   new inode (the price of never exposing a half-written file).
 * - The temporary name is short (".clawspeak-XXXXXX"), so any legal target
 *   name works, and it is registered for emergency cleanup.
 */
#ifndef CSP_ATOMIC_FILE_H
#define CSP_ATOMIC_FILE_H
#include <sys/types.h>

typedef struct csp_atomic_file {
    char *target;   /* the file to replace, symlinks resolved */
    char *tmp_path; /* NULL once committed or aborted */
    int fd;         /* the temporary file, open for reading and writing */
    mode_t mode;
    uid_t uid;
    gid_t gid;
    int existed;
    int cleanup_slot;
} csp_atomic_file;

/*
 * Start replacing path. new_mode is used for a file that does not exist yet
 * (the umask applies). Returns 0, or an errno value with *step naming what
 * failed ("resolve the link", "write here", ...).
 */
int csp__atomic_begin(csp_atomic_file *f, const char *path, mode_t new_mode, const char **step);
/* Flush, fix mode and owner, and rename into place. Returns 0 or an errno value. */
int csp__atomic_commit(csp_atomic_file *f, const char **step);
/* Write all of data to fd (EINTR and short writes handled). Returns 0 or an errno value. */
int csp__write_all(int fd, const void *data, size_t len);
/* The file a write to path replaces: links in its last component followed (a dangling link
   gives its target). csp__free it; NULL with errno set. */
char *csp__atomic_resolve(const char *path);
/* Drop the temporary file; the target is untouched. Safe to call twice. */
void csp__atomic_abort(csp_atomic_file *f);
#endif
