/* SPDX-License-Identifier: MIT */
/*
 * json5.c: recursive-descent JSON5 reader (https://spec.json5.org/).
 * Strict: the whole input must be valid UTF-8 and exactly one value; the
 * first error stops the parse. Duplicate keys: the last one wins, as in JSON5
 * implementations built on ECMAScript objects.
 */
#include "json5.h"

#include "alloc.h"
#include "utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *text;
    size_t len, pos;
    csp_json5_error *err;
    csp_json5_track *track;
    int failed;
} parser;

/* Line and column (1-based, columns in code points) of a byte offset. */
static void position(const char *text, size_t len, size_t offset, size_t *line, size_t *column)
{
    size_t l = 1, c = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n' || (ch == '\r' && !(i + 1 < len && text[i + 1] == '\n'))) {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80 && ch != '\r') {
            c++;
        }
    }
    *line = l;
    *column = c;
}

static void describe_at(parser *p, size_t at, char *out, size_t size)
{
    if (at >= p->len) {
        snprintf(out, size, "end of input");
        return;
    }
    unsigned char c = (unsigned char)p->text[at];
    if (c == '\n' || c == '\r')
        snprintf(out, size, "end of line");
    else if (c >= 0x20 && c < 0x7F)
        snprintf(out, size, "'%c'", c);
    else if (c < 0x80)
        snprintf(out, size, "control character 0x%02X", c);
    else {
        uint32_t cp = 0;
        csp__utf8_decode((const unsigned char *)p->text + at, p->len - at, &cp);
        snprintf(out, size, "U+%04X", (unsigned)cp);
    }
}

__attribute__((format(printf, 3, 4))) static void fail_at(parser *p, size_t at, const char *fmt,
                                                           ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    p->err->offset = at;
    position(p->text, p->len, at, &p->err->line, &p->err->column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
    va_end(ap);
}

/* Memory ran out: not the input's fault, so callers report it as such. */
static void fail_nomem(parser *p, size_t at)
{
    if (p->failed)
        return; /* the first failure is the one reported */
    fail_at(p, at, "out of memory");
    p->err->out_of_memory = 1;
}

static void expected(parser *p, const char *what)
{
    char found[40];
    describe_at(p, p->pos, found, sizeof found);
    fail_at(p, p->pos, "expected %s, found %s", what, found);
}

static uint32_t peek_cp(parser *p, size_t at, size_t *n)
{
    uint32_t cp = 0;
    *n = csp__utf8_decode((const unsigned char *)p->text + at, p->len - at, &cp);
    return cp;
}

static int is_json5_space(uint32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
    case 0xA0: case 0xFEFF: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

static int is_line_terminator(uint32_t cp)
{
    return cp == '\n' || cp == '\r' || cp == 0x2028 || cp == 0x2029;
}

/* Skip whitespace and comments. Returns 0, or -1 after an unterminated comment. */
static int skip_space(parser *p)
{
    while (p->pos < p->len) {
        size_t n;
        uint32_t cp = peek_cp(p, p->pos, &n);
        if (is_json5_space(cp)) {
            p->pos += n;
        } else if (cp == '/' && p->pos + 1 < p->len && p->text[p->pos + 1] == '/') {
            while (p->pos < p->len) {
                cp = peek_cp(p, p->pos, &n);
                if (is_line_terminator(cp))
                    break;
                p->pos += n;
            }
        } else if (cp == '/' && p->pos + 1 < p->len && p->text[p->pos + 1] == '*') {
            size_t start = p->pos;
            const char *end = NULL;
            for (size_t i = p->pos + 2; i + 1 < p->len; i++)
                if (p->text[i] == '*' && p->text[i + 1] == '/') {
                    end = p->text + i;
                    break;
                }
            if (!end) {
                fail_at(p, start, "unterminated block comment (expected '*/')");
                return -1;
            }
            p->pos = (size_t)(end - p->text) + 2;
        } else if (cp == '/') {
            fail_at(p, p->pos, "expected '//' or '/*' to start a comment, found '/'");
            return -1;
        } else {
            break;
        }
    }
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex(parser *p, size_t at, int digits, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        if (at + (size_t)i >= p->len || hex_value(p->text[at + (size_t)i]) < 0)
            return -1;
        v = v * 16 + (uint32_t)hex_value(p->text[at + (size_t)i]);
    }
    *out = v;
    return 0;
}

/* Parse a quoted string at p->pos into a NUL-terminated copy (may contain no NUL). */
static char *parse_string(parser *p)
{
    char quote = p->text[p->pos];
    size_t start = p->pos++;
    csp_buf out;
    csp__buf_init(&out, p->len + 1);
    for (;;) {
        if (p->pos >= p->len) {
            fail_at(p, start, "unterminated string (expected closing %c)", quote);
            goto fail;
        }
        size_t n;
        uint32_t cp = peek_cp(p, p->pos, &n);
        if (cp == (uint32_t)quote) {
            p->pos++;
            break;
        }
        if (cp == '\n' || cp == '\r') {
            fail_at(p, start, "unterminated string (expected closing %c before end of line)",
                    quote);
            goto fail;
        }
        if (cp != '\\') {
            if (csp__buf_append(&out, p->text + p->pos, n) < 0)
                goto nomem;
            p->pos += n;
            continue;
        }
        size_t esc = p->pos++;
        if (p->pos >= p->len) {
            fail_at(p, start, "unterminated string (expected closing %c)", quote);
            goto fail;
        }
        cp = peek_cp(p, p->pos, &n);
        char enc[4];
        size_t enc_len = 0;
        switch (cp) {
        case 'b': enc[0] = '\b', enc_len = 1; break;
        case 'f': enc[0] = '\f', enc_len = 1; break;
        case 'n': enc[0] = '\n', enc_len = 1; break;
        case 'r': enc[0] = '\r', enc_len = 1; break;
        case 't': enc[0] = '\t', enc_len = 1; break;
        case 'v': enc[0] = '\v', enc_len = 1; break;
        case '0':
            if (p->pos + 1 < p->len && p->text[p->pos + 1] >= '0' && p->text[p->pos + 1] <= '9') {
                fail_at(p, esc, "bad escape: '\\0' must not be followed by a digit");
                goto fail;
            }
            /* A NUL cannot live in a C string; a config value never needs one. */
            fail_at(p, esc, "bad escape: '\\0' (NUL characters are not allowed in strings)");
            goto fail;
        case 'x': {
            uint32_t v;
            if (read_hex(p, p->pos + 1, 2, &v) < 0) {
                fail_at(p, esc, "bad escape: expected two hex digits after '\\x'");
                goto fail;
            }
            if (v == 0) {
                fail_at(p, esc, "bad escape: NUL characters are not allowed in strings");
                goto fail;
            }
            enc_len = csp__utf8_encode(v, enc);
            p->pos += 2;
            break;
        }
        case 'u': {
            uint32_t v, low;
            if (read_hex(p, p->pos + 1, 4, &v) < 0) {
                fail_at(p, esc, "bad escape: expected four hex digits after '\\u'");
                goto fail;
            }
            p->pos += 4;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (p->pos + 6 < p->len && p->text[p->pos + 1] == '\\' &&
                    p->text[p->pos + 2] == 'u' && read_hex(p, p->pos + 3, 4, &low) == 0 &&
                    low >= 0xDC00 && low <= 0xDFFF) {
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00);
                    p->pos += 6;
                } else {
                    fail_at(p, esc, "bad escape: high surrogate without a low surrogate");
                    goto fail;
                }
            } else if (v >= 0xDC00 && v <= 0xDFFF) {
                fail_at(p, esc, "bad escape: lone low surrogate");
                goto fail;
            } else if (v == 0) {
                fail_at(p, esc, "bad escape: NUL characters are not allowed in strings");
                goto fail;
            }
            enc_len = csp__utf8_encode(v, enc);
            break;
        }
        case '\r':
            /* line continuation: backslash + CR LF or CR */
            if (p->pos + 1 < p->len && p->text[p->pos + 1] == '\n')
                p->pos++;
            break;
        case '\n': case 0x2028: case 0x2029:
            break; /* line continuation */
        default:
            if (cp >= '1' && cp <= '9') {
                fail_at(p, esc, "bad escape: '\\%c' (octal escapes are not allowed)", (char)cp);
                goto fail;
            }
            /* any other character escapes to itself */
            memcpy(enc, p->text + p->pos, n);
            enc_len = n;
            break;
        }
        p->pos += n;
        if (enc_len && csp__buf_append(&out, enc, enc_len) < 0)
            goto nomem;
    }
    return csp__buf_steal(&out);
nomem:
    fail_nomem(p, p->pos);
fail:
    csp__buf_free(&out);
    return NULL;
}

static int is_ident_start(uint32_t cp)
{
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '$' || cp == '_' ||
           (cp >= 0x80 && !is_json5_space(cp));
}

static int is_ident_part(uint32_t cp) { return is_ident_start(cp) || (cp >= '0' && cp <= '9'); }

static char *parse_identifier(parser *p)
{
    size_t start = p->pos, n;
    uint32_t cp = peek_cp(p, p->pos, &n);
    if (cp == '\\') {
        fail_at(p, p->pos, "unicode escapes in unquoted keys are not supported; quote the key");
        return NULL;
    }
    if (!is_ident_start(cp)) {
        expected(p, "a member name (a string or an identifier)");
        return NULL;
    }
    while (p->pos < p->len) {
        cp = peek_cp(p, p->pos, &n);
        if (!is_ident_part(cp))
            break;
        p->pos += n;
    }
    char *name = csp__strndup(p->text + start, p->pos - start);
    if (!name)
        fail_nomem(p, start);
    return name;
}

static int match_word(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return 0;
    if (p->pos + n < p->len) {
        size_t k;
        uint32_t next = peek_cp(p, p->pos + n, &k);
        if (is_ident_part(next))
            return 0;
    }
    p->pos += n;
    return 1;
}

static cJSON *parse_number(parser *p)
{
    size_t start = p->pos;
    double sign = 1;
    if (p->text[p->pos] == '+' || p->text[p->pos] == '-') {
        sign = p->text[p->pos] == '-' ? -1 : 1;
        p->pos++;
    }
    double value;
    if (match_word(p, "Infinity")) {
        value = sign * INFINITY;
    } else if (match_word(p, "NaN")) {
        value = NAN;
    } else if (p->pos + 1 < p->len && p->text[p->pos] == '0' &&
               (p->text[p->pos + 1] == 'x' || p->text[p->pos + 1] == 'X')) {
        p->pos += 2;
        size_t digits = p->pos;
        value = 0;
        while (p->pos < p->len && hex_value(p->text[p->pos]) >= 0)
            value = value * 16 + hex_value(p->text[p->pos++]);
        if (p->pos == digits) {
            expected(p, "hex digits after '0x'");
            return NULL;
        }
        value *= sign;
    } else {
        size_t body = p->pos, int_digits = 0, frac_digits = 0;
        while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
            p->pos++, int_digits++;
        if (int_digits > 1 && p->text[body] == '0') {
            fail_at(p, body, "leading zeros are not allowed in numbers");
            return NULL;
        }
        if (p->pos < p->len && p->text[p->pos] == '.') {
            p->pos++;
            while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
                p->pos++, frac_digits++;
        }
        if (int_digits + frac_digits == 0) {
            p->pos = body;
            expected(p, "a digit, 'Infinity' or 'NaN' after the sign");
            return NULL;
        }
        if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
            p->pos++;
            if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
                p->pos++;
            size_t exp = p->pos;
            while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
                p->pos++;
            if (p->pos == exp) {
                expected(p, "exponent digits");
                return NULL;
            }
        }
        char tmp[64];
        size_t n = p->pos - body;
        if (n >= sizeof tmp) {
            /* long literals: strtod needs a NUL-terminated copy */
            char *big = csp__strndup(p->text + body, n);
            if (!big) {
                fail_nomem(p, start);
                return NULL;
            }
            value = strtod(big, NULL);
            csp__free(big);
        } else {
            memcpy(tmp, p->text + body, n);
            tmp[n] = '\0';
            value = strtod(tmp, NULL);
        }
        value *= sign;
    }
    if (p->pos < p->len) {
        size_t k;
        uint32_t next = peek_cp(p, p->pos, &k);
        if (is_ident_part(next) || next == '.') {
            expected(p, "a delimiter after the number");
            return NULL;
        }
    }
    cJSON *item = cJSON_CreateNumber(value);
    if (!item)
        fail_nomem(p, start);
    return item;
}

static cJSON *parse_value(parser *p, int depth, int track_level);

static csp_json5_level *tracked(parser *p, int level)
{
    return (p->track && level >= 0) ? &p->track->level[level] : NULL;
}

/*
 * Member names seen so far in one object, hashed, so duplicate detection
 * stays linear in the object's size (cJSON's own lookup walks the list).
 */
typedef struct member_index {
    cJSON **slots;
    size_t cap, used;
} member_index;

static size_t hash_name(const char *name)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211u;
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static cJSON **index_slot(const member_index *ix, const char *name)
{
    size_t i = hash_name(name) & (ix->cap - 1);
    while (ix->slots[i] && strcmp(ix->slots[i]->string, name) != 0)
        i = (i + 1) & (ix->cap - 1);
    return &ix->slots[i];
}

static int index_put(member_index *ix, cJSON *item)
{
    if ((ix->used + 1) * 2 > ix->cap) {
        member_index grown = {csp__calloc(ix->cap ? ix->cap * 2 : 16, sizeof(cJSON *)),
                              ix->cap ? ix->cap * 2 : 16, 0};
        if (!grown.slots)
            return -1;
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slots[i])
                *index_slot(&grown, ix->slots[i]->string) = ix->slots[i], grown.used++;
        csp__free(ix->slots);
        *ix = grown;
    }
    cJSON **slot = index_slot(ix, item->string);
    if (!*slot)
        ix->used++;
    *slot = item;
    return 0;
}

/* Add name: value to obj; a repeated name replaces the earlier value (last wins). */
static int add_member(cJSON *obj, member_index *ix, const char *name, cJSON *value)
{
    cJSON **slot = ix->cap ? index_slot(ix, name) : NULL;
    if (slot && *slot) {
        value->string = cJSON_malloc(strlen(name) + 1);
        if (!value->string)
            return -1;
        strcpy(value->string, name);
        cJSON_ReplaceItemViaPointer(obj, *slot, value); /* frees the old value */
        *slot = value;
        return 0;
    }
    if (!cJSON_AddItemToObject(obj, name, value))
        return -1;
    if (index_put(ix, value) < 0) {
        cJSON_DetachItemViaPointer(obj, value); /* the caller still owns value */
        return -1;
    }
    return 0;
}

static cJSON *parse_object(parser *p, int depth, int track_level)
{
    member_index members = {NULL, 0, 0};
    size_t open = p->pos++;
    cJSON *obj = cJSON_CreateObject();
    csp_json5_level *lv = tracked(p, track_level);
    if (!obj) {
        fail_nomem(p, open);
        return NULL;
    }
    if (lv) {
        lv->is_object = 1;
        lv->has_members = 0;
        lv->trailing_comma = 0;
    }
    for (;;) {
        if (skip_space(p) < 0)
            goto fail;
        if (p->pos >= p->len) {
            fail_at(p, open, "unterminated object (expected '}')");
            goto fail;
        }
        if (p->text[p->pos] == '}')
            break;
        size_t key_start = p->pos;
        char *key;
        if (p->text[p->pos] == '"' || p->text[p->pos] == '\'')
            key = parse_string(p);
        else
            key = parse_identifier(p);
        if (!key)
            goto fail;
        if (skip_space(p) < 0 || p->pos >= p->len || p->text[p->pos] != ':') {
            if (!p->failed)
                expected(p, "':' after the member name");
            csp__free(key);
            goto fail;
        }
        p->pos++;
        if (skip_space(p) < 0) {
            csp__free(key);
            goto fail;
        }
        int child_level = -1;
        if (lv && (size_t)track_level < p->track->depth &&
            strcmp(key, p->track->path[track_level]) == 0) {
            child_level = track_level + 1;
            p->track->found = (size_t)child_level + 1;
            memset(&p->track->level[child_level], 0, sizeof p->track->level[0]);
            p->track->level[child_level].value_start = p->pos;
        }
        cJSON *value = parse_value(p, depth + 1, child_level);
        if (!value) {
            csp__free(key);
            goto fail;
        }
        if (child_level >= 0)
            p->track->level[child_level].value_end = p->pos;
        if (lv) {
            lv->has_members = 1;
            lv->last_value_end = p->pos;
            lv->last_key_start = key_start;
            lv->trailing_comma = 0;
        }
        int ok = add_member(obj, &members, key, value) == 0;
        csp__free(key);
        if (!ok) {
            cJSON_Delete(value);
            fail_nomem(p, key_start);
            goto fail;
        }
        if (skip_space(p) < 0)
            goto fail;
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            if (lv)
                lv->trailing_comma = 1;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == '}')
            break;
        if (p->pos >= p->len)
            fail_at(p, open, "unterminated object (expected '}')");
        else
            expected(p, "',' or '}' after an object member");
        goto fail;
    }
    if (lv)
        lv->close_brace = p->pos;
    p->pos++;
    csp__free(members.slots);
    return obj;
fail:
    csp__free(members.slots);
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *parse_array(parser *p, int depth)
{
    size_t open = p->pos++;
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        fail_nomem(p, open);
        return NULL;
    }
    for (;;) {
        if (skip_space(p) < 0)
            goto fail;
        if (p->pos >= p->len) {
            fail_at(p, open, "unterminated array (expected ']')");
            goto fail;
        }
        if (p->text[p->pos] == ']')
            break;
        cJSON *value = parse_value(p, depth + 1, -1);
        if (!value)
            goto fail;
        cJSON_AddItemToArray(arr, value);
        if (skip_space(p) < 0)
            goto fail;
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == ']')
            break;
        if (p->pos >= p->len)
            fail_at(p, open, "unterminated array (expected ']')");
        else
            expected(p, "',' or ']' after an array element");
        goto fail;
    }
    p->pos++;
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

static cJSON *parse_value(parser *p, int depth, int track_level)
{
    if (depth > CSP_JSON5_MAX_DEPTH) {
        fail_at(p, p->pos, "nesting deeper than %d levels", CSP_JSON5_MAX_DEPTH);
        return NULL;
    }
    csp_json5_level *lv = tracked(p, track_level);
    if (lv)
        lv->is_object = 0;
    if (p->pos >= p->len) {
        expected(p, "a value");
        return NULL;
    }
    char c = p->text[p->pos];
    size_t start = p->pos;
    cJSON *item = NULL;
    if (c == '{')
        return parse_object(p, depth, track_level);
    if (c == '[')
        return parse_array(p, depth);
    if (c == '"' || c == '\'') {
        char *s = parse_string(p);
        if (!s)
            return NULL;
        item = cJSON_CreateString(s);
        csp__free(s);
    } else if (match_word(p, "true")) {
        item = cJSON_CreateTrue();
    } else if (match_word(p, "false")) {
        item = cJSON_CreateFalse();
    } else if (match_word(p, "null")) {
        item = cJSON_CreateNull();
    } else if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 'I' ||
               c == 'N') {
        return parse_number(p);
    } else {
        expected(p, "a value (object, array, string, number, true, false or null)");
        return NULL;
    }
    if (!item)
        fail_nomem(p, start);
    return item;
}

cJSON *csp__json5_parse(const char *text, size_t len, csp_json5_track *track,
                        csp_json5_error *err)
{
    csp_json5_error scratch;
    parser p = {text, len, 0, err ? err : &scratch, track, 0};
    memset(p.err, 0, sizeof *p.err);
    size_t bad = csp__utf8_validate(text, len);
    if (bad < len) {
        fail_at(&p, bad, "invalid UTF-8 (byte 0x%02X)", (unsigned char)text[bad]);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0') {
            fail_at(&p, i, "NUL byte in the file");
            return NULL;
        }
    if (track) {
        track->found = 1;
        memset(&track->level[0], 0, sizeof track->level[0]);
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    if (skip_space(&p) < 0)
        return NULL;
    if (track)
        track->level[0].value_start = p.pos;
    cJSON *root = parse_value(&p, 1, track ? 0 : -1);
    if (!root)
        return NULL;
    if (track)
        track->level[0].value_end = p.pos;
    if (skip_space(&p) < 0 || p.pos < len) {
        if (!p.failed)
            expected(&p, "end of input after the value");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
