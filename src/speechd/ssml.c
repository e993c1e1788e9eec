/* SPDX-License-Identifier: MIT */
/* ssml.c: see ssml.h. A tolerant reader: screen readers send what they send, and a
   malformed tag must cost a word at most, never the message. */
#include "ssml.h"

#include <stdlib.h>
#include <string.h>

static size_t put_utf8(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One entity at in[0] == '&': its decoded bytes in out, and how much of in it used (0: not
   an entity we know, left as written). */
static size_t entity(const char *in, size_t len, char *out, size_t *written)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
    *written = 0;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t n = strlen(named[i].name);
        if (len > n && !memcmp(in + 1, named[i].name, n)) {
            out[0] = named[i].c;
            *written = 1;
            return n + 1;
        }
    }
    if (len < 4 || in[1] != '#')
        return 0;
    int hex = in[2] == 'x' || in[2] == 'X';
    size_t i = hex ? 3 : 2, digits = 0;
    unsigned long cp = 0;
    for (; i < len && digits < 8; i++, digits++) {
        char c = in[i];
        int v = c >= '0' && c <= '9' ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
        if (v < 0)
            break;
        cp = cp * (hex ? 16 : 10) + (unsigned long)v;
    }
    if (!digits || i >= len || in[i] != ';')
        return 0;
    /* NUL, surrogates and values past Unicode say nothing; other control characters are
       spoken as a space, never passed on */
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return i + 1;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
        cp = ' ';
    *written = put_utf8(cp, out);
    return i + 1;
}

size_t ssml_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t written, used = in[i] == '&' ? entity(in + i, len - i, out + o, &written) : 0;
        if (used) {
            o += written;
            i += used;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
    return o;
}

/* The value of attribute name in a tag's text (after its name), decoded; NULL if absent. */
static char *attribute(const char *tag, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + n < len; i++) {
        if ((i > 0 && tag[i - 1] != ' ' && tag[i - 1] != '\t' && tag[i - 1] != '\n') ||
            memcmp(tag + i, name, n) != 0)
            continue;
        size_t j = i + n;
        while (j < len && (tag[j] == ' ' || tag[j] == '\t'))
            j++;
        if (j >= len || tag[j] != '=')
            continue;
        j++;
        while (j < len && (tag[j] == ' ' || tag[j] == '\t'))
            j++;
        if (j >= len || (tag[j] != '"' && tag[j] != '\''))
            continue;
        char quote = tag[j++];
        const char *end = memchr(tag + j, quote, len - j);
        if (!end)
            return NULL;
        char *value = malloc((size_t)(end - (tag + j)) + 1);
        if (value)
            ssml_decode(tag + j, (size_t)(end - (tag + j)), value);
        return value;
    }
    return NULL;
}

/* Does the tag (its text after '<', up to '>') name element? "/p", "p ...", "p/" */
static int is_element(const char *tag, size_t len, const char *element)
{
    if (len && tag[0] == '/')
        tag++, len--;
    size_t n = strlen(element);
    return len >= n && !memcmp(tag, element, n) &&
           (len == n || tag[n] == ' ' || tag[n] == '/' || tag[n] == '\t' || tag[n] == '\n');
}

/* Decoded text of in[0..len) to the text callback (decoding never makes it longer). */
static int flush_text(const char *in, size_t len, const ssml_ops *ops, void *userdata)
{
    if (!len)
        return 0;
    char stack[1024];
    char *out = len < sizeof stack ? stack : malloc(len + 1);
    if (!out)
        return -1;
    size_t n = ssml_decode(in, len, out);
    /* a NUL from the data itself is not text: spoken as a space */
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\0')
            out[i] = ' ';
    int rc = n ? ops->text(userdata, out, n) : 0;
    if (out != stack)
        free(out);
    return rc;
}

int ssml_walk(const char *in, size_t len, const ssml_ops *ops, void *userdata)
{
    size_t start = 0, i = 0;
    int rc = 0;
    while (i < len && rc == 0) {
        if (in[i] != '<') {
            i++;
            continue;
        }
        if ((rc = flush_text(in + start, i - start, ops, userdata)) != 0)
            break;
        const char *rest = in + i;
        size_t left = len - i;
        const char *close;
        size_t skip;
        if (left >= 4 && !memcmp(rest, "<!--", 4)) {
            const char *end = NULL;
            for (size_t k = 4; k + 3 <= left && !end; k++)
                if (!memcmp(rest + k, "-->", 3))
                    end = rest + k;
            skip = end ? (size_t)(end - rest) + 3 : left;
        } else if ((close = memchr(rest, '>', left)) != NULL) {
            const char *tag = rest + 1;
            size_t tag_len = (size_t)(close - tag);
            skip = tag_len + 2;
            if (is_element(tag, tag_len, "mark")) {
                char *name = attribute(tag, tag_len, "name");
                if (name && ops->mark)
                    rc = ops->mark(userdata, name);
                free(name);
            } else if (is_element(tag, tag_len, "p") || is_element(tag, tag_len, "s") ||
                       is_element(tag, tag_len, "break") || is_element(tag, tag_len, "paragraph") ||
                       is_element(tag, tag_len, "sentence")) {
                rc = ops->text(userdata, "\n\n", 2); /* each ends what came before it */
            }
        } else {
            skip = left; /* a tag never closed: the rest is markup, not speech */
        }
        i += skip;
        start = i;
    }
    if (rc == 0)
        rc = flush_text(in + start, len - start, ops, userdata);
    return rc;
}
