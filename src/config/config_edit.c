/* SPDX-License-Identifier: MIT */
/*
 * config_edit.c: `clawspeak models set REF` writes agents.defaults.model.primary
 * by editing the source text in place. OpenClaw rewrites the whole file as
 * plain JSON, losing comments and layout; we change only the bytes of the
 * value (or insert the missing members), then replace the file atomically
 * with the same permissions.
 */
#include "alloc.h"
#include "atomic_file.h"
#include "client.h"
#include "config.h"
#include "json5.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const model_path[] = {"agents", "defaults", "model", "primary"};
#define MODEL_PATH_DEPTH 4

/* The value as a JSON string literal. */
static int append_quoted(csp_buf *out, const char *value)
{
    cJSON *s = cJSON_CreateString(value);
    char *quoted = s ? cJSON_PrintUnformatted(s) : NULL;
    int rc = quoted ? csp__buf_append(out, quoted, strlen(quoted)) : -1;
    cJSON_free(quoted);
    cJSON_Delete(s);
    return rc;
}

/* Members path[from..] nested as objects around the value, indented one step per level;
   keys in quotes q ("\"", "'" or "" for JSON5's bare keys, as the file writes its own). */
static int append_nested(csp_buf *out, size_t from, const char *value, const char *indent,
                         const char *step, const char *q)
{
    if (from == MODEL_PATH_DEPTH - 1)
        return csp__buf_appendf(out, "%s%s%s: ", q, model_path[from], q) < 0 ? -1
                                                                           : append_quoted(out, value);
    char inner[128];
    snprintf(inner, sizeof inner, "%s%s", indent, step);
    if (csp__buf_appendf(out, "%s%s%s: {\n%s", q, model_path[from], q, inner) < 0 ||
        append_nested(out, from + 1, value, inner, step, q) < 0 ||
        csp__buf_appendf(out, "\n%s}", indent) < 0)
        return -1;
    return 0;
}

/* How the file quotes its keys: as the last key of the deepest level that has one. */
static const char *key_quote(const csp_json5_track *track, size_t found, const char *text)
{
    for (size_t i = found; i-- > 0;)
        if (track->level[i].has_members) {
            char c = text[track->level[i].last_key_start];
            return c == '"' ? "\"" : c == '\'' ? "'" : "";
        }
    return "\"";
}

/* Leading whitespace of the line holding offset. */
static void line_indent(const char *text, size_t offset, char *out, size_t size)
{
    size_t start = offset;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    size_t n = 0;
    while (start + n < offset && (text[start + n] == ' ' || text[start + n] == '\t') &&
           n + 1 < size)
        n++;
    memcpy(out, text + start, n);
    out[n] = '\0';
}

/* Only whitespace between the line start and offset. */
static int starts_line(const char *text, size_t offset)
{
    while (offset > 0 && text[offset - 1] != '\n') {
        if (text[offset - 1] != ' ' && text[offset - 1] != '\t')
            return 0;
        offset--;
    }
    return 1;
}

/* Build the edited text. Returns CSP_OK, CSP_ECONFIG (path blocked by a non-object), CSP_ENOMEM. */
static csp_code edit_text(csp_client *client, const char *path, const char *text, size_t len,
                          const char *value, csp_buf *out)
{
    csp_json5_track track = {model_path, MODEL_PATH_DEPTH, 0, {{0}}};
    csp_json5_error err;
    cJSON *root = csp__json5_parse(text, len, &track, &err);
    if (!root)
        return csp__fail(&client->report, CSP_ECONFIG, "%s:%zu:%zu: %s", path, err.line, err.column,
                         err.message);
    cJSON_Delete(root);
    size_t found = track.found; /* levels present: 1 = root only ... 5 = the value itself */
    if (found == MODEL_PATH_DEPTH + 1) {
        const csp_json5_level *lv = &track.level[MODEL_PATH_DEPTH];
        if (csp__buf_append(out, text, lv->value_start) < 0 || append_quoted(out, value) < 0 ||
            csp__buf_append(out, text + lv->value_end, len - lv->value_end) < 0)
            return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
        return CSP_OK;
    }
    const csp_json5_level *parent = &track.level[found - 1];
    if (!parent->is_object) {
        char where[128] = "the top level";
        if (found > 1) {
            where[0] = '\0';
            for (size_t i = 0; i + 1 < found; i++)
                snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s",
                         i ? "." : "", model_path[i]);
        }
        return csp__fail(&client->report, CSP_ECONFIG, "%s: %s is not an object; cannot set %s", path,
                         where, "agents.defaults.model.primary");
    }
    /* Insert the missing members into the deepest existing object. */
    char indent[136], close_indent[128];
    line_indent(text, parent->close_brace, close_indent, sizeof close_indent);
    if (parent->has_members)
        line_indent(text, parent->last_key_start, indent, sizeof indent);
    else
        snprintf(indent, sizeof indent, "%s  ", close_indent);
    size_t cut = parent->close_brace;
    int own_line = starts_line(text, parent->close_brace);
    if (own_line) /* insert before the line that holds the closing brace */
        while (cut > 0 && text[cut - 1] != '\n')
            cut--;
    int ok = 1;
    const char *q = key_quote(&track, found, text);
    if (parent->has_members && !parent->trailing_comma) {
        ok = csp__buf_append(out, text, parent->last_value_end) == 0 &&
             csp__buf_append(out, ",", 1) == 0 &&
             csp__buf_append(out, text + parent->last_value_end, cut - parent->last_value_end) == 0;
    } else {
        ok = csp__buf_append(out, text, cut) == 0;
    }
    if (ok && own_line)
        ok = csp__buf_appendf(out, "%s", indent) == 0 &&
             append_nested(out, found - 1, value, indent, "  ", q) == 0 &&
             csp__buf_append(out, "\n", 1) == 0;
    else if (ok)
        ok = csp__buf_append(out, " ", 1) == 0 &&
             append_nested(out, found - 1, value, "", "", q) == 0 &&
             csp__buf_append(out, " ", 1) == 0;
    if (ok)
        ok = csp__buf_append(out, text + cut, len - cut) == 0;
    return ok ? CSP_OK : csp__fail(&client->report, CSP_ENOMEM, "out of memory");
}

static int mkdir_parents(const char *path)
{
    char *copy = csp__strdup(path);
    if (!copy)
        return ENOMEM;
    int rc = 0;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST)
            rc = errno;
        *p = '/';
    }
    csp__free(copy);
    return rc;
}

/*
 * Replace path with data, atomically: through a symlink (dotfile managers
 * such as stow link the config), keeping mode and owner, refusing a config
 * the user cannot write. A new file is 0600: it may later hold a key.
 */
static csp_code replace_file(csp_client *client, const char *path, const char *data, size_t len)
{
    csp_atomic_file f;
    const char *step;
    int err = csp__atomic_begin(&f, path, 0600, &step);
    size_t done = 0;
    while (!err && done < len) {
        ssize_t n = write(f.fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            err = n < 0 ? errno : EIO, step = "write it";
        else
            done += (size_t)n;
    }
    if (!err)
        err = csp__atomic_commit(&f, &step);
    else
        csp__atomic_abort(&f);
    if (err == ENOMEM)
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    if (err)
        return csp__fail(&client->report, CSP_EOUTPUT, "%s: cannot %s: %s", path, step, strerror(err));
    return CSP_OK;
}

csp_code csp_config_set_model(csp_client *client, const char *config_path, const char *model_ref)
{
    const char *source;
    char *path = NULL, *text = NULL;
    size_t len = 0;
    csp_buf out;
    csp__buf_init(&out, CSP_CONFIG_MAX_BYTES * 2);
    csp_code rc = CSP_OK;
    if (csp__config_find(config_path, &path, &source) < 0)
        return csp__fail(&client->report, CSP_ENOMEM, "out of memory");
    if (!path)
        return csp__fail(&client->report, CSP_EUSAGE,
                         "no config to edit: HOME is unset and the user has no home directory; "
                         "give --config PATH");
    char *id = csp__chat_model_id(model_ref);
    if (!id) {
        rc = csp__fail(&client->report, CSP_EUSAGE,
                       "model ref '%s' is not an OpenRouter ref; use openrouter/<provider>/<model> "
                       "or openrouter/auto",
                       model_ref);
        goto out;
    }
    int err = csp__read_file(path, CSP_CONFIG_MAX_BYTES, &text, &len);
    if (err == ENOENT) {
        if ((err = mkdir_parents(path)) != 0) {
            rc = csp__fail(&client->report, CSP_EOUTPUT, "%s: cannot create its directory: %s", path,
                           strerror(err));
            goto out;
        }
        if (csp__buf_append(&out, "{\n  ", 4) < 0 ||
            append_nested(&out, 0, model_ref, "  ", "  ", "\"") < 0 ||
            csp__buf_append(&out, "\n}\n", 3) < 0) {
            rc = csp__fail(&client->report, CSP_ENOMEM, "out of memory");
            goto out;
        }
    } else if (err) {
        rc = csp__fail(&client->report, CSP_ECONFIG, "%s: cannot read config: %s", path, strerror(err));
        goto out;
    } else if ((rc = edit_text(client, path, text, len, model_ref, &out)) != CSP_OK) {
        goto out;
    }
    rc = replace_file(client, path, out.data, out.len);
out:
    csp__free(id);
    csp__free(text);
    csp__buf_free(&out);
    csp__free(path);
    return rc;
}
