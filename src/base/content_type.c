/* SPDX-License-Identifier: MIT */
/* content_type.c: a forgiving reader of media types (case, spaces, quotes). */
#include "content_type.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Read a token or quoted string into out; returns the position after it. */
static const char *read_token(const char *p, char *out, size_t size, const char *stops)
{
    size_t n = 0;
    p = skip_space(p);
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < size)
                out[n++] = *p;
            p++;
        }
        if (*p == '"')
            p++;
    } else {
        while (*p && !strchr(stops, *p)) {
            if (n + 1 < size)
                out[n++] = *p;
            p++;
        }
        while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
            n--;
    }
    out[n] = '\0';
    return p;
}

static long positive_number(const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);
    return (end != text && *end == '\0' && v > 0 && v <= 1000000) ? v : 0;
}

int csp__parse_content_type(const char *header, csp_media *out)
{
    char type[64];
    memset(out, 0, sizeof *out);
    if (!header)
        return 0;
    const char *p = skip_space(read_token(header, type, sizeof type, ";"));
    if (!strcasecmp(type, "audio/mpeg") || !strcasecmp(type, "audio/mp3") ||
        !strcasecmp(type, "audio/mpeg3"))
        out->kind = CSP_MEDIA_MP3;
    else if (!strcasecmp(type, "audio/pcm") || !strcasecmp(type, "audio/l16"))
        out->kind = CSP_MEDIA_PCM;
    else if (!strcasecmp(type, "audio/wav") || !strcasecmp(type, "audio/x-wav") ||
             !strcasecmp(type, "audio/wave"))
        out->kind = CSP_MEDIA_WAV;
    while (*p == ';') {
        char key[32], value[64];
        p = read_token(p + 1, key, sizeof key, "=;");
        value[0] = '\0';
        if (*p == '=')
            p = read_token(p + 1, value, sizeof value, ";");
        p = skip_space(p);
        if (!strcasecmp(key, "rate"))
            out->rate = positive_number(value);
        else if (!strcasecmp(key, "channels"))
            out->channels = (int)positive_number(value);
    }
    if (out->kind == CSP_MEDIA_PCM && (out->rate == 0 || out->channels == 0 ||
                                       out->channels > 8))
        return -1;
    return 0;
}

int csp__media_sane(const csp_media *m)
{
    int given = m->rate != 0 || m->channels != 0;
    if (m->kind != CSP_MEDIA_MP3 && m->kind != CSP_MEDIA_PCM && m->kind != CSP_MEDIA_WAV)
        return 0;
    if (!given)
        return m->kind != CSP_MEDIA_PCM;
    return m->rate >= 8000 && m->rate <= 192000 && m->channels >= 1 && m->channels <= 2;
}
