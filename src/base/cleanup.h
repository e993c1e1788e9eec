/* SPDX-License-Identifier: MIT */
/*
 * cleanup.h: what a run leaves on disk or running while it works (a
 * temporary file beside the target, the local engine's private directory
 * and its child), registered so that csp_emergency_cleanup() can remove it
 * from a signal handler when the process must end at once. Ordinary
 * success and failure paths clean up themselves and then unregister.
 */
#ifndef CSP_CLEANUP_H
#define CSP_CLEANUP_H
#include <sys/types.h>

/* Returns a slot number (>= 0), or -1 when the table is full (nothing registered). */
int csp__cleanup_add_file(const char *path);
int csp__cleanup_add_dir(const char *path);
int csp__cleanup_add_child(pid_t pid);
void csp__cleanup_remove(int slot); /* accepts -1 */
#endif
