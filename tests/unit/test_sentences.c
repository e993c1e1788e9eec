/* SPDX-License-Identifier: MIT */
/*
 * test_sentences.c: the sentence splitter against the corpus in
 * tests/data/sentences (one sentence a line, paragraphs split by blank
 * lines). Each paragraph is joined (with a space; CJK with nothing) and
 * split; a break inside a line is a false split, a line end without a
 * break is a missed split. Prints the table the README quotes and fails
 * when false splits exceed 2 % of sentences. Also the rules themselves,
 * case by case, and the "complete" test used when a producer pauses.
 */
#include "check.h"
#include "sentences.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 64

typedef struct tally {
    size_t sentences, false_splits, missed;
} tally;

static int verbose;

static void check_paragraph(const char *language, char lines[][1024], size_t count, tally *t)
{
    int cjk = !strcmp(language, "zh") || !strcmp(language, "ja");
    char text[MAX_LINES * 1024];
    size_t ends[MAX_LINES], len = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(lines[i]);
        memcpy(text + len, lines[i], n);
        len += n;
        if (!cjk && i + 1 < count)
            text[len++] = ' ';
        ends[i] = len; /* a break is expected here (after the space) */
    }
    text[len] = '\0';
    csp_sentences *s = csp__sentences_new(language);
    size_t breaks[256];
    int found = csp__sentence_breaks(s, text, len, breaks, 256);
    csp__sentences_free(s);
    t->sentences += count;
    for (size_t i = 0; i + 1 < count; i++) {
        int hit = 0;
        for (int k = 0; k < found; k++)
            hit |= breaks[k] == ends[i];
        if (!hit) {
            t->missed++;
            if (verbose)
                fprintf(stderr, "  missed [%s] after: %s\n", language, lines[i]);
        }
    }
    for (int k = 0; k < found; k++) {
        int expected = 0;
        for (size_t i = 0; i + 1 < count; i++)
            expected |= breaks[k] == ends[i];
        if (!expected) {
            t->false_splits++;
            fprintf(stderr, "  false split [%s]: %.*s | %.60s\n", language, (int)breaks[k], text,
                    text + breaks[k]);
        }
    }
}

static void run_corpus(const char *language, tally *total)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.txt", CSP_SENTENCE_DIR, language);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    static char lines[MAX_LINES][1024];
    size_t count = 0;
    tally t = {0, 0, 0};
    char line[1024];
    for (;;) {
        char *got = fgets(line, sizeof line, f);
        if (got && line[0] == '#')
            continue;
        if (got)
            line[strcspn(line, "\n")] = '\0';
        if (!got || !line[0]) {
            if (count)
                check_paragraph(language, lines, count, &t);
            count = 0;
            if (!got)
                break;
            continue;
        }
        if (count < MAX_LINES)
            strcpy(lines[count++], line);
    }
    fclose(f);
    printf("| %s | %zu | %zu | %zu |\n", language, t.sentences, t.false_splits, t.missed);
    total->sentences += t.sentences;
    total->false_splits += t.false_splits;
    total->missed += t.missed;
}

static void check_rules(void)
{
    static const struct {
        const char *language, *text;
        int breaks;
    } cases[] = {
        {"en", "Dr. Smith met Mr. Jones at 3.5 p.m. on Main St. today. Next.", 1},
        {"en", "Jonas E. Smith agreed. The U.S. team won. Fine.", 2},
        {"en", "Version v2.0.1 shipped. It is fast.", 1},
        {"en", "1.) First item. 2.) Second item.", 1},
        {"en", "Wait . . . really? Yes.", 1},
        {"en", "He said \"Stop.\" Then he left.", 1},
        {"de", "Das ist z. B. gut. Dr. med. Müller kam.", 1},
        {"es", "El Lic. Pérez y la Sra. López llegaron. Bien.", 1},
        {"ru", "Он живёт в г. Москва на ул. Ленина. Да.", 1},
        {"zh", "你好。我是王医生！今天3.5度？「是的。」他说。", 3}, /* 「是的。」他说 is one */
        {"ja", "先生は「明日は休みです。」と言った。はい。", 1},
        {"de", "Am 3. Oktober um 8 Uhr. Dann kam Fr. Weber.", 1},
        {"en", "...", 0},
        {"fr", "Il a dit : « Bonjour ! » Puis il est parti.", 1},
        {"en", "He yelled \"Stop!\" and ran. Then silence.", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csp_sentences *s = csp__sentences_new(cases[i].language);
        size_t breaks[16];
        int n = csp__sentence_breaks(s, cases[i].text, strlen(cases[i].text), breaks, 16);
        if (n != cases[i].breaks)
            fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
        CHECK_INT(n, cases[i].breaks);
        csp__sentences_free(s);
    }
    static const struct {
        const char *text;
        int complete;
    } ends[] = {
        {"Hello there. ", 1}, {"Hello there.", 0}, {"Talk to Dr. ", 0}, {"It is 3.", 0},
        {"你好。", 1},        {"Really?! ", 1},    {"Jonas E. ", 0},    {"... ", 0},
        {"He said \"Go.\" ", 1},  {"We met at 3 p.m. ", 0}, {"See you in Jan. ", 0},
        {"It is fun. ", 0},          {"The weather is fine. ", 1},
    };
    csp_sentences *s = csp__sentences_new("en");
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        int got = csp__sentence_complete(s, ends[i].text, strlen(ends[i].text));
        if (got != ends[i].complete)
            fprintf(stderr, "complete(\"%s\")\n", ends[i].text);
        CHECK_INT(got, ends[i].complete);
    }
    csp__sentences_free(s);
    CHECK_STR(csp__voice_language("af_bella"), "en-US");
    CHECK_STR(csp__voice_language("zf_xiaoxiao"), "zh");
    CHECK(csp__voice_language("alloy") == NULL);
    /* one script detector serves the splitter and the local engine's voice */
    CHECK_STR(csp__script_language("123 漢字のテキスト", 25), "ja");
    CHECK_STR(csp__script_language("你好，世界", 15), "zh");
    CHECK_STR(csp__script_language("- Привет", 14), "ru");
    CHECK_STR(csp__script_language("Hello", 5), "en");
    CHECK(csp__script_language("42 !", 4) == NULL);
}

int main(int argc, char **argv)
{
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    check_rules();
    static const char *const languages[] = {"en", "de", "fr", "es", "zh", "ru", "ja"};
    tally total = {0, 0, 0};
    printf("| language | sentences | false splits | missed splits |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++)
        run_corpus(languages[i], &total);
    printf("| all | %zu | %zu (%.1f %%) | %zu (%.1f %%) |\n", total.sentences, total.false_splits,
           100.0 * (double)total.false_splits / (double)(total.sentences ? total.sentences : 1),
           total.missed, 100.0 * (double)total.missed / (double)(total.sentences ? total.sentences : 1));
    CHECK(total.sentences >= 300);
    CHECK(total.false_splits * 50 <= total.sentences); /* <= 2 % */
    return CHECK_DONE();
}
