/* SPDX-License-Identifier: MIT */
/* normalize.c: see normalize.h. Works on whole lines' starts and inline marks. */
#include "normalize.h"

#include "utf8.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOLD_CAP 2000 /* give up waiting for a ']' or ')' this far on */

void csp__normalizer_init(csp_normalizer *n, const csp_normalizer_ops *ops, void *userdata)
{
    memset(n, 0, sizeof *n);
    n->ops = *ops;
    n->userdata = userdata;
    n->at_line_start = 1;
    csp__buf_init(&n->pending, 1 << 24);
}

void csp__normalizer_free(csp_normalizer *n) { csp__buf_free(&n->pending); }

static void show(csp_normalizer *n, const char *s, size_t len)
{
    if (len && !n->in_tts_text)
        n->ops.show(n->userdata, s, len);
}

static void speak(csp_normalizer *n, const char *s, size_t len)
{
    if (!len || (n->in_fence && !n->read_code))
        return;
    n->ops.speak(n->userdata, s, len);
    n->last_byte = s[len - 1];
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i])) {
            n->prose_chars++;
            n->spoke_on_line = 1;
            n->last_spoken = s[i];
        }
}

/* Parse "[[tts:...]]" between start and end (exclusive of brackets). */
static void apply_directive(csp_normalizer *n, const char *body, size_t len)
{
    n->tagged = 1;
    if (len == 8 && memcmp(body, "tts:text", 8) == 0) {
        n->in_tts_text = 1;
        return;
    }
    if (len == 9 && memcmp(body, "/tts:text", 9) == 0) {
        n->in_tts_text = 0;
        return;
    }
    /* tts:key=value key=value */
    size_t i = 4;
    while (i < len) {
        while (i < len && isspace((unsigned char)body[i]))
            i++;
        size_t k = i;
        while (i < len && body[i] != '=' && !isspace((unsigned char)body[i]))
            i++;
        if (i >= len || body[i] != '=')
            continue;
        char key[64], value[256];
        size_t key_len = i - k < sizeof key - 1 ? i - k : sizeof key - 1;
        memcpy(key, body + k, key_len);
        key[key_len] = '\0';
        size_t v = ++i;
        char quote = 0;
        if (i < len && (body[i] == '"' || body[i] == '\'')) {
            quote = body[i++];
            v = i;
            while (i < len && body[i] != quote)
                i++;
        } else {
            while (i < len && !isspace((unsigned char)body[i]))
                i++;
        }
        size_t value_len = i - v < sizeof value - 1 ? i - v : sizeof value - 1;
        memcpy(value, body + v, value_len);
        value[value_len] = '\0';
        if (quote && i < len)
            i++;
        if (n->ops.directive)
            n->ops.directive(n->userdata, key, value);
    }
}

static const char *find(const char *s, size_t len, const char *what)
{
    size_t w = strlen(what);
    for (size_t i = 0; i + w <= len; i++)
        if (memcmp(s + i, what, w) == 0)
            return s + i;
    return NULL;
}

/* End of a line: headings and list items get a stop so they are said as sentences. */
static void end_line(csp_normalizer *n)
{
    if (!n->in_fence && n->needs_stop && n->spoke_on_line && !strchr(".!?:;,", n->last_spoken))
        speak(n, ".", 1);
    if (!n->in_fence)
        speak(n, "\n", 1);
    n->at_line_start = 1;
    n->table_line = 0;
    n->needs_stop = 0;
    n->spoke_on_line = 0;
}

enum { LINE_WAIT, LINE_MARKER, LINE_WHOLE };

/* Only these characters (and at least three marks): a rule like --- or * * *. */
static int is_rule(const char *p, size_t len)
{
    size_t marks = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '-' || p[i] == '*' || p[i] == '_')
            marks++;
        else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    }
    return marks >= 3;
}

static int is_table_separator(const char *p, size_t len)
{
    if (len == 0 || p[0] != '|')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr("|-: \t\r", p[i]))
            return 0;
    return 1;
}

/* "[ref]: https://..." defines a reference link: not said. */
static int is_link_definition(const char *p, size_t len)
{
    const char *close = len > 1 && p[0] == '[' ? memchr(p, ']', len) : NULL;
    return close && (size_t)(close - p) + 1 < len && close[1] == ':';
}

/*
 * Decide how a line starts. LINE_WAIT: more text is needed. LINE_WHOLE: the
 * line was consumed (fence, rule, table separator). LINE_MARKER: *used bytes
 * of markers (maybe none) were consumed and the line goes on inline.
 */
static int line_start(csp_normalizer *n, const char *s, size_t len, int final, size_t *used)
{
    size_t i = 0;
    while (i < len && i < 4 && (s[i] == ' ' || s[i] == '\t'))
        i++;
    const char *nl = memchr(s, '\n', len);
    size_t have = nl ? (size_t)(nl - s) : len;
    if (!nl && !final && have < i + 4)
        return LINE_WAIT; /* not enough to tell a fence or marker yet */
    const char *p = s + i;
    size_t rest = have - i;
    int fence = rest >= 3 && (memcmp(p, "```", 3) == 0 || memcmp(p, "~~~", 3) == 0);
    if (fence || (!n->in_fence && (is_rule(p, rest) || is_table_separator(p, rest) ||
                                   is_link_definition(p, rest)))) {
        if (!nl && !final)
            return LINE_WAIT; /* the whole line is needed */
        *used = nl ? have + 1 : len;
        show(n, s, *used);
        if (fence || n->in_fence)
            n->code_chars += *used;
        if (fence && !n->in_fence && n->code_note && !n->read_code) {
            speak(n, n->code_note, strlen(n->code_note));
            speak(n, "\n", 1);
        }
        if (fence)
            n->in_fence = !n->in_fence;
        return LINE_WHOLE;
    }
    n->at_line_start = 0;
    *used = 0;
    if (n->in_fence)
        return LINE_MARKER;
    size_t m = i;
    if (p[0] == '#') {
        size_t h = 0;
        while (h < rest && p[h] == '#')
            h++;
        if (h <= 6 && h < rest && p[h] == ' ') {
            m = i + h + 1;
            n->needs_stop = 1;
        }
    } else if (rest >= 2 && (p[0] == '-' || p[0] == '*' || p[0] == '+') && p[1] == ' ') {
        m = i + 2;
        n->needs_stop = 1;
    } else if (rest >= 1 && p[0] == '>') {
        m = i + 1 + (rest >= 2 && p[1] == ' ');
    } else if (rest >= 1 && p[0] == '|') {
        m = i + 1;
        while (m < have && (s[m] == ' ' || s[m] == '\t'))
            m++;
        n->table_line = 1;
        n->needs_stop = 1;
    } else if (isdigit((unsigned char)p[0])) {
        size_t d = 0;
        while (d < rest && isdigit((unsigned char)p[d]))
            d++;
        if (d + 1 < rest && (p[d] == '.' || p[d] == ')') && p[d + 1] == ' ') {
            m = i + d + 2;
            n->needs_stop = 1;
        }
    }
    show(n, s, m);
    *used = m;
    return LINE_MARKER;
}

/* "http://", "https://" or "www." at p: a bare URL starts here. */
/* p (rest bytes, all there is so far) could still grow into the start of a URL. */
static int may_start_url(const char *p, size_t rest)
{
    static const char *const starts[] = {"https://", "http://", "www."};
    for (size_t i = 0; i < 3; i++)
        if (rest < strlen(starts[i]) && !strncmp(p, starts[i], rest))
            return 1;
    return 0;
}

static int starts_url(const char *p, size_t rest)
{
    return (rest >= 7 && !strncmp(p, "http://", 7)) || (rest >= 8 && !strncmp(p, "https://", 8)) ||
           (rest >= 4 && !strncmp(p, "www.", 4));
}

/* The end of a bare URL at p (whitespace or a mark that cannot end one), or NULL if not yet seen. */
static const char *url_end(const char *p, size_t rest)
{
    for (size_t i = 0; i < rest; i++)
        if (isspace((unsigned char)p[i]) || strchr("<>\"'`)]", p[i]))
            return p + i;
    return NULL;
}

/* Speak a URL as its host: "https://www.example.com/a/b?c" says "example.com". */
static void speak_host(csp_normalizer *n, const char *url, size_t len)
{
    const char *host = url, *end = url + len;
    const char *scheme = find(url, len, "://");
    if (scheme)
        host = scheme + 3;
    if ((size_t)(end - host) >= 4 && !strncmp(host, "www.", 4))
        host += 4;
    const char *stop = host;
    while (stop < end && !strchr("/?#:", *stop))
        stop++;
    /* a sentence mark after the URL belongs to the sentence, not the host */
    while (stop > host && strchr(".,;!?", stop[-1]))
        stop--;
    speak(n, host, (size_t)(stop - host));
}

/* Tags inside a run of text (<b>, </em>): dropped without a space, unlike <br> or </p>. */
static int inline_tag(const char *tag, size_t len)
{
    static const char *const names[] = {"a", "b", "i", "u", "s", "em", "strong", "span", "code",
                                        "small", "sub", "sup", "mark", "abbr", "kbd", NULL};
    const char *name = tag + 1 + (tag[1] == '/');
    size_t n = 0;
    while (name + n < tag + len && isalnum((unsigned char)name[n]))
        n++;
    for (const char *const *k = names; *k; k++)
        if (strlen(*k) == n && strncasecmp(name, *k, n) == 0)
            return 1;
    return 0;
}

static const struct {
    const char *name;
    const char *text;
} entities[] = {
    {"amp", "&"},   {"lt", "<"},    {"gt", ">"},    {"quot", "\""},   {"apos", "'"},
    {"nbsp", " "},  {"mdash", " \xE2\x80\x94 "}, {"ndash", "\xE2\x80\x93"}, {"hellip", "\xE2\x80\xA6"},
    {"copy", "\xC2\xA9"}, {"reg", "\xC2\xAE"}, {"trade", "\xE2\x84\xA2"}, {"euro", "\xE2\x82\xAC"},
    {"laquo", "\xC2\xAB"}, {"raquo", "\xC2\xBB"}, {"ldquo", "\xE2\x80\x9C"}, {"rdquo", "\xE2\x80\x9D"},
    {"lsquo", "\xE2\x80\x98"}, {"rsquo", "\xE2\x80\x99"},
    /* the accented letters HTML writers most often escape */
    {"eacute", "\xC3\xA9"}, {"egrave", "\xC3\xA8"}, {"ecirc", "\xC3\xAA"}, {"agrave", "\xC3\xA0"},
    {"aacute", "\xC3\xA1"}, {"acirc", "\xC3\xA2"}, {"ccedil", "\xC3\xA7"}, {"iacute", "\xC3\xAD"},
    {"oacute", "\xC3\xB3"}, {"uacute", "\xC3\xBA"}, {"ntilde", "\xC3\xB1"}, {"auml", "\xC3\xA4"},
    {"ouml", "\xC3\xB6"}, {"uuml", "\xC3\xBC"}, {"Auml", "\xC3\x84"}, {"Ouml", "\xC3\x96"},
    {"Uuml", "\xC3\x9C"}, {"szlig", "\xC3\x9F"}, {"Eacute", "\xC3\x89"}, {"deg", "\xC2\xB0"},
};

/*
 * An HTML entity at p ("&amp;", "&#8212;", "&#x2014;"): its length, with
 * its text in out; 0 if p is no entity; -1 if more text is needed.
 */
static int entity_at(const char *p, size_t rest, int final, char out[8])
{
    const char *semi = memchr(p, ';', rest < 12 ? rest : 12);
    if (!semi)
        return rest < 12 && !final ? -1 : 0;
    size_t len = (size_t)(semi - p) + 1;
    if (p[1] == '#') {
        char *end;
        unsigned long cp = p[2] == 'x' || p[2] == 'X' ? strtoul(p + 3, &end, 16) : strtoul(p + 2, &end, 10);
        if (end != semi || cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp < 0xE000))
            return 0;
        out[csp__utf8_encode((uint32_t)cp, out)] = '\0';
        return (int)len;
    }
    for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++)
        if (strlen(entities[i].name) == len - 2 && !strncmp(p + 1, entities[i].name, len - 2)) {
            snprintf(out, 8, "%s", entities[i].text);
            return (int)len;
        }
    return 0;
}

/* Process pending text; final: no more will come. */
static int process(csp_normalizer *n, int final)
{
    const char *s = n->pending.data ? n->pending.data : "";
    size_t len = n->pending.len, i = 0;
    while (i < len) {
        const char *p = s + i;
        size_t rest = len - i;
        if (n->at_line_start) {
            size_t used = 0;
            if (line_start(n, p, rest, final, &used) == LINE_WAIT)
                break;
            i += used;
            continue;
        }
        if (n->in_fence) {
            /* code: shown, not spoken, up to the end of the line */
            const char *nl = memchr(p, '\n', rest);
            size_t take = nl ? (size_t)(nl - p) + 1 : rest;
            show(n, p, take);
            speak(n, p, take); /* said only when code is read aloud */
            n->code_chars += take;
            i += take;
            if (nl)
                n->at_line_start = 1;
            continue;
        }
        char c = *p;
        if (c == '\n') {
            show(n, p, 1);
            end_line(n);
            i++;
        } else if (c == '[' && rest >= 2 && p[1] == '[') {
            if (rest < 6 && !final)
                break;
            if (rest >= 6 && (memcmp(p, "[[tts:", 6) == 0 || memcmp(p, "[[/tts", 6) == 0)) {
                const char *close = find(p, rest < HOLD_CAP ? rest : HOLD_CAP, "]]");
                if (!close && !final && rest < HOLD_CAP)
                    break;
                if (close) {
                    apply_directive(n, p + 2, (size_t)(close - p) - 2);
                    i += (size_t)(close - p) + 2;
                    continue;
                }
            }
            show(n, p, 1);
            speak(n, p, 1);
            i++;
        } else if (c == '[' || (c == '!' && rest >= 2 && p[1] == '[')) {
            /* [text](target) speaks text; ![alt](target) speaks nothing */
            int image = c == '!';
            const char *text = p + 1 + image;
            size_t window = rest < HOLD_CAP ? rest : HOLD_CAP;
            const char *close = memchr(text, ']', window - (size_t)(text - p));
            const char *nl = memchr(p, '\n', window);
            if (close && nl && nl < close)
                close = NULL;
            if (!close && !nl && !final && rest < HOLD_CAP)
                break;
            if (close && (size_t)(close - p) + 1 >= rest && !final)
                break; /* need the byte after ']' */
            if (close && (close[1] == '(' || close[1] == '[')) {
                /* [text](target) and the reference form [text][ref] */
                const char *end = memchr(close + 1, close[1] == '(' ? ')' : ']',
                                         window - (size_t)(close + 1 - p));
                if (!end && !final && rest < HOLD_CAP)
                    break;
                if (end) {
                    size_t whole = (size_t)(end - p) + 1;
                    show(n, p, whole);
                    if (!image)
                        speak(n, text, (size_t)(close - text));
                    i += whole;
                    continue;
                }
            }
            show(n, p, 1);
            if (!image)
                speak(n, p, 1);
            i++;
        } else if (c == '\\' && rest == 1 && !final) {
            break; /* the next byte tells an escape */
        } else if (c == '\\' && rest >= 2 && ispunct((unsigned char)p[1])) {
            /* markdown's backslash escape: \* says a star, not emphasis */
            show(n, p, 2);
            speak(n, p + 1, 1);
            i += 2;
        } else if ((c == '<' || c == '&') && rest == 1 && !final) {
            break; /* the next byte tells a tag or an entity */
        } else if ((c == 'h' || c == 'w') && !final && may_start_url(p, rest) &&
                   (i ? isspace((unsigned char)s[i - 1]) || s[i - 1] == '(' : 1)) {
            break; /* maybe a URL: wait for its scheme */
        } else if (c == '<' && rest >= 2 &&
                   (isalpha((unsigned char)p[1]) || p[1] == '/' || p[1] == '!')) {
            /* an HTML tag or an autolink: the tag is not spoken, an autolink says its host */
            size_t window = rest < HOLD_CAP ? rest : HOLD_CAP;
            const char *close = memchr(p, '>', window), *nl = memchr(p, '\n', window);
            if (close && nl && nl < close)
                close = NULL;
            if (!close && !nl && !final && rest < HOLD_CAP)
                break;
            if (!close) {
                show(n, p, 1);
                speak(n, p, 1);
                i++;
                continue;
            }
            size_t whole = (size_t)(close - p) + 1;
            show(n, p, whole);
            if (starts_url(p + 1, whole - 2))
                speak_host(n, p + 1, whole - 2);
            else if (!inline_tag(p, whole) && n->spoke_on_line &&
                     !isspace((unsigned char)n->last_byte))
                speak(n, " ", 1); /* <br>, </p>: words on either side stay apart */
            i += whole;
        } else if (c == '&') {
            char text[8];
            int len_entity = entity_at(p, rest, final, text);
            if (len_entity < 0)
                break;
            size_t used = len_entity > 0 ? (size_t)len_entity : 1;
            show(n, p, used);
            if (len_entity > 0)
                speak(n, text, strlen(text));
            else
                speak(n, p, 1);
            i += used;
        } else if ((c == 'h' || c == 'w') && starts_url(p, rest) &&
                   (i ? isspace((unsigned char)s[i - 1]) || s[i - 1] == '(' : 1)) {
            const char *end = url_end(p, rest < HOLD_CAP ? rest : HOLD_CAP);
            if (!end && !final && rest < HOLD_CAP)
                break;
            size_t whole = end ? (size_t)(end - p) : (rest < HOLD_CAP ? rest : HOLD_CAP);
            show(n, p, whole);
            speak_host(n, p, whole);
            if (strchr(".,;!?", p[whole - 1]))
                speak(n, p + whole - 1, 1); /* the sentence mark after the URL is still said */
            i += whole;
        } else if (c == '~' && rest == 1 && !final) {
            break; /* maybe the start of ~~ */
        } else if (c == '*' || c == '`' || (c == '~' && rest >= 2 && p[1] == '~')) {
            size_t run = c == '~' ? 2 : 1;
            show(n, p, run);
            i += run; /* marks are not spoken; the words inside are */
        } else if ((c == '_' || c == '!') && rest == 1 && !final) {
            break; /* the next byte decides: snake_case, or an image */
        } else if (c == '_' && (!isalnum((unsigned char)(i ? s[i - 1] : n->prev_char)) ||
                                (rest >= 2 && !isalnum((unsigned char)p[1])))) {
            show(n, p, 1);
            i++;
        } else if (c == '|' && n->table_line) {
            /* a cell boundary: a pause, unless the row ends here */
            size_t k = 1;
            while (k < rest && (p[k] == ' ' || p[k] == '\t'))
                k++;
            if (k >= rest && !final)
                break; /* wait: maybe the row ends here */
            show(n, p, k);
            if (k < rest && p[k] != '\n' && n->spoke_on_line)
                speak(n, ", ", 2);
            i += k;
        } else {
            size_t run = 1;
            while (run < rest && !strchr("\n[!*`~_|<&\\", p[run]) &&
                   !((p[run] == 'h' || p[run] == 'w') &&
                     (isspace((unsigned char)p[run - 1]) || p[run - 1] == '(')))
                run++;
            show(n, p, run);
            speak(n, p, run);
            i += run;
        }
    }
    if (i > 0)
        n->prev_char = s[i - 1];
    csp__buf_consume(&n->pending, i);
    return 0;
}

int csp__normalizer_feed(csp_normalizer *n, const char *text, size_t len)
{
    if (csp__buf_append(&n->pending, text, len) < 0)
        return -1;
    return process(n, 0);
}

int csp__normalizer_finish(csp_normalizer *n)
{
    int rc = process(n, 1);
    if (n->pending.len) { /* anything still held is plain text */
        show(n, n->pending.data, n->pending.len);
        speak(n, n->pending.data, n->pending.len);
        n->pending.len = 0;
    }
    if (!n->at_line_start)
        end_line(n);
    return rc;
}
