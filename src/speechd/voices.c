/* SPDX-License-Identifier: MIT */
/* voices.c: see voices.h. */
#include "voices.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *sd_voice_language(const char *name)
{
    /* Kokoro's names: a language letter, a gender letter, '_' (the library's sentence
       splitter reads them the same way) */
    static const struct {
        char letter;
        const char *language;
    } kokoro[] = {{'a', "en-US"}, {'b', "en-GB"}, {'e', "es"}, {'f', "fr"}, {'h', "hi"},
                  {'i', "it"},    {'j', "ja"},    {'p', "pt-BR"}, {'z', "zh"}};
    if (!name || strlen(name) < 4 || name[2] != '_' || (name[1] != 'f' && name[1] != 'm'))
        return NULL;
    for (size_t i = 0; i < sizeof kokoro / sizeof kokoro[0]; i++)
        if (kokoro[i].letter == name[0])
            return kokoro[i].language;
    return NULL;
}

/* Names go into the protocol's tab-separated lines: no tab, no line break, no control. */
static char *clean(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? '_' : s[i];
    out[len] = '\0';
    return out;
}

static int add(sd_voices *v, const char *name, size_t name_len, const char *language,
               size_t language_len, int local)
{
    for (size_t i = 0; i < v->count; i++)
        if (strlen(v->items[i].name) == name_len && !memcmp(v->items[i].name, name, name_len))
            return 0; /* listed under two models */
    sd_voice *items = realloc(v->items, (v->count + 1) * sizeof *items);
    if (!items)
        return -1;
    v->items = items;
    sd_voice *it = &items[v->count];
    it->name = clean(name, name_len);
    it->language = clean(language, language_len);
    it->local = local;
    it->gender = 0;
    if (!it->name || !it->language) {
        free(it->name);
        free(it->language);
        return -1;
    }
    if (!local && strlen(it->name) >= 4 && it->name[2] == '_')
        it->gender = it->name[1];
    v->count++;
    return 0;
}

/* The provider's list: "model\n  voice\n  voice\n..." */
static int load_provider(sd_voices *v, const char *list, const char *model, int all)
{
    int in_model = 0, found = 0;
    for (const char *line = list; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 2 && line[0] == ' ' && line[1] == ' ') {
            if (in_model || all) {
                const char *name = line + 2;
                size_t n = len - 2;
                char copy[128];
                snprintf(copy, sizeof copy, "%.*s", (int)n, name);
                const char *language = sd_voice_language(copy);
                if (!language)
                    language = "none";
                if (add(v, name, n, language, strlen(language), 0) < 0)
                    return -1;
                found = 1;
            }
        } else if (len) {
            in_model = model && strlen(model) == len && !memcmp(line, model, len);
        }
        line = end ? end + 1 : NULL;
    }
    return found;
}

/* The local engine's list: "espeak-ng (local)\n  de  German\n..." */
static int load_local(sd_voices *v, const char *list)
{
    for (const char *line = list; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 2 && line[0] == ' ' && line[1] == ' ') {
            const char *language = line + 2;
            const char *gap = memchr(language, ' ', len - 2);
            if (gap) {
                const char *name = gap;
                while (name < line + len && *name == ' ')
                    name++;
                if (name < line + len &&
                    add(v, name, (size_t)(line + len - name), language, (size_t)(gap - language),
                        1) < 0)
                    return -1;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

int sd_voices_load(sd_voices *v, const char *provider_list, const char *model,
                   const char *local_list)
{
    if (provider_list) {
        int found = load_provider(v, provider_list, model, 0);
        if (found == 0)
            found = load_provider(v, provider_list, model, 1);
        if (found < 0)
            return -1;
    }
    return load_local(v, local_list);
}

void sd_voices_free(sd_voices *v)
{
    for (size_t i = 0; i < v->count; i++) {
        free(v->items[i].name);
        free(v->items[i].language);
    }
    free(v->items);
    v->items = NULL;
    v->count = 0;
}

/* "de" matches "de", "de-DE", "de_at"; "en-US" matches "en-us" and, less well, "en". */
static int language_score(const char *voice, const char *wanted)
{
    size_t n = strlen(wanted);
    if (!strcasecmp(voice, wanted))
        return 3;
    size_t base = strcspn(wanted, "-_");
    size_t vbase = strcspn(voice, "-_");
    if (base == vbase && !strncasecmp(voice, wanted, base))
        return n == base ? 2 : 1;
    return 0;
}

static const sd_voice *choose(const sd_voices *v, const char *name, const char *language,
                              char gender, const char *current, int local_only);

const sd_voice *sd_voices_local(const sd_voices *v, const char *language)
{
    return choose(v, NULL, language, 0, NULL, 1);
}

const sd_voice *sd_voices_choose(const sd_voices *v, const char *name, const char *language,
                                 char gender, const char *current)
{
    return choose(v, name, language, gender, current, 0);
}

static const sd_voice *choose(const sd_voices *v, const char *name, const char *language,
                              char gender, const char *current, int local_only)
{
    if (name && *name) {
        for (size_t i = 0; i < v->count; i++)
            if (!strcmp(v->items[i].name, name))
                return &v->items[i];
        for (size_t i = 0; i < v->count; i++)
            if (!strcasecmp(v->items[i].name, name))
                return &v->items[i];
    }
    if (!language || !*language)
        return NULL;
    const sd_voice *best = NULL;
    int best_score = 0;
    for (size_t i = 0; i < v->count; i++) {
        const sd_voice *it = &v->items[i];
        int lang = language_score(it->language, language);
        if (!lang || (local_only && !it->local))
            continue;
        /* the language first; then the provider's voices over espeak-ng's, the voice already
           configured, the gender asked for */
        int score = lang * 100 + (it->local ? 0 : 50) +
                    (current && !strcmp(it->name, current) ? 20 : 0) +
                    (gender && tolower((unsigned char)it->gender) == gender ? 10 : 0);
        if (score > best_score) {
            best = it;
            best_score = score;
        }
    }
    return best;
}
