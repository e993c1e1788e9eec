/* SPDX-License-Identifier: MIT */
/*
 * sentences.h: sentence boundaries for speech. ICU's sentence break
 * iterator with CLDR's abbreviation suppressions ("@ss=standard") finds
 * candidate breaks; ICU's C API takes no custom list, so its breaks are
 * filtered afterwards by rules of our own (sentences.c lists them):
 * abbreviations ICU's data lacks, initials, list numbers, and opening
 * quotes or brackets that ICU leaves at the end of the previous sentence.
 * A missed break only merges two sentences into one request; a false one
 * cuts a sentence in two, so the rules lean towards not breaking.
 */
#ifndef CSP_SENTENCES_H
#define CSP_SENTENCES_H
#include <stddef.h>

typedef struct csp_sentences csp_sentences;

/* language: "en", "de", "zh-CN"... (NULL or "" for the root rules). NULL when out of memory. */
csp_sentences *csp__sentences_new(const char *language);
void csp__sentences_free(csp_sentences *s);

/*
 * Confirmed sentence ends in text[0..len) (valid UTF-8): byte offsets
 * where a sentence ends and the next begins (after the first sentence's
 * trailing spaces), in order, each < len. The end of the text is never
 * reported: what follows it may still change the answer. Returns the
 * number found (at most max), or -1 when out of memory.
 */
int csp__sentence_breaks(csp_sentences *s, const char *text, size_t len, size_t *breaks,
                         size_t max);
/* True when text, as it stands, would end a sentence if a new one began next. */
int csp__sentence_complete(csp_sentences *s, const char *text, size_t len);
/*
 * The language the text's script implies: the first letter's script (zh,
 * ja, ko, ru, el, ar, he, hi, th, ka, hy; "en" for Latin and any other),
 * except that Han text with kana anywhere is Japanese. NULL: no letter yet.
 */
const char *csp__script_language(const char *text, size_t len);
/* The language a voice name implies (Kokoro's "af_bella" is American English), or NULL. */
const char *csp__voice_language(const char *voice);
#endif
