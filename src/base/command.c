/* SPDX-License-Identifier: MIT */
/* command.c: see command.h. */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include "command.h"

#include "cleanup.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int csp__nested(void)
{
    /* CLAWSPEAK_LOCAL_ENGINE: the marker of clawspeak 0.2, still honoured */
    return getenv("CLAWSPEAK_DEPTH") != NULL || getenv("CLAWSPEAK_LOCAL_ENGINE") != NULL;
}

/* Where program resolves to, as exec would find it; 0 when it does not. */
static int resolve_program(const char *program, char out[4096])
{
    char found[4096];
    if (strchr(program, '/'))
        return realpath(program, out) != NULL;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *dir = path; *dir; dir += strcspn(dir, ":"), dir += *dir == ':') {
        int len = (int)strcspn(dir, ":");
        snprintf(found, sizeof found, "%.*s/%s", len ? len : 1, len ? dir : ".", program);
        if (access(found, X_OK) == 0)
            return realpath(found, out) != NULL;
    }
    return 0;
}

int csp__command_is_self(const char *program)
{
    const char *base = strrchr(program, '/') ? strrchr(program, '/') + 1 : program;
    if (!strcmp(base, "clawspeak"))
        return 1;
    char self[4096], other[4096];
    if (!realpath("/proc/self/exe", self))
        return 0;
    return resolve_program(program, other) && !strcmp(self, other);
}

/* Ours without any API key or marker of ours, plus extra and the depth marker. */
static char **child_environment(const char *const *extra, char *depth)
{
    size_t count = 0, extras = 0;
    while (environ[count])
        count++;
    while (extra && extra[extras])
        extras++;
    char **env = csp__calloc(count + extras + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "OPENROUTER_API_KEY=", 19) && strncmp(environ[i], "OPENAI_API_KEY=", 15) &&
            strncmp(environ[i], "CLAWSPEAK_", 10))
            env[n++] = environ[i];
    for (size_t i = 0; i < extras; i++)
        env[n++] = (char *)extra[i];
    const char *now = getenv("CLAWSPEAK_DEPTH");
    long level = now ? strtol(now, NULL, 10) : 0;
    snprintf(depth, 32, "CLAWSPEAK_DEPTH=%ld", (level < 0 || level > 99 ? 0 : level) + 1);
    env[n++] = depth;
    return env;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int csp__command_start(const csp_command_spec *spec, csp_command *cmd, char *why, size_t size)
{
    memset(cmd, 0, sizeof *cmd);
    cmd->in_fd = cmd->out_fd = cmd->err_fd = cmd->cleanup_slot = -1;
    if (csp__command_is_self(spec->program)) {
        snprintf(why, size, "'%s' is clawspeak itself: it would run itself without end", spec->program);
        return ELOOP;
    }
    int child[3] = {-1, -1, -1}, ours[3] = {-1, -1, -1}, err = 0;
    for (int i = 0; i < 3 && !err; i++) {
        if (i == 0 && !spec->text_on_stdin)
            continue;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0) {
            err = errno;
            break;
        }
        child[i] = fds[i == 0 ? 0 : 1];
        ours[i] = fds[i == 0 ? 1 : 0];
        fcntl(ours[i], F_SETFL, O_NONBLOCK);
    }
    char depth[32];
    char **env = err ? NULL : child_environment(spec->extra_env, depth);
    if (!err && !env)
        err = ENOMEM;
    if (!err) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (spec->text_on_stdin)
            posix_spawn_file_actions_adddup2(&actions, child[0], STDIN_FILENO);
        else
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, child[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, child[2], STDERR_FILENO);
        /* nothing else of ours: libcurl's wakeup socketpair is not close-on-exec */
        posix_spawn_file_actions_addclosefrom_np(&actions, 3);
        if (spec->cwd)
            posix_spawn_file_actions_addchdir_np(&actions, spec->cwd);
        /* its own process group, so the end reaches everything it started */
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        err = posix_spawnp(&cmd->pid, spec->program, &actions, &attr, spec->argv, env);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
    }
    csp__free(env);
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0)
            close(child[i]);
    if (err) {
        for (int i = 0; i < 3; i++)
            close_fd(&ours[i]);
        cmd->pid = 0;
        snprintf(why, size, "cannot run '%s': %s", spec->program, strerror(err));
        return err;
    }
    cmd->group = cmd->pid;
    cmd->in_fd = ours[0], cmd->out_fd = ours[1], cmd->err_fd = ours[2];
    cmd->quiet_since_ms = csp__now_ms();
    cmd->cleanup_slot = csp__cleanup_add_child(cmd->pid);
    return 0;
}

void csp__command_saw_output(csp_command *cmd) { cmd->quiet_since_ms = csp__now_ms(); }

void csp__command_read_errors(csp_command *cmd)
{
    char block[4096];
    for (;;) {
        ssize_t n = cmd->err_fd >= 0 ? read(cmd->err_fd, block, sizeof block) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close_fd(&cmd->err_fd);
            return;
        }
        cmd->quiet_since_ms = csp__now_ms();
        size_t keep = sizeof cmd->errors - 1 - cmd->errors_len;
        if ((size_t)n < keep)
            keep = (size_t)n;
        memcpy(cmd->errors + cmd->errors_len, block, keep);
        cmd->errors_len += keep;
    }
}

int csp__command_finished(csp_command *cmd)
{
    if (!cmd->exited && cmd->pid > 0) {
        int status;
        pid_t got = waitpid(cmd->pid, &status, WNOHANG);
        if (got == cmd->pid) {
            cmd->exited = 1;
            cmd->status = status;
            cmd->pid = 0;
            csp__cleanup_remove(cmd->cleanup_slot);
            cmd->cleanup_slot = -1;
            cmd->quiet_since_ms = csp__now_ms();
        }
    }
    if (!cmd->exited)
        return 0;
    if (cmd->out_fd < 0 && cmd->err_fd < 0)
        return 1;
    /* a grandchild (a background job of a wrapper script) may hold the pipes for ever */
    if (csp__now_ms() - cmd->quiet_since_ms < CSP_COMMAND_GRACE_MS)
        return 0;
    close_fd(&cmd->out_fd);
    close_fd(&cmd->err_fd);
    return 1;
}

int csp__command_succeeded(const csp_command *cmd)
{
    return cmd->exited && WIFEXITED(cmd->status) && WEXITSTATUS(cmd->status) == 0;
}

/* The next placeholder at or after p: it starts at *open, its name is [*name, *end); returns
   the byte past its "}}", or NULL when there is none. A "{{" before anything but a bare word
   (spaces around it allowed) is no placeholder and stays as it is. */
static const char *next_placeholder(const char *p, const char **open, const char **name,
                                    const char **end)
{
    for (; (p = strstr(p, "{{")) != NULL; p++) {
        const char *close = strstr(p + 2, "}}");
        if (!close)
            return NULL;
        const char *n = p + 2, *e = close;
        while (n < e && (*n == ' ' || *n == '\t'))
            n++;
        while (e > n && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        int word = e > n;
        for (const char *c = n; word && c < e; c++)
            word = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
        if (word) {
            *open = p, *name = n, *end = e;
            return close + 2;
        }
    }
    return NULL;
}

static int same_name(const char *name, const char *n, const char *e)
{
    return strlen(name) == (size_t)(e - n) && !strncasecmp(name, n, (size_t)(e - n));
}

char *csp__expand_template(const char *arg, const char *const *names, const char *const *values,
                           size_t count, size_t cap)
{
    csp_buf out;
    csp__buf_init(&out, cap);
    const char *p = arg, *open, *n, *e, *after;
    int ok = 1;
    /* A value never turns an argument into an option: text such as "-w/etc/x" that opens
       an argument is given a leading space, which speech ignores and getopt does not
       read as an option. (An argument the user wrote with a dash stays as written.) */
    if (next_placeholder(p, &open, &n, &e) && open == arg)
        for (size_t i = 0; i < count; i++)
            if (same_name(names[i], n, e) && values[i][0] == '-')
                ok = csp__buf_append(&out, " ", 1) == 0;
    while (ok && (after = next_placeholder(p, &open, &n, &e)) != NULL) {
        const char *value = "";
        for (size_t i = 0; i < count; i++)
            if (same_name(names[i], n, e))
                value = values[i];
        ok = csp__buf_append(&out, p, (size_t)(open - p)) == 0 &&
             csp__buf_append(&out, value, strlen(value)) == 0;
        p = after;
    }
    if (ok)
        ok = csp__buf_append(&out, p, strlen(p)) == 0;
    if (!ok) {
        csp__buf_free(&out);
        return NULL;
    }
    return out.data ? csp__buf_steal(&out) : csp__strdup("");
}

/* No allocation: a check that cannot fail for want of memory. */
int csp__template_uses(const char *arg, const char *name)
{
    const char *open, *n, *e;
    for (const char *p = arg; (p = next_placeholder(p, &open, &n, &e)) != NULL;)
        if (same_name(name, n, e))
            return 1;
    return 0;
}

void csp__first_line(const char *text, size_t len, char *out, size_t size)
{
    const char *p = text, *end = text + len;
    while (p < end && strchr(" \t\r\n", *p))
        p++;
    size_t used = 0;
    for (; p < end && *p != '\n' && used + 1 < size; p++)
        out[used++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    out[used] = '\0';
}

void csp__command_failure(const csp_command *cmd, char *out, size_t size)
{
    char said[240];
    csp__first_line(cmd->errors, cmd->errors_len, said, sizeof said);
    if (WIFEXITED(cmd->status))
        snprintf(out, size, "exit status %d%s%s", WEXITSTATUS(cmd->status), said[0] ? ": " : "", said);
    else
        snprintf(out, size, "killed by signal %d%s%s", WIFSIGNALED(cmd->status) ? WTERMSIG(cmd->status) : 0,
                 said[0] ? ": " : "", said);
}

void csp__command_end(csp_command *cmd)
{
    close_fd(&cmd->in_fd);
    close_fd(&cmd->out_fd);
    close_fd(&cmd->err_fd);
    if (cmd->pid > 0) {
        kill(-cmd->group, SIGTERM);
        /* a command that ignores SIGTERM gets SIGKILL after 150 ms: inside the 300 ms OpenClaw
           gives us between its own SIGTERM and SIGKILL */
        pid_t done = 0;
        for (int i = 0; i < 15 && (done = waitpid(cmd->pid, NULL, WNOHANG)) == 0; i++) {
            struct timespec nap = {0, 10 * 1000000L};
            nanosleep(&nap, NULL);
        }
        if (done == 0) {
            kill(-cmd->group, SIGKILL);
            while (waitpid(cmd->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        cmd->pid = 0;
    }
    /* whatever of the group outlived its leader (a grandchild that ignores SIGTERM) */
    if (cmd->group > 0)
        kill(-cmd->group, SIGKILL);
    cmd->group = 0;
    csp__cleanup_remove(cmd->cleanup_slot);
    cmd->cleanup_slot = -1;
}
