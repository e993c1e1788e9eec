/* SPDX-License-Identifier: MIT */
/*
 * console.c: reply text and log lines on one screen. A reply streams to its
 * stream in pieces while log lines arrive from worker threads; when both
 * reach the same place, a log line that comes while a reply line is open is
 * held and written right after that line ends, so it never splits one.
 */
#include "cli.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Held log lines, bounded: past this a line is ended early to make room. */
#define HELD_MAX 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *text_out;   /* where reply text goes; NULL: no reply yet */
static int shared;       /* text_out and stderr reach the same terminal, file or pipe */
static int line_open;    /* the last reply byte written was not a newline */
static char held[HELD_MAX];
static size_t held_len;

/* Same open file, pipe or terminal: same device and inode (a tty has one too). */
static int same_destination(int a, int b)
{
    struct stat sa, sb;
    if (a == b)
        return 1;
    if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Write what was held; the lock is held. */
static void release_held(void)
{
    if (held_len) {
        fwrite(held, 1, held_len, stderr);
        held_len = 0;
    }
}

void cli_console_set_text(FILE *out)
{
    pthread_mutex_lock(&lock);
    text_out = out;
    shared = same_destination(fileno(out), fileno(stderr));
    line_open = 0;
    pthread_mutex_unlock(&lock);
}

void cli_console_text(const char *text, size_t len)
{
    pthread_mutex_lock(&lock);
    if (text_out && len) {
        /* up to the last newline, then what was held, then the open rest */
        size_t whole = len;
        while (whole && text[whole - 1] != '\n')
            whole--;
        if (whole) {
            fwrite(text, 1, whole, text_out);
            fflush(text_out);
            release_held();
        }
        fwrite(text + whole, 1, len - whole, text_out);
        fflush(text_out);
        line_open = whole ? whole < len : 1;
    }
    pthread_mutex_unlock(&lock);
}

void cli_console_end_text(void)
{
    pthread_mutex_lock(&lock);
    if (text_out) {
        if (line_open)
            fputc('\n', text_out);
        fflush(text_out);
        line_open = 0;
    }
    release_held();
    pthread_mutex_unlock(&lock);
}

void cli_console_log(const char *prefix, const char *message)
{
    pthread_mutex_lock(&lock);
    if (shared && line_open) {
        int n = snprintf(held + held_len, sizeof held - held_len, "clawspeak: %s%s\n", prefix, message);
        if (n >= 0 && (size_t)n < sizeof held - held_len) {
            held_len += (size_t)n;
            goto out;
        }
        /* no room: end the reply's line here, write all that waited, then this */
        fputc('\n', text_out);
        fflush(text_out);
        line_open = 0;
        release_held();
    }
    fprintf(stderr, "clawspeak: %s%s\n", prefix, message);
out:
    pthread_mutex_unlock(&lock);
}
