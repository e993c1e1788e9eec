/* SPDX-License-Identifier: MIT */
/*
 * stderr.c: the tool's own standard error (see cli.h). Kept apart from
 * cli.h, which renames stderr for the rest of the tool.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

FILE *cli_stderr;

void cli_keep_own_stderr(void)
{
    int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    FILE *copy = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!copy && fd >= 0)
        close(fd);
    if (copy)
        setvbuf(copy, NULL, _IONBF, 0); /* as stderr: every message at once */
    cli_stderr = copy ? copy : stderr;
}
