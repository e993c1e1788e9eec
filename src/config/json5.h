/* SPDX-License-Identifier: MIT */
/*
 * json5.h: a small, strict JSON5 reader that builds cJSON trees.
 * Debian ships no maintained C JSON5 library. Errors carry line and column
 * (1-based, columns in code points) and say what was expected.
 * Optional path tracking records where a member sits in the source text, so
 * config_edit.c can change one value and leave comments and layout alone.
 */
#ifndef CSP_JSON5_H
#define CSP_JSON5_H
#include <cjson/cJSON.h>
#include <stddef.h>

#define CSP_JSON5_MAX_DEPTH 64
#define CSP_JSON5_TRACK_LEVELS 8

typedef struct csp_json5_error {
    size_t offset, line, column;
    int out_of_memory; /* the input may be fine: memory ran out */
    char message[200];
} csp_json5_error;

/* Where one object on the tracked path sits in the text (offsets in bytes). */
typedef struct csp_json5_level {
    size_t value_start, value_end; /* the member's value, [start, end) */
    int is_object;
    size_t close_brace;      /* offset of '}' when is_object */
    int has_members;         /* at least one member */
    size_t last_value_end;   /* end of the last member's value */
    int trailing_comma;      /* a ',' follows the last member */
    size_t last_key_start;   /* start of the last member's key (for indentation) */
} csp_json5_level;

typedef struct csp_json5_track {
    const char *const *path; /* member names from the root */
    size_t depth;            /* number of names, < CSP_JSON5_TRACK_LEVELS */
    size_t found;            /* levels found: level[0] is the root, level[i] is path[0..i-1] */
    csp_json5_level level[CSP_JSON5_TRACK_LEVELS];
} csp_json5_track;

/* Parse len bytes. Returns a tree (free with cJSON_Delete) or NULL with *err set. */
cJSON *csp__json5_parse(const char *text, size_t len, csp_json5_track *track,
                        csp_json5_error *err);

#endif
