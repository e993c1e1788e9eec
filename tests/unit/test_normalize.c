/* SPDX-License-Identifier: MIT */
/* test_normalize.c: reply normalisation, fed whole and one byte at a time. */
#include "check.h"
#include "normalize.h"

typedef struct out {
    char shown[4096], spoken[4096], directives[512];
    size_t ns, nk, nd;
} out;

static void on_show(void *u, const char *t, size_t n)
{
    out *o = u;
    memcpy(o->shown + o->ns, t, n);
    o->ns += n;
    o->shown[o->ns] = '\0';
}

static void on_speak(void *u, const char *t, size_t n)
{
    out *o = u;
    memcpy(o->spoken + o->nk, t, n);
    o->nk += n;
    o->spoken[o->nk] = '\0';
}

static void on_directive(void *u, const char *k, const char *v)
{
    out *o = u;
    o->nd += (size_t)snprintf(o->directives + o->nd, sizeof o->directives - o->nd, "%s=%s;", k, v);
}

static const struct {
    const char *reply, *shown, *spoken, *directives;
} cases[] = {
    {"Plain text. Two sentences.", "Plain text. Two sentences.", "Plain text. Two sentences.\n", ""},
    {"Some **bold** and _emphasis_ and *it*.", NULL, "Some bold and emphasis and it.\n", ""},
    {"snake_case stays", NULL, "snake_case stays\n", ""},
    {"# Title\nBody text.", NULL, "Title.\nBody text.\n", ""},
    {"- one\n- two\n1. three", NULL, "one.\ntwo.\nthree.\n", ""},
    {"> quoted line", NULL, "quoted line\n", ""},
    {"See [the docs](https://x.test/a_b) now.", NULL, "See the docs now.\n", ""},
    {"Image ![alt text](pic.png) gone.", NULL, "Image  gone.\n", ""},
    {"Use `ls -la` here.", NULL, "Use ls -la here.\n", ""},
    {"Before.\n```sh\nrm -rf /\n```\nAfter.", NULL, "Before.\nAfter.\n", ""},
    {"| a | b |\n|---|---|\n| 1 | 2 |", NULL, "a , b .\n1 , 2 .\n", ""},
    {"Hi [[tts:voice=am_adam speed=1.5]]there.", "Hi there.", "Hi there.\n", "voice=am_adam;speed=1.5;"},
    {"Shown.[[tts:text]]Only spoken.[[/tts:text]] End.", "Shown. End.", "Shown.Only spoken. End.\n", ""},
    {"A [bracket] stays.", "A [bracket] stays.", "A [bracket] stays.\n", ""},
    {"---\nText", NULL, "Text\n", ""},
    {"~~old~~ new", NULL, "old new\n", ""},
    /* HTML, entities, bare URLs, reference links (issue 10) */
    {"See <b>bold</b> text &amp; more &#8212; end &bogus; 3 < 4.", NULL,
     "See bold text & more \xe2\x80\x94 end &bogus; 3 < 4.\n", ""},
    {"Line one<br/>line two.", NULL, "Line one line two.\n", ""},
    {"Visit https://www.example.com/docs/page?x=1. Then go.", NULL, "Visit example.com. Then go.\n", ""},
    {"Or (http://test.org/a) and <https://docs.rs/x>.", NULL, "Or (test.org) and docs.rs.\n", ""},
    {"Read [the guide][1] first.\n\n[1]: https://example.com/guide", NULL,
     "Read the guide first.\n\n", ""},
    {"Before.\n```\nlong code\n```\nAfter.", NULL, "Before.\nAfter.\n", ""},
    {"\\*stars\\* and \\_under\\_, &eacute;t&eacute; &deg;", NULL, "*stars* and _under_, \xc3\xa9t\xc3\xa9 \xc2\xb0\n", ""},
};

/* say --markdown: a skipped code block leaves a short spoken note; or it is read */
static void check_code_modes(void)
{
    static const char reply[] = "Try this:\n```sh\nmake test\n```\nDone.";
    for (int read = 0; read < 2; read++)
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            csp_normalizer n;
            csp_normalizer_ops ops = {on_show, on_speak, on_directive};
            out o;
            memset(&o, 0, sizeof o);
            csp__normalizer_init(&n, &ops, &o);
            n.code_note = "Code block skipped.";
            n.read_code = read;
            for (size_t k = 0; reply[k]; k += bytewise ? 1 : sizeof reply - 1)
                csp__normalizer_feed(&n, reply + k, bytewise ? 1 : sizeof reply - 1);
            csp__normalizer_finish(&n);
            csp__normalizer_free(&n);
            CHECK_STR(o.spoken, read ? "Try this:\nmake test\nDone.\n"
                                     : "Try this:\nCode block skipped.\nDone.\n");
        }
}

static void run(size_t i, int bytewise, out *o)
{
    csp_normalizer n;
    csp_normalizer_ops ops = {on_show, on_speak, on_directive};
    memset(o, 0, sizeof *o);
    csp__normalizer_init(&n, &ops, o);
    const char *r = cases[i].reply;
    if (bytewise)
        for (size_t k = 0; r[k]; k++)
            csp__normalizer_feed(&n, r + k, 1);
    else
        csp__normalizer_feed(&n, r, strlen(r));
    csp__normalizer_finish(&n);
    csp__normalizer_free(&n);
}

int main(void)
{
    check_code_modes();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            out o;
            run(i, bytewise, &o);
            CHECK_STR(o.shown, cases[i].shown ? cases[i].shown : cases[i].reply);
            CHECK_STR(o.spoken, cases[i].spoken);
            CHECK_STR(o.directives, cases[i].directives);
        }
    return CHECK_DONE();
}
