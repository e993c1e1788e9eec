/* SPDX-License-Identifier: MIT */
/*
 * cleanup.c: a fixed table of things to undo if the process must end now.
 * Fixed-size and lock-free: csp_emergency_cleanup() runs in a signal
 * handler, where only async-signal-safe calls (unlink, rmdir, kill) are
 * allowed and no lock may be taken. A slot is filled, then published by
 * its state; the handler only reads published slots.
 */
#include "cleanup.h"

#include "clawspeak.h"

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 16

enum { FREE = 0, CLAIMED, FILE_PATH, DIR_PATH, CHILD };

static struct {
    atomic_int state;
    char path[PATH_MAX];
    pid_t pid;
} slots[SLOTS];

static int claim(void)
{
    for (int i = 0; i < SLOTS; i++) {
        int expected = FREE;
        if (atomic_compare_exchange_strong(&slots[i].state, &expected, CLAIMED))
            return i;
    }
    return -1;
}

static int add_path(const char *path, int kind)
{
    if (strlen(path) >= PATH_MAX)
        return -1;
    int i = claim();
    if (i >= 0) {
        strcpy(slots[i].path, path);
        atomic_store(&slots[i].state, kind);
    }
    return i;
}

int csp__cleanup_add_file(const char *path) { return add_path(path, FILE_PATH); }
int csp__cleanup_add_dir(const char *path) { return add_path(path, DIR_PATH); }

int csp__cleanup_add_child(pid_t pid)
{
    int i = claim();
    if (i >= 0) {
        slots[i].pid = pid;
        atomic_store(&slots[i].state, CHILD);
    }
    return i;
}

void csp__cleanup_remove(int slot)
{
    if (slot >= 0 && slot < SLOTS)
        atomic_store(&slots[slot].state, FREE);
}

void csp_emergency_cleanup(void)
{
    /* children first (they may still write into the directories), then files, then dirs */
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&slots[i].state) == CHILD)
            kill(-slots[i].pid, SIGKILL); /* children run in their own process group */
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&slots[i].state) == FILE_PATH)
            unlink(slots[i].path);
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&slots[i].state) == DIR_PATH)
            rmdir(slots[i].path);
}
