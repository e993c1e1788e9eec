/* SPDX-License-Identifier: MIT */
/* test_audio_pieces.c: long audio is cut in its pauses, never longer than asked, nothing lost. */
#include "audio_pieces.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct layout {
    const char *name;
    long rate;
    int channels;
    double tone_s, gap_s; /* repeated bursts of tone_s, then gap_s of silence */
    int bursts;
    double piece_s;       /* the longest piece */
    int want_pieces;      /* 0: do not check */
} layout;

static const layout cases[] = {
    {"short clip: one piece", 16000, 1, 1.0, 0.5, 2, 20, 1},
    {"16 kHz mono cut in pauses", 16000, 1, 1.3, 0.7, 20, 8, 0},
    {"44.1 kHz stereo resampled and cut", 44100, 2, 1.1, 0.6, 16, 6, 0},
    {"no pause at all: cut anyway, never longer", 16000, 1, 30.0, 0.0, 1, 7, 5},
    {"silence only: pieces marked silent", 22050, 1, 0.0, 12.0, 1, 5, 3},
};

static int16_t *make(const layout *l, size_t *frames, double **gaps, size_t *gap_count)
{
    double period = l->tone_s + l->gap_s;
    *frames = (size_t)(period * l->bursts * (double)l->rate);
    int16_t *pcm = calloc(*frames * (size_t)l->channels, sizeof *pcm);
    *gaps = calloc((size_t)l->bursts * 2, sizeof **gaps);
    *gap_count = 0;
    for (size_t i = 0; i < *frames; i++) {
        double t = (double)i / (double)l->rate, in = fmod(t, period);
        int16_t v = in < l->tone_s ? (int16_t)(9000 * sin(2 * M_PI * 440 * t)) : 0;
        for (int c = 0; c < l->channels; c++)
            pcm[i * (size_t)l->channels + (size_t)c] = v;
    }
    for (int b = 0; b < l->bursts && l->gap_s > 0; b++) {
        (*gaps)[2 * *gap_count] = b * period + l->tone_s;
        (*gaps)[2 * *gap_count + 1] = (b + 1) * period;
        (*gap_count)++;
    }
    return pcm;
}

static int in_gap(double t, const double *gaps, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (t >= gaps[2 * i] + 0.05 && t <= gaps[2 * i + 1] - 0.05)
            return 1;
    return 0;
}

static void run_case(const layout *l)
{
    size_t frames, gap_count;
    double *gaps;
    int16_t *pcm = make(l, &frames, &gaps, &gap_count);
    csp_audio_source source = {-1, pcm, frames, l->rate, l->channels};
    char why[200] = "";
    csp_pieces *p = csp__pieces_new(&source, (size_t)(l->piece_s * CSP_STT_RATE), 1 << 24, why, sizeof why);
    CHECK(p != NULL);
    csp_buf flac;
    csp__buf_init(&flac, 1 << 24);
    double start, seconds, expect_start = 0;
    int silent, count = 0, rc, all_silent = 1;
    while ((rc = csp__pieces_next(p, &flac, &start, &seconds, &silent, why, sizeof why)) == 0) {
        count++;
        CHECK(flac.len > 4 && memcmp(flac.data, "fLaC", 4) == 0);
        CHECK(fabs(start - expect_start) < 1e-9);
        CHECK(seconds <= l->piece_s + 1e-9);
        expect_start = start + seconds;
        all_silent &= silent;
        /* every cut but the end falls in a pause, when the audio has pauses */
        if (gap_count && expect_start < (double)frames / (double)l->rate - 0.5 &&
            !in_gap(expect_start, gaps, gap_count)) {
            fprintf(stderr, "%s: cut at %.3f s is not in a pause\n", l->name, expect_start);
            CHECK(0);
        }
    }
    CHECK_INT(rc, 1);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", l->name, why);
    CHECK(fabs(csp__pieces_seconds(p) - (double)frames / (double)l->rate) < 0.02);
    if (l->want_pieces)
        CHECK_INT(count, l->want_pieces);
    CHECK_INT(all_silent, l->tone_s == 0.0);
    printf("%-45s %d pieces\n", l->name, count);
    csp__buf_free(&flac);
    csp__pieces_free(p);
    free(pcm);
    free(gaps);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    /* no audio at all: the end at once */
    csp_audio_source empty = {-1, (const int16_t *)"", 0, 16000, 1};
    char why[200];
    csp_pieces *p = csp__pieces_new(&empty, 16000 * 10, 1 << 20, why, sizeof why);
    csp_buf flac;
    csp__buf_init(&flac, 1 << 20);
    double start, seconds;
    int silent;
    CHECK_INT(csp__pieces_next(p, &flac, &start, &seconds, &silent, why, sizeof why), 1);
    csp__buf_free(&flac);
    csp__pieces_free(p);
    return CHECK_DONE();
}
