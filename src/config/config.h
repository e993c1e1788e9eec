/* SPDX-License-Identifier: MIT */
/*
 * config.h: finding and reading the OpenClaw config file: path search,
 * JSON5, ${VAR} substitution and the inline env block (both layouts).
 */
#ifndef CSP_CONFIG_H
#define CSP_CONFIG_H
#include "clawspeak.h"

#include <cjson/cJSON.h>

struct csp_report;

#define CSP_CONFIG_MAX_BYTES (16u << 20)

typedef struct csp_config {
    char *path;              /* resolved path, whether or not it exists */
    const char *path_source; /* "--config", "OPENCLAW_CONFIG_PATH", ... */
    int exists;
    int others_can_read;     /* group/other read bits set */
    cJSON *root;             /* substituted tree; an empty object when there is no file */
    const cJSON **unresolved; /* string items left with an unresolved ${VAR} */
    size_t unresolved_count;
    /* OpenClaw's local TTS preferences ($OPENCLAW_TTS_PREFS, else settings/tts.json in
       the state directory): over the config, under the command line; NULL when absent */
    char *prefs_path;
    cJSON *prefs;
    /* OpenClaw's .env in its state directory (where its docs put keys): variables the
       process environment and the config's env block do not have; NULL when absent */
    char *dotenv_path;
    cJSON *dotenv;
} csp_config;

/*
 * Find the path as OpenClaw does; explicit_path wins. *path is malloc'd, or
 * NULL when there is no home directory to look in (then no file is read).
 * Returns 0, or -1 when out of memory.
 */
int csp__config_find(const char *explicit_path, char **path, const char **source);
/* Load and substitute. CSP_ECONFIG with file:line:column detail on a bad file. */
csp_code csp__config_load(struct csp_report *report, const char *explicit_path, csp_config *cfg);
void csp__config_free(csp_config *cfg);

/* Read a whole file (capped). Returns 0, or errno. */
int csp__read_file(const char *path, size_t max, char **data, size_t *len);

/*
 * An environment variable: the process environment first, then the config's
 * inline env (env.vars.NAME, then env.NAME). *source says which.
 */
const char *csp__config_getenv(const csp_config *cfg, const char *name, const char **source);
/* True when item is a string still holding an unresolved ${VAR}. */
int csp__config_is_unresolved(const csp_config *cfg, const cJSON *item);
/* True when the file holds a secret: any apiKey member or an inline OPENROUTER_API_KEY. */
int csp__config_holds_key(const csp_config *cfg);
/* Follow a dotted path ("a.b.c") through objects. */
const cJSON *csp__json_at(const cJSON *root, const char *dotted);
#endif
