/* SPDX-License-Identifier: MIT */
/*
 * command.h: the one way clawspeak runs another program (the local speech
 * engine, a transcription command, espeak-ng's voice list). A command runs
 * in its own process group with pipes for its standard streams, no
 * descriptor of ours, no API key in its environment and a depth marker
 * (CLAWSPEAK_DEPTH) that a clawspeak it starts reads as "I am nested".
 * Its end is the whole group's end: when the direct child has exited and
 * its outputs have been quiet for a short grace period, the run is over
 * even if a grandchild still holds the pipes, and csp__command_end kills
 * whatever is left with SIGKILL.
 *
 * A command is never clawspeak itself: csp__command_is_self compares the
 * resolved program with /proc/self/exe (links and $PATH resolved), and a
 * nested run (csp__nested) starts no command but the built-in espeak-ng.
 */
#ifndef CSP_COMMAND_H
#define CSP_COMMAND_H
#include "alloc.h"
#include <stddef.h>
#include <sys/types.h>

/* stderr kept to tell the user why a command failed; the rest is read and dropped */
#define CSP_COMMAND_ERRORS_KEPT 1024
/* how long output may go on after the direct child exited 0 (a grandchild holding a pipe) */
#define CSP_COMMAND_GRACE_MS 200

typedef struct csp_command_spec {
    const char *program;          /* looked up in $PATH when it has no '/' */
    char *const *argv;            /* argv[0] included, NULL-terminated */
    const char *const *extra_env; /* "NAME=value" strings added, NULL-terminated; may be NULL */
    int text_on_stdin;            /* a pipe to its stdin (else /dev/null) */
    const char *cwd;              /* may be NULL */
} csp_command_spec;

typedef struct csp_command {
    pid_t pid;                  /* the direct child; 0 once reaped */
    pid_t group;                /* its process group, killed as a whole at the end */
    int in_fd, out_fd, err_fd;  /* our ends, non-blocking; -1 once closed */
    int exited;                 /* the direct child has been reaped */
    int status;                 /* its wait status then */
    long long quiet_since_ms;   /* the last time output came, or the child exited */
    char errors[CSP_COMMAND_ERRORS_KEPT];
    size_t errors_len;
    int cleanup_slot;
} csp_command;

/* Start it. Returns 0, or an errno value (why is filled in; nothing is left running). */
int csp__command_start(const csp_command_spec *spec, csp_command *cmd, char *why, size_t size);

/* Read what is ready on its stderr into errors (the first CSP_COMMAND_ERRORS_KEPT bytes). */
void csp__command_read_errors(csp_command *cmd);

/* Note output (resets the grace period). */
void csp__command_saw_output(csp_command *cmd);

/*
 * Has it finished? Reaps the direct child without blocking. 1 when the
 * child has exited and either both outputs are closed or nothing came for
 * the grace period (then the outputs are closed here); else 0.
 */
int csp__command_finished(csp_command *cmd);

/* The direct child exited with status 0. */
int csp__command_succeeded(const csp_command *cmd);

/* "exit status 3: <its first stderr line>" or "killed by signal 9". */
void csp__command_failure(const csp_command *cmd, char *out, size_t size);

/* Close our ends and end the whole group: SIGTERM, SIGKILL after 0.5 s, and
   SIGKILL for anything of the group left behind even after a clean exit. */
void csp__command_end(csp_command *cmd);

/* Is program (as a config names it) this very executable? */
int csp__command_is_self(const char *program);

/* Was this process started by a clawspeak as one of its commands? */
int csp__nested(void);

/*
 * An argument with OpenClaw's placeholders filled in, as its templates do: "{{ Name }}" with
 * any spaces inside the braces and the name in any case; a name not in names becomes empty.
 * NULL when out of memory (or past cap bytes).
 */
char *csp__expand_template(const char *arg, const char *const *names, const char *const *values,
                           size_t count, size_t cap);

/* Does arg hold the placeholder name (as csp__expand_template reads it)? */
int csp__template_uses(const char *arg, const char *name);

/* The first non-blank line of text, control characters as '?'. */
void csp__first_line(const char *text, size_t len, char *out, size_t size);
#endif
