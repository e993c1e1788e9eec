/* SPDX-License-Identifier: MIT */
/*
 * lineedit.c: the prompt of ask --chat on a terminal: line editing and a
 * history kept across runs, through libedit's native API (el_gets), the one
 * file that includes <histedit.h>. libedit installs no signal handlers here
 * (EL_SIGNAL stays off): main.c's handler sets the interrupt flag and our
 * read function sees it, so Ctrl-C at the prompt comes back as a status.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <histedit.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#define HISTORY_ENTRIES 1000

struct cli_lineedit {
    EditLine *el;
    History *history;
    char *path;       /* the history file (a link's target); NULL: not kept */
    int linked;       /* path came through a link: its target keeps its own mode */
    mode_t mode;      /* that mode */
    int verbose;
    int warned;       /* the one warning about the history was given */
    int interrupted;  /* the last read ended with Ctrl-C ... */
    int had_text;     /* ... on a line holding text */
};

static void warn_once(cli_lineedit *le, const char *what, const char *path)
{
    char shown[PATH_MAX];
    csp_printable(path, shown, sizeof shown);
    if (le->verbose && !le->warned)
        fprintf(stderr, "clawspeak: history not kept: %s %s: %s\n", what, shown, strerror(errno));
    le->warned = 1;
}

/* libedit, loaded with dlopen when a prompt first needs it: every other run starts without
   mapping it, libtinfo, libbsd and libmd. */
typedef struct libedit_api {
    History *(*history_init)(void);
    void (*history_end)(History *);
    int (*history)(History *, HistEvent *, int, ...);
    EditLine *(*el_init)(const char *, FILE *, FILE *, FILE *);
    void (*el_end)(EditLine *);
    int (*el_set)(EditLine *, int, ...);
    int (*el_get)(EditLine *, int, ...);
    int (*el_source)(EditLine *, const char *);
    const char *(*el_gets)(EditLine *, int *);
    const LineInfoW *(*el_wline)(EditLine *);
} libedit_api;

static libedit_api edit;

static pthread_once_t edit_once = PTHREAD_ONCE_INIT;
static int edit_loaded;

static void map_libedit(void)
{
    /* the soname Debian's libedit2 ships */
    void *lib = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return;
    static const struct {
        const char *name;
        size_t offset;
    } symbols[] = {
#define SYM(field) {#field, offsetof(libedit_api, field)}
        SYM(history_init), SYM(history_end), SYM(history), SYM(el_init), SYM(el_end),
        SYM(el_set), SYM(el_get), SYM(el_source), SYM(el_gets), SYM(el_wline),
#undef SYM
    };
    libedit_api api;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *fn = dlsym(lib, symbols[i].name);
        if (!fn)
            return;
        memcpy((char *)&api + symbols[i].offset, &fn, sizeof fn);
    }
    edit = api;
    edit_loaded = 1;
}

static int load_libedit(void)
{
    pthread_once(&edit_once, map_libedit);
    return edit_loaded ? 0 : -1;
}

/* A history that is there but cannot be used: said once, verbose or not (the user made it,
   and it is left exactly as it is), and nothing of this chat is written over it. */
static void refuse(cli_lineedit *le, const char *why)
{
    char shown[PATH_MAX];
    csp_printable(le->path, shown, sizeof shown);
    fprintf(stderr, "clawspeak: the chat history %s %s: it is left as it is, and this chat's "
                    "lines are not kept\n", shown, why);
    le->warned = 1;
    free(le->path);
    le->path = NULL;
}

/* mkdir -p, each directory made here 0700; existing ones are left as they are. */
static int make_dirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = saved;
        if (rc != 0 && errno != EEXIST)
            return -1;
        if (saved == '\0')
            return 0;
    }
}

/* $XDG_STATE_HOME/clawspeak/history, else ~/.local/state/clawspeak/history;
   the directories are made. NULL when there is no home or they cannot be. */
static char *history_path(cli_lineedit *le)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[PATH_MAX];
    int n = -1;
    if (!home || *home != '/') {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (state && *state == '/') /* the spec: a relative path is ignored */
        n = snprintf(dir, sizeof dir, "%s/clawspeak", state);
    else if (home && *home == '/')
        n = snprintf(dir, sizeof dir, "%s/.local/state/clawspeak", home);
    if (n < 0 || (size_t)n + sizeof "/history" > sizeof dir)
        return NULL;
    if (make_dirs(dir) != 0) {
        warn_once(le, "cannot make", dir);
        return NULL;
    }
    strcat(dir, "/history");
    return strdup(dir);
}

/*
 * Read the history, never hanging or changing anything on the way: a link is followed to
 * its target, which is then written in place (the link stays, as `models set` keeps a
 * linked config); the file is opened without following a further link and without
 * blocking (a FIFO), and must be a regular file; only a plain file of ours is made
 * private, through its descriptor.
 */
static void history_load(cli_lineedit *le)
{
    HistEvent ev;
    struct stat st;
    if (lstat(le->path, &st) != 0)
        return; /* none yet */
    if (S_ISLNK(st.st_mode)) {
        char *target = realpath(le->path, NULL);
        if (!target) {
            refuse(le, "is a link that leads nowhere usable");
            return;
        }
        free(le->path);
        le->path = target;
        le->linked = 1;
    }
    int fd = open(le->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            refuse(le, errno == ELOOP ? "is a link that leads nowhere usable" : "cannot be read");
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        refuse(le, S_ISDIR(st.st_mode) ? "is a directory" : S_ISFIFO(st.st_mode) ? "is a FIFO"
                                                                                 : "is not a regular file");
        return;
    }
    le->mode = st.st_mode & 07777;
    if (!le->linked && st.st_uid == geteuid() && (st.st_mode & 077))
        fchmod(fd, 0600); /* an older copy others could read: never again */
    /* libedit loads by name only: the descriptor checked above, by its /proc name */
    char by_fd[64];
    snprintf(by_fd, sizeof by_fd, "/proc/self/fd/%d", fd);
    if (st.st_size > 0 && edit.history(le->history, &ev, H_LOAD, by_fd) < 0)
        refuse(le, "cannot be read as a libedit history");
    close(fd);
}

/* Saved beside the old file and renamed over it: a full disk keeps the old one. */
static void history_save(cli_lineedit *le)
{
    HistEvent ev;
    size_t len = strlen(le->path);
    FILE *out = NULL;
    int ok = 0, fd = -1;
    char *temp = malloc(len + sizeof ".XXXXXX");
    if (!temp)
        goto out;
    memcpy(temp, le->path, len);
    memcpy(temp + len, ".XXXXXX", sizeof ".XXXXXX");
    if ((fd = mkstemp(temp)) < 0) /* made 0600 */
        goto out;
    if (!(out = fdopen(fd, "w"))) {
        close(fd);
        goto out;
    }
    ok = edit.history(le->history, &ev, H_SAVE_FP, out) >= 0;
    /* a linked history is the user's own file: its mode stays (libedit makes it 0600) */
    if (le->linked && le->mode)
        fchmod(fileno(out), le->mode);
    ok = fflush(out) == 0 && !ferror(out) && ok;
    ok = fclose(out) == 0 && ok;
    ok = ok && rename(temp, le->path) == 0;
out:
    if (!ok)
        warn_once(le, "cannot write", le->path);
    if (!ok && fd >= 0)
        unlink(temp);
    free(temp);
}

/*
 * Wait for a key, or for a signal: the check of the interrupt flag and the
 * wait are one step (pselect with the signals unblocked only inside), so a
 * Ctrl-C that lands just before the wait is not slept through.
 */
static int wait_for_key(void)
{
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigaddset(&stop, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    int rc = 0;
    while (rc == 0 && !cli_interrupted()) {
        fd_set in;
        FD_ZERO(&in);
        FD_SET(STDIN_FILENO, &in);
        int n = pselect(STDIN_FILENO + 1, &in, NULL, NULL, NULL, &old);
        if (n > 0)
            break;
        if (n < 0 && errno != EINTR)
            rc = -1;
    }
    if (cli_interrupted())
        rc = -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* libedit's read function: one character, UTF-8 decoded; -1 on Ctrl-C. */
static int read_char(EditLine *el, wchar_t *wc)
{
    cli_lineedit *le = NULL;
    char bytes[MB_LEN_MAX];
    size_t n = 0;
    edit.el_get(el, EL_CLIENTDATA, &le);
    for (;;) {
        if (wait_for_key() < 0) {
            if (cli_interrupted()) {
                const LineInfoW *line = edit.el_wline(el);
                le->interrupted = 1;
                le->had_text = line->lastchar > line->buffer;
                errno = EINTR;
            }
            return -1;
        }
        ssize_t got = read(STDIN_FILENO, bytes + n, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return (int)got;
        mbstate_t state;
        memset(&state, 0, sizeof state);
        size_t rc = mbrtowc(wc, bytes, ++n, &state);
        if (rc == (size_t)-2 && n < sizeof bytes)
            continue; /* more of the character to come */
        if (rc == (size_t)-1 || rc == (size_t)-2) {
            n = 0; /* not UTF-8: dropped */
            continue;
        }
        return 1;
    }
}

static char *prompt(EditLine *el)
{
    (void)el;
    return "> ";
}

cli_lineedit *cli_lineedit_new(int verbose)
{
    HistEvent ev;
    if (!isatty(STDIN_FILENO) || !isatty(fileno(stderr)))
        return NULL;
    if (load_libedit() != 0) {
        if (verbose) /* the plain prompt reads the lines: no editing, no history */
            fprintf(stderr, "clawspeak: no line editing or history: cannot load libedit.so.2 "
                            "(install libedit2)\n");
        return NULL;
    }
    cli_lineedit *le = calloc(1, sizeof *le);
    if (!le)
        return NULL;
    le->verbose = verbose;
    /* libedit decodes keys with the C library: UTF-8 needs a UTF-8 LC_CTYPE */
    if (!setlocale(LC_CTYPE, "") || strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        setlocale(LC_CTYPE, "C.UTF-8");
    le->history = edit.history_init();
    le->el = le->history ? edit.el_init("clawspeak", stdin, stderr, stderr) : NULL;
    if (!le->el) {
        cli_lineedit_free(le);
        return NULL;
    }
    edit.history(le->history, &ev, H_SETSIZE, HISTORY_ENTRIES);
    edit.history(le->history, &ev, H_SETUNIQUE, 1);
    edit.el_set(le->el, EL_SIGNAL, 0);
    edit.el_set(le->el, EL_EDITOR, "emacs");
    edit.el_set(le->el, EL_PROMPT, prompt);
    edit.el_set(le->el, EL_HIST, edit.history, le->history);
    edit.el_set(le->el, EL_CLIENTDATA, le);
    edit.el_set(le->el, EL_GETCFN, read_char);
    edit.el_source(le->el, NULL); /* ~/.editrc, as every libedit program */
    if ((le->path = history_path(le)))
        history_load(le);
    return le;
}

char *cli_lineedit_read(cli_lineedit *le, cli_line_status *status)
{
    int count = 0;
    le->interrupted = le->had_text = 0;
    const char *line = edit.el_gets(le->el, &count);
    if (!line || count <= 0) {
        *status = le->interrupted ? le->had_text ? CLI_LINE_CLEARED : CLI_LINE_INTERRUPTED
                                  : CLI_LINE_END;
        return NULL;
    }
    *status = CLI_LINE_TEXT;
    char *copy = strdup(line);
    if (copy)
        copy[strcspn(copy, "\n")] = '\0';
    else
        *status = CLI_LINE_END;
    return copy;
}

void cli_lineedit_remember(cli_lineedit *le, const char *line)
{
    HistEvent ev;
    if (le && *line)
        edit.history(le->history, &ev, H_ENTER, line);
}

void cli_lineedit_free(cli_lineedit *le)
{
    if (!le)
        return;
    if (le->path)
        history_save(le);
    if (le->el)
        edit.el_end(le->el);
    if (le->history)
        edit.history_end(le->history);
    free(le->path);
    free(le);
}
