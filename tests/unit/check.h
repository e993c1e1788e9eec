/* SPDX-License-Identifier: MIT */
/*
 * check.h: assertion macros for the unit tests, printing both values on
 * failure (after libuv's test/task.h). A test program exits 1 if any failed.
 */
#ifndef CSP_CHECK_H
#define CSP_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        check_count++;                                                                 \
        if (!(cond)) {                                                                 \
            check_failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

#define CHECK_INT(a, b)                                                                \
    do {                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                          \
        check_count++;                                                                 \
        if (va_ != vb_) {                                                              \
            check_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,       \
                    __LINE__, #a, #b, va_, vb_);                                       \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *sa_ = (a), *sb_ = (b);                                             \
        check_count++;                                                                 \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                   \
            check_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got      \"%s\"\n  expected \"%s\"\n", \
                    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
        }                                                                              \
    } while (0)

#define CHECK_DONE()                                                                   \
    (printf("%d checks, %d failed\n", check_count, check_failures), check_failures ? 1 : 0)
#endif
