/* SPDX-License-Identifier: MIT */
/*
 * config.c: reads the OpenClaw config. Substitution follows OpenClaw: only
 * ${UPPER_CASE} names, $${X} escapes to a literal ${X}, and a missing or
 * empty variable stays as written with a warning (a key left that way is
 * treated as absent by the settings resolver).
 */
#include "config.h"

#include "alloc.h"
#include "report.h"
#include "json5.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The home directory: $HOME when it is an absolute path, else the password
 * database's entry. Never a relative path: with HOME unset (cron, systemd,
 * env -i) a config planted in the working directory must not be read.
 */
static const char *home_directory(void)
{
    const char *home = getenv("HOME");
    if (home && home[0] == '/')
        return home;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

int csp__config_find(const char *explicit_path, char **path, const char **source)
{
    const char *v;
    *path = NULL;
    if (explicit_path && *explicit_path) {
        *source = "--config";
        *path = csp__strdup(explicit_path);
    } else if ((v = getenv("OPENCLAW_CONFIG_PATH")) && *v) {
        *source = "OPENCLAW_CONFIG_PATH";
        *path = csp__strdup(v);
    } else if ((v = getenv("OPENCLAW_STATE_DIR")) && *v) {
        *source = "OPENCLAW_STATE_DIR";
        *path = csp__printf("%s/openclaw.json", v);
    } else if ((v = home_directory())) {
        *source = "default";
        *path = csp__printf("%s/.openclaw/openclaw.json", v);
    } else {
        *source = "no home directory";
        return 0;
    }
    return *path ? 0 : -1;
}

int csp__read_file(const char *path, size_t max, char **data, size_t *len)
{
    int rc = 0;
    /* non-blocking to open: a FIFO planted where a config is expected must not hang us */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    csp_buf buf;
    csp__buf_init(&buf, max);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL; /* EINVAL: not a regular file */
        close(fd);
        return err;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = errno;
            break;
        }
        if (n == 0)
            break;
        if (csp__buf_append(&buf, chunk, (size_t)n) < 0) {
            rc = buf.len + (size_t)n > max ? EFBIG : ENOMEM;
            break;
        }
    }
    close(fd);
    if (rc) {
        csp__buf_free(&buf);
        return rc;
    }
    *len = buf.len;
    *data = csp__buf_steal(&buf);
    return *data ? 0 : ENOMEM;
}

const cJSON *csp__json_at(const cJSON *root, const char *dotted)
{
    const cJSON *node = root;
    char part[128];
    while (node && *dotted) {
        size_t n = strcspn(dotted, ".");
        if (n >= sizeof part || !cJSON_IsObject(node))
            return NULL;
        memcpy(part, dotted, n);
        part[n] = '\0';
        node = cJSON_GetObjectItemCaseSensitive(node, part);
        dotted += n + (dotted[n] == '.');
    }
    return node;
}

static const char *inline_env(const cJSON *root, const char *name, const char **source)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "env");
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(env, "vars");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, name);
    if (cJSON_IsString(v) && *v->valuestring) {
        *source = "env.vars";
        return v->valuestring;
    }
    v = cJSON_GetObjectItemCaseSensitive(env, name);
    if (cJSON_IsString(v) && *v->valuestring) {
        *source = "env";
        return v->valuestring;
    }
    return NULL;
}

static int is_var_start(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_var_char(char c) { return is_var_start(c) || (c >= '0' && c <= '9'); }

const char *csp__config_getenv(const csp_config *cfg, const char *name, const char **source)
{
    const char *v = getenv(name);
    if (v && *v) {
        *source = "process";
        return v;
    }
    v = cfg && cfg->root ? inline_env(cfg->root, name, source) : NULL;
    if (v || !cfg || !cfg->dotenv)
        return v;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(cfg->dotenv, name);
    if (!cJSON_IsString(item) || !*item->valuestring)
        return NULL;
    *source = cfg->dotenv_path; /* a path: "FILE:NAME" */
    return item->valuestring;
}

/* NAME=value lines of OpenClaw's .env (an optional "export ", quotes, # comments). OpenClaw
   strips OPENROUTER_API_KEY from its commands' environment, so a key kept there reaches
   clawspeak run by OpenClaw only this way. A file that cannot be read is no .env. */
static csp_code load_dotenv(csp_report *report, csp_config *cfg)
{
    const char *v = getenv("OPENCLAW_STATE_DIR"), *home = home_directory();
    if (v && *v)
        cfg->dotenv_path = csp__printf("%s/.env", v);
    else if (home)
        cfg->dotenv_path = csp__printf("%s/.openclaw/.env", home);
    else
        return CSP_OK;
    char *text = NULL;
    size_t len = 0;
    if (!cfg->dotenv_path || !(cfg->dotenv = cJSON_CreateObject()))
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    if (csp__read_file(cfg->dotenv_path, 1u << 20, &text, &len) != 0)
        return CSP_OK;
    for (char *line = text, *next; line && line < text + len; line = next) {
        next = memchr(line, '\n', (size_t)(text + len - line));
        if (next)
            *next++ = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        if (!strncmp(line, "export ", 7))
            line += 7;
        char *eq = strchr(line, '=');
        if (!eq || !is_var_start(*line))
            continue;
        *eq = '\0';
        int ok = 1;
        for (char *c = line; *c; c++)
            ok &= is_var_char(*c);
        char *value = eq + 1, *end = value + strlen(value);
        while (end > value && strchr(" \t\r", end[-1]))
            *--end = '\0';
        if (end - value >= 2 && (*value == '"' || *value == '\'') && end[-1] == *value)
            *--end = '\0', value++;
        if (ok && !cJSON_GetObjectItemCaseSensitive(cfg->dotenv, line) &&
            !cJSON_AddStringToObject(cfg->dotenv, line, value)) {
            csp__free(text);
            return csp__fail(report, CSP_ENOMEM, "out of memory");
        }
    }
    csp__free(text);
    return CSP_OK;
}

int csp__config_is_unresolved(const csp_config *cfg, const cJSON *item)
{
    for (size_t i = 0; i < cfg->unresolved_count; i++)
        if (cfg->unresolved[i] == item)
            return 1;
    return 0;
}


typedef struct subst_ctx {
    csp_report *report;
    csp_config *cfg;
    int use_inline; /* the inline env block itself is substituted from the process env only */
    csp_code rc;
} subst_ctx;

/* Substitute one string. Returns a new string or NULL (nomem); *unresolved set if any left. */
static char *substitute(subst_ctx *ctx, const char *in, const char *where, int *unresolved)
{
    csp_buf out;
    csp__buf_init(&out, CSP_CONFIG_MAX_BYTES);
    const char *p = in;
    while (*p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            /* $${X} is the escape for a literal ${X}: drop one '$' */
            if (csp__buf_append(&out, "${", 2) < 0)
                goto nomem;
            p += 3;
            continue;
        }
        if (p[0] == '$' && p[1] == '{' && is_var_start(p[2])) {
            const char *name = p + 2, *end = name;
            while (is_var_char(*end))
                end++;
            if (*end == '}') {
                char var[256];
                size_t n = (size_t)(end - name);
                if (n < sizeof var) {
                    memcpy(var, name, n);
                    var[n] = '\0';
                    const char *src = NULL, *val = getenv(var);
                    if ((!val || !*val) && ctx->use_inline)
                        val = inline_env(ctx->cfg->root, var, &src);
                    if (val && *val) {
                        if (csp__buf_append(&out, val, strlen(val)) < 0)
                            goto nomem;
                    } else {
                        *unresolved = 1;
                        csp__log(ctx->report, CSP_LOG_WARN,
                                 "config %s: ${%s} is not set; the value is left unresolved", where,
                                 var);
                        if (csp__buf_append(&out, p, n + 3) < 0)
                            goto nomem;
                    }
                    p = end + 1;
                    continue;
                }
            }
        }
        if (csp__buf_append(&out, p, 1) < 0)
            goto nomem;
        p++;
    }
    return csp__buf_steal(&out);
nomem:
    csp__buf_free(&out);
    return NULL;
}

static int remember_unresolved(csp_config *cfg, const cJSON *item)
{
    size_t n = cfg->unresolved_count;
    if ((n & (n - 1)) == 0) { /* at 0, 1, 2, 4, 8...: double, so many stay linear */
        const cJSON **grown = csp__realloc(cfg->unresolved, (n ? n * 2 : 1) * sizeof *grown);
        if (!grown)
            return -1;
        cfg->unresolved = grown;
    }
    cfg->unresolved[cfg->unresolved_count++] = item;
    return 0;
}

static void walk(subst_ctx *ctx, cJSON *node, const char *where, const cJSON *skip)
{
    for (cJSON *child = node->child; child && ctx->rc == CSP_OK; child = child->next) {
        if (child == skip)
            continue;
        char path[512];
        if (child->string)
            snprintf(path, sizeof path, "%s%s%s", where, *where ? "." : "", child->string);
        else
            snprintf(path, sizeof path, "%s[]", where);
        if (cJSON_IsString(child) && strstr(child->valuestring, "${")) {
            int unresolved = 0;
            char *value = substitute(ctx, child->valuestring, path, &unresolved);
            if (!value) {
                ctx->rc = CSP_ENOMEM;
                return;
            }
            /* a variable's bytes that are not UTF-8 would go raw into a JSON body */
            size_t bad = csp__utf8_validate(value, strlen(value));
            if (bad < strlen(value)) {
                csp__free(value);
                ctx->rc = csp__fail(ctx->report, CSP_ECONFIG, "%s: %s: after ${...} is replaced "
                                    "the value is not valid UTF-8 text (byte %zu); fix the "
                                    "variable", ctx->cfg->path, path, bad + 1);
                return;
            }
            /* replace the string in place; cJSON owns valuestring via its hooks */
            cJSON_free(child->valuestring);
            child->valuestring = cJSON_malloc(strlen(value) + 1);
            if (!child->valuestring) {
                csp__free(value);
                ctx->rc = CSP_ENOMEM;
                return;
            }
            strcpy(child->valuestring, value);
            csp__free(value);
            if (unresolved && remember_unresolved(ctx->cfg, child) < 0)
                ctx->rc = CSP_ENOMEM;
        } else if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
            walk(ctx, child, path, skip);
        }
    }
}

static csp_code read_config(csp_report *report, const char *explicit_path, csp_config *cfg);

/* The local preferences file, if there is one. A broken one is an error naming it. */
static csp_code load_prefs(csp_report *report, csp_config *cfg)
{
    const char *v = getenv("OPENCLAW_TTS_PREFS"), *home;
    if (v && *v)
        cfg->prefs_path = csp__strdup(v);
    else if ((v = getenv("OPENCLAW_STATE_DIR")) && *v)
        cfg->prefs_path = csp__printf("%s/settings/tts.json", v);
    else if ((home = home_directory()))
        cfg->prefs_path = csp__printf("%s/.openclaw/settings/tts.json", home);
    else
        return CSP_OK;
    if (!cfg->prefs_path)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    char *text = NULL;
    size_t len = 0;
    int err = csp__read_file(cfg->prefs_path, 1u << 20, &text, &len);
    if (err == ENOENT)
        return CSP_OK;
    if (err)
        return csp__fail(report, err == ENOMEM ? CSP_ENOMEM : CSP_ECONFIG,
                         "%s: cannot read the TTS preferences: %s", cfg->prefs_path,
                         err == EFBIG ? "larger than 1 MiB"
                         : err == EINVAL ? "not a regular file" : strerror(err));
    csp_json5_error perr;
    cfg->prefs = csp__json5_parse(text, len, NULL, &perr);
    csp__free(text);
    if (!cfg->prefs && perr.out_of_memory)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    if (!cfg->prefs) { /* OpenClaw reads a broken file as no preferences: so do we, saying so */
        csp__log(report, CSP_LOG_WARN, "%s:%zu:%zu: %s (the TTS preferences; ignored, as OpenClaw "
                 "ignores them; fix or remove the file)", cfg->prefs_path, perr.line, perr.column,
                 perr.message);
        return CSP_OK;
    }
    if (!cJSON_IsObject(cfg->prefs))
        return csp__fail(report, CSP_ECONFIG, "%s:1:1: the TTS preferences must be an object",
                         cfg->prefs_path);
    /* OpenClaw's /tts commands write {"tts": {"persona": ..., "provider": ...}} and read only
       that shape: the fields under "tts" are the preferences */
    cJSON *tts = cJSON_DetachItemFromObjectCaseSensitive(cfg->prefs, "tts");
    if (!tts && (cJSON_GetObjectItemCaseSensitive(cfg->prefs, "provider") ||
                 cJSON_GetObjectItemCaseSensitive(cfg->prefs, "persona") ||
                 cJSON_GetObjectItemCaseSensitive(cfg->prefs, "auto")))
        csp__log(report, CSP_LOG_WARN, "%s: provider, persona and auto belong under \"tts\" "
                 "(OpenClaw reads only {\"tts\": {...}}); the top-level ones are ignored",
                 cfg->prefs_path);
    cJSON_Delete(cfg->prefs);
    cfg->prefs = tts;
    if (tts && !cJSON_IsObject(tts))
        return csp__fail(report, CSP_ECONFIG, "%s: \"tts\" in the TTS preferences must be an "
                         "object", cfg->prefs_path);
    return CSP_OK;
}

csp_code csp__config_load(csp_report *report, const char *explicit_path, csp_config *cfg)
{
    csp_code rc = read_config(report, explicit_path, cfg);
    if (rc == CSP_OK)
        rc = load_prefs(report, cfg);
    return rc == CSP_OK ? load_dotenv(report, cfg) : rc;
}

static csp_code read_config(csp_report *report, const char *explicit_path, csp_config *cfg)
{
    csp_code rc = CSP_OK;
    char *text = NULL;
    size_t len = 0;
    memset(cfg, 0, sizeof *cfg);
    if (csp__config_find(explicit_path, &cfg->path, &cfg->path_source) < 0)
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    if (!cfg->path) {
        cfg->path = csp__strdup("(no config: HOME is unset and the user has no home directory)");
        cfg->root = cJSON_CreateObject();
        return cfg->path && cfg->root ? CSP_OK : csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    int err = csp__read_file(cfg->path, CSP_CONFIG_MAX_BYTES, &text, &len);
    if (err == ENOENT) {
        /* no file means defaults, as in OpenClaw; but a path the user typed is a mistake
           (going on without its key would be exit 3 or a surprise voice later) */
        if (strcmp(cfg->path_source, "--config") == 0)
            return csp__fail(report, CSP_ECONFIG, "config %s does not exist; check the path "
                             "(without --config, $OPENCLAW_CONFIG_PATH or "
                             "~/.openclaw/openclaw.json is read)", cfg->path);
        cfg->root = cJSON_CreateObject();
        return cfg->root ? CSP_OK : csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    if (err == EFBIG)
        return csp__fail(report, CSP_ECONFIG, "%s: config file is larger than %u MiB", cfg->path,
                         CSP_CONFIG_MAX_BYTES >> 20);
    if (err == ENOMEM)
        return csp__fail(report, CSP_ENOMEM, "out of memory reading %s", cfg->path);
    if (err)
        return csp__fail(report, CSP_ECONFIG, "%s: cannot read config: %s", cfg->path,
                         err == EINVAL ? "not a regular file" : strerror(err));
    cfg->exists = 1;
    struct stat st;
    if (stat(cfg->path, &st) == 0 && S_ISREG(st.st_mode))
        cfg->others_can_read = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
    else if (stat(cfg->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        csp__free(text);
        return csp__fail(report, CSP_ECONFIG, "%s: not a regular file", cfg->path);
    }

    csp_json5_error perr;
    cfg->root = csp__json5_parse(text, len, NULL, &perr);
    csp__free(text);
    if (!cfg->root) {
        if (perr.out_of_memory)
            return csp__fail(report, CSP_ENOMEM, "out of memory parsing %s", cfg->path);
        return csp__fail(report, CSP_ECONFIG, "%s:%zu:%zu: %s", cfg->path, perr.line,
                         perr.column, perr.message);
    }
    if (!cJSON_IsObject(cfg->root))
        return csp__fail(report, CSP_ECONFIG, "%s:1:1: the config must be an object", cfg->path);

    /* The env block first, from the process env only; then the rest, which may use it. */
    subst_ctx ctx = {report, cfg, 0, CSP_OK};
    cJSON *env = cJSON_GetObjectItemCaseSensitive(cfg->root, "env");
    if (cJSON_IsObject(env))
        walk(&ctx, env, "env", NULL);
    ctx.use_inline = 1;
    if (ctx.rc == CSP_OK)
        walk(&ctx, cfg->root, "", env);
    if (ctx.rc == CSP_ENOMEM)
        rc = csp__fail(report, ctx.rc, "out of memory substituting variables in %s", cfg->path);
    else if (ctx.rc != CSP_OK)
        rc = ctx.rc; /* its message is set */
    return rc;
}

static int holds_key(const cJSON *node)
{
    for (const cJSON *c = node->child; c; c = c->next) {
        if (c->string && cJSON_IsString(c) && *c->valuestring &&
            (strcmp(c->string, "apiKey") == 0 || strcmp(c->string, "OPENROUTER_API_KEY") == 0))
            return 1;
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && holds_key(c))
            return 1;
    }
    return 0;
}

int csp__config_holds_key(const csp_config *cfg) { return cfg->root && holds_key(cfg->root); }

void csp__config_free(csp_config *cfg)
{
    if (!cfg)
        return;
    csp__free(cfg->path);
    cJSON_Delete(cfg->root);
    csp__free(cfg->unresolved);
    csp__free(cfg->prefs_path);
    cJSON_Delete(cfg->prefs);
    csp__free(cfg->dotenv_path);
    cJSON_Delete(cfg->dotenv);
    memset(cfg, 0, sizeof *cfg);
}
