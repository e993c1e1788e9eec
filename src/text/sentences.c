/* SPDX-License-Identifier: MIT */
/* sentences.c: see sentences.h. */
#include "sentences.h"

#include "alloc.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utext.h>

struct csp_sentences {
    UBreakIterator *iterator;
};

/*
 * Abbreviations ICU's suppression data lacks (or has for one language
 * only), as they appear before a capitalised word: a title before a name,
 * "z. B." before a noun. One list for every language: the splitter's
 * language often differs from the text's (the default voice is English),
 * and a German "Nr." in English text is as much an abbreviation. Single
 * letters ("E.", "z.", "г.") are initials and caught by a rule. Words that
 * often end a sentence (etc., usw., Inc.) are left to ICU.
 */
static const char *const abbreviations[] = {
    /* titles and ranks */
    "Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "St.", "Sr.", "Jr.", "Mt.", "Gen.", "Col.", "Capt.",
    "Lt.", "Sgt.", "Rev.", "Hon.", "Hr.", "Fr.", "Frl.", "Dipl.", "Ing.", "med.", "Mme.",
    "MM.", "Pr.", "Ste.", "Sra.", "Srta.", "Dra.", "Lic.", "Dña.", "Ud.", "Uds.", "Av.",
    "Avda.", "проф.", "акад.", "доц.", "им.", "тов.", "св.",
    /* Latin and common short forms */
    "e.g.", "i.e.", "cf.", "vs.", "approx.", "ca.", "al.", "No.", "Nr.", "Fig.", "Vol.",
    "Ch.", "Sec.", "Dept.", "Ave.", "Blvd.", "Rd.", "U.S.", "U.K.", "E.U.",
    /* German */
    "bzw.", "mind.", "Str.", "Min.", "Std.", "Tel.", "vgl.", "evtl.", "ggf.", "inkl.", "zzgl.", "Abs.",
    "Jh.", "Mio.", "Mrd.", "geb.", "gegr.", "z.B.", "d.h.", "u.a.", "o.ä.", "s.o.", "s.u.",
    /* French */
    "ex.", "av.", "env.", "chap.", "apr.", "bd.", "J.-C.",
    /* Spanish */
    "pág.", "págs.", "aprox.", "núm.", "EE.", "tel.", "Pza.", "ej.",
    /* Russian */
    "ул.", "стр.", "пр.", "просп.", "кв.", "тыс.", "млн.", "млрд.", "руб.", "коп.", "см.",
    "рис.", "гл.", "ок.", "гг.", "вв.", "пер.", "обл.", "р-н.", "напр.", "т.к.", "т.е.",
    NULL,
};

csp_sentences *csp__sentences_new(const char *language)
{
    csp_sentences *s = csp__calloc(1, sizeof *s);
    if (!s)
        return NULL;
    char locale[64];
    const char *lang = language && *language ? language : "en";
    /*
     * ss=standard: CLDR's sentence break suppressions (Mr., etc.). Not for
     * German and French: measured on tests/data/sentences, their lists also
     * hold ordinary words ("Uhr.", "ab.") and cost 8 missed splits while
     * preventing no false one that our own list does not.
     */
    int suppressions = strncmp(lang, "de", 2) != 0 && strncmp(lang, "fr", 2) != 0;
    snprintf(locale, sizeof locale, "%s%s", lang, suppressions ? "@ss=standard" : "");
    UErrorCode err = U_ZERO_ERROR;
    s->iterator = ubrk_open(UBRK_SENTENCE, locale, NULL, 0, &err);
    if (U_FAILURE(err)) {
        err = U_ZERO_ERROR;
        s->iterator = ubrk_open(UBRK_SENTENCE, "", NULL, 0, &err);
    }
    if (U_FAILURE(err)) {
        csp__free(s);
        return NULL;
    }
    return s;
}

void csp__sentences_free(csp_sentences *s)
{
    if (!s)
        return;
    ubrk_close(s->iterator);
    csp__free(s);
}

static uint32_t code_point_at(const char *text, size_t len, size_t at, size_t *n)
{
    uint32_t cp = 0;
    *n = csp__utf8_decode((const unsigned char *)text + at, len - at, &cp);
    if (!*n)
        *n = 1;
    return cp;
}

/* Start of the code point that ends at end (exclusive). */
static size_t previous_start(const char *text, size_t end)
{
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)text[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/*
 * An opening mark: a start bracket or quote (Ps: "(", "„", "「"), or an
 * initial quote (Pi: "“", "«") directly followed by text. German closes with
 * "“", which Unicode files as Pi, so a Pi mark followed by a space or the
 * end is taken as closing.
 */
static int is_opening_at(const char *text, size_t len, size_t at)
{
    size_t n;
    uint32_t cp = code_point_at(text, len, at, &n);
    int8_t type = u_charType((UChar32)cp);
    if (type == U_START_PUNCTUATION)
        return 1;
    if (type != U_INITIAL_PUNCTUATION || at + n >= len)
        return 0;
    size_t k;
    return !u_isUWhiteSpace((UChar32)code_point_at(text, len, at + n, &k));
}

/* Han, kana, and full-width forms: scripts written without spaces between words. */
static int is_wide(uint32_t cp)
{
    return (cp >= 0x2E80 && cp < 0xA000) || (cp >= 0xF900 && cp < 0xFB00) ||
           (cp >= 0xFF00 && cp < 0xFFEF);
}

static int is_closing(uint32_t cp)
{
    int8_t type = u_charType((UChar32)cp);
    return type == U_END_PUNCTUATION || type == U_FINAL_PUNCTUATION || type == U_INITIAL_PUNCTUATION;
}

/*
 * ICU counts opening quotes and brackets as "Close" and leaves them at the
 * end of the sentence before ("好吗？「是的。」"): move the break before them.
 */
static size_t before_openers(const char *text, size_t len, size_t start, size_t at)
{
    size_t end = at;
    while (end > start && u_isUWhiteSpace((UChar32)(unsigned char)text[end - 1]))
        end--;
    size_t moved = end;
    while (moved > start) {
        size_t p = previous_start(text, moved);
        if (!is_opening_at(text, len, p))
            break;
        moved = p;
    }
    return moved < end && moved > start ? moved : at;
}

/*
 * French sets closing marks apart ("« Bonjour ! » Puis"), and ICU breaks
 * before the "»": closing marks (and the space after them) at the start of
 * the next sentence go back to the one they close.
 */
static size_t after_closers(const char *text, size_t len, size_t at)
{
    size_t p = at, n;
    int moved = 0;
    while (p < len) {
        uint32_t cp = code_point_at(text, len, p, &n);
        int8_t type = u_charType((UChar32)cp);
        if (type != U_END_PUNCTUATION && type != U_FINAL_PUNCTUATION)
            break;
        p += n;
        moved = 1;
    }
    if (!moved)
        return at;
    while (p < len) {
        uint32_t cp = code_point_at(text, len, p, &n);
        if (!u_isUWhiteSpace((UChar32)cp))
            break;
        p += n;
    }
    return p;
}

static int has_letter(const char *text, size_t len)
{
    size_t n;
    for (size_t i = 0; i < len; i += n)
        if (u_isalpha((UChar32)code_point_at(text, len, i, &n)))
            return 1;
    return 0;
}

/* The last word of a sentence candidate, without surrounding spaces or opening marks. */
static void last_word(const char *text, size_t start, size_t end, size_t *word, size_t *word_end)
{
    size_t n;
    while (end > start) {
        size_t p = previous_start(text, end);
        if (!u_isUWhiteSpace((UChar32)code_point_at(text, end, p, &n)))
            break;
        end = p;
    }
    size_t w = end;
    while (w > start) {
        size_t p = previous_start(text, w);
        uint32_t cp = code_point_at(text, end, p, &n);
        if (u_isUWhiteSpace((UChar32)cp) || is_wide(cp) ||
            (u_ispunct((UChar32)cp) && cp != '.' && cp != '-'))
            break;
        w = p;
    }
    *word = w;
    *word_end = end;
}

static int is_abbreviation(const char *word, size_t len)
{
    for (const char *const *a = abbreviations; *a; a++)
        if (strlen(*a) == len && strncmp(*a, word, len) == 0)
            return 1;
    return 0;
}

/* True when ICU's break after text[start..at), before text[at..len), should not stand. */
static int suppressed(const char *text, size_t len, size_t start, size_t at)
{
    size_t w, end, n;
    /* no letter at all ("1.)", "...", "-"): not a sentence of its own */
    if (!has_letter(text + start, at - start))
        return 1;
    uint32_t next = code_point_at(text, len, at, &n);
    /* a lower-case word goes on the sentence: «Des questions ?» a-t-elle demandé. */
    if (u_islower((UChar32)next))
        return 1;
    size_t last_at = previous_start(text, at);
    uint32_t last = code_point_at(text, len, last_at, &n);
    if (is_closing(last) && u_isalpha((UChar32)next)) {
        /* 「はい。」と答えた: a particle after the quote; “为什么？”小李问: the quote opened
           the sentence and the speaker follows without a space */
        if (u_hasBinaryProperty((UChar32)next, UCHAR_IDEOGRAPHIC) == 0 && next >= 0x3040 &&
            next < 0x30A0)
            return 1;
        if (is_wide(next) && is_opening_at(text, len, start))
            return 1;
    }
    last_word(text, start, at, &w, &end);
    if (end == w || text[end - 1] != '.')
        return 0;
    size_t letters = 0, digits = 0, others = 0;
    for (size_t i = w; i < end - 1; i += n) {
        uint32_t cp = code_point_at(text, end, i, &n);
        if (u_isalpha((UChar32)cp))
            letters++;
        else if (cp >= '0' && cp <= '9')
            digits++;
        else if (cp != '.')
            others++;
    }
    if (letters == 1 && !digits && !others)
        return 1; /* an initial: "Jonas E. Smith", "z. B.", "г. Москва" */
    if (digits && digits <= 2 && !letters && !others)
        return 1; /* an ordinal: "am 3. Oktober", "im 9. Jh.", "die 2. Auflage" */
    return is_abbreviation(text + w, end - w);
}

int csp__sentence_breaks(csp_sentences *s, const char *text, size_t len, size_t *breaks,
                         size_t max)
{
    UErrorCode err = U_ZERO_ERROR;
    UText *ut = utext_openUTF8(NULL, text, (int64_t)len, &err);
    ubrk_setUText(s->iterator, ut, &err);
    if (U_FAILURE(err)) {
        utext_close(ut);
        return err == U_MEMORY_ALLOCATION_ERROR ? -1 : 0;
    }
    size_t count = 0, start = 0;
    ubrk_first(s->iterator);
    for (int32_t b = ubrk_next(s->iterator); b != UBRK_DONE && count < max;
         b = ubrk_next(s->iterator)) {
        size_t at = (size_t)b;
        if (at >= len)
            break; /* the end of the text is not confirmed */
        at = after_closers(text, len, before_openers(text, len, start, at));
        if (at >= len)
            break;
        if (suppressed(text, len, start, at))
            continue;
        breaks[count++] = at;
        start = at;
    }
    utext_close(ut);
    return (int)count;
}

int csp__sentence_complete(csp_sentences *s, const char *text, size_t len)
{
    size_t end = len;
    while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\n'))
        end--;
    if (end == 0 || !has_letter(text, end))
        return 0;
    size_t p = previous_start(text, end), n;
    uint32_t last = code_point_at(text, end, p, &n);
    /* CJK full stops need no space after them; Latin ones do (3.5 vs "3. Five") */
    int wide = last == 0x3002 || last == 0xFF01 || last == 0xFF1F || last == 0xFF0E;
    if (!wide && end == len)
        return 0;
    /* a full stop after an abbreviation-like word ("p.m.", "Jan.", "etc.", "Co.") may
       well go on: wait for the next word (or the pause) rather than guess */
    if (last == '.') {
        size_t w, word_end;
        last_word(text, 0, end, &w, &word_end);
        size_t letters = 0, dots = 0, k;
        for (size_t i = w; i + 1 < word_end; i += k) {
            uint32_t cp = code_point_at(text, word_end, i, &k);
            letters += u_isalpha((UChar32)cp) != 0;
            dots += cp == '.';
        }
        if (dots || letters <= 3 || is_abbreviation(text + w, word_end - w))
            return 0;
    }
    /* would ICU and our rules break here if a new sentence began? */
    char *probe = csp__malloc(len + 2);
    if (!probe)
        return 0;
    memcpy(probe, text, len);
    probe[len] = 'A';
    size_t breaks[64];
    int found = csp__sentence_breaks(s, probe, len + 1, breaks, 64);
    csp__free(probe);
    return found > 0 && breaks[found - 1] == len;
}

const char *csp__voice_language(const char *voice)
{
    /* Kokoro voices: a language letter, a gender letter, '_': af_bella, jf_alpha, zm_yunxi */
    static const struct {
        char letter;
        const char *language;
    } kokoro[] = {{'a', "en-US"}, {'b', "en-GB"}, {'e', "es"}, {'f', "fr"}, {'h', "hi"},
                  {'i', "it"},    {'j', "ja"},    {'p', "pt-BR"}, {'z', "zh"}};
    if (!voice || strlen(voice) < 4 || voice[2] != '_' || (voice[1] != 'f' && voice[1] != 'm'))
        return NULL;
    for (size_t i = 0; i < sizeof kokoro / sizeof kokoro[0]; i++)
        if (kokoro[i].letter == voice[0])
            return kokoro[i].language;
    return NULL;
}

const char *csp__script_language(const char *text, size_t len)
{
    static const struct {
        UScriptCode script;
        const char *language;
    } scripts[] = {{USCRIPT_HANGUL, "ko"}, {USCRIPT_CYRILLIC, "ru"},  {USCRIPT_GREEK, "el"},
                   {USCRIPT_ARABIC, "ar"}, {USCRIPT_HEBREW, "he"},    {USCRIPT_DEVANAGARI, "hi"},
                   {USCRIPT_THAI, "th"},   {USCRIPT_GEORGIAN, "ka"},  {USCRIPT_ARMENIAN, "hy"}};
    enum { KINDS = sizeof scripts / sizeof scripts[0] };
    /* the script most letters are in: "Google объявил сегодня..." is Russian, not
       English; Han and kana count together (Japanese writes both), kana makes it ja */
    size_t count[KINDS] = {0}, han = 0, kana = 0, other = 0, letters = 0, n;
    for (size_t i = 0; i < len && letters < 4000; i += n) {
        uint32_t cp = code_point_at(text, len, i, &n);
        if (!u_isalpha((UChar32)cp))
            continue;
        letters++;
        UErrorCode err = U_ZERO_ERROR;
        UScriptCode script = uscript_getScript((UChar32)cp, &err);
        if (script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA) {
            kana++;
            continue;
        }
        if (script == USCRIPT_HAN) {
            han++;
            continue;
        }
        size_t k = 0;
        while (k < KINDS && scripts[k].script != script)
            k++;
        if (k < KINDS)
            count[k]++;
        else
            other++; /* Latin and the rest: espeak-ng's default voice */
    }
    if (!letters)
        return NULL;
    size_t best = other, cjk = han + kana;
    const char *language = "en";
    for (size_t k = 0; k < KINDS; k++)
        if (count[k] > best) {
            best = count[k];
            language = scripts[k].language;
        }
    if (cjk > best)
        language = kana ? "ja" : "zh";
    return language;
}
