/* SPDX-License-Identifier: MIT */
/*
 * sink_subtitles.c: SubRip (.srt) or WebVTT (.vtt) beside the audio. The
 * API gives no timestamps, so with subtitles each request carries one
 * sentence (pipeline.c) and each cue spans the frames its chunk wrote:
 * times come from decoded sample counts, never from text length. The cue
 * file is started when the sink is made (an unwritable path fails before
 * any request) and renamed into place only when the audio commits.
 */
#include "alloc.h"
#include "atomic_file.h"
#include "mp3_frames.h"
#include "report.h"
#include "sink.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CUE_LINE_CHARS 42 /* a line a viewer reads at a glance (broadcast guidelines) */

typedef struct subtitles_sink {
    csp_sink base;
    csp_sink *inner;
    char *path;
    int vtt;
    csp_atomic_file file;
    csp_buf cues;
    size_t count;
    unsigned long long frames, cue_start; /* frames written so far; where this cue began */
    /* mp3 passed through: the first chunk's encoder delay and the decoder's, which players
       skip once at the start of the file (later chunks keep theirs as silence) */
    unsigned long long skip;
    int passing_mp3;
} subtitles_sink;

/* mpg123's (and every layer III decoder's) own delay, skipped with the encoder's */
#define DECODER_DELAY 529

static csp_code sub_open(csp_sink *sink, long rate, int channels)
{
    return csp__sink_open(((subtitles_sink *)sink)->inner, rate, channels);
}

static csp_code sub_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    subtitles_sink *s = (subtitles_sink *)sink;
    s->frames += frames;
    return csp__sink_write(s->inner, samples, frames);
}

/* "00:01:02,345" (SubRip) or "00:01:02.345" (WebVTT), for the time frames into the stream. */
static int append_time(subtitles_sink *s, unsigned long long frames)
{
    frames = frames > s->skip ? frames - s->skip : 0;
    unsigned long long ms = s->base.rate ? frames * 1000ULL / (unsigned long long)s->base.rate : 0;
    return csp__buf_appendf(&s->cues, "%02llu:%02llu:%02llu%c%03llu", ms / 3600000,
                            ms / 60000 % 60, ms / 1000 % 60, s->vtt ? '.' : ',', ms % 1000);
}

/* The chunk's text on lines of about CUE_LINE_CHARS, broken at spaces; a line break or an
   arrow inside would end the cue early; WebVTT reads & and < as markup, players read SubRip's
   <b> and {\an8} as formatting. */
static int append_text(subtitles_sink *s, const char *text, size_t len)
{
    size_t line = 0, i = 0;
    while (i < len) {
        size_t word = i;
        while (word < len && (text[word] == ' ' || text[word] == '\n' || text[word] == '\r' ||
                              text[word] == '\t'))
            word++;
        size_t end = word;
        while (end < len && text[end] != ' ' && text[end] != '\n' && text[end] != '\r' &&
               text[end] != '\t')
            end++;
        if (end == word)
            break;
        size_t chars = 0; /* UTF-8 characters, not bytes */
        for (size_t k = word; k < end; k++)
            chars += ((unsigned char)text[k] & 0xC0) != 0x80;
        if (line && line + 1 + chars > CUE_LINE_CHARS) {
            if (csp__buf_append(&s->cues, "\n", 1) < 0)
                return -1;
            line = 0;
        } else if (line && csp__buf_append(&s->cues, " ", 1) < 0) {
            return -1;
        }
        for (size_t k = word; k < end; k++) {
            const char *piece = &text[k];
            size_t n = 1;
            if (text[k] == '-' && k + 2 < end && text[k + 1] == '-' && text[k + 2] == '>')
                piece = "\xe2\x80\x94", n = 3, k += 2; /* "-->" ends a timing line: a dash */
            else if ((unsigned char)text[k] < 0x20 || text[k] == 0x7f)
                piece = " "; /* a control character (a bare CR ends a cue; ESC reaches terminals) */
            else if (s->vtt && text[k] == '&')
                piece = "&amp;", n = 5;
            else if (s->vtt && text[k] == '<')
                piece = "&lt;", n = 4;
            /* SubRip has no escapes, yet players read <b>, <font> and {\an8} in it as
               formatting: the text's own brackets become their full-width forms */
            else if (!s->vtt && text[k] == '<')
                piece = "\xef\xbc\x9c", n = 3; /* U+FF1C */
            else if (!s->vtt && text[k] == '{')
                piece = "\xef\xbd\x9b", n = 3; /* U+FF5B */
            if (csp__buf_append(&s->cues, piece, n) < 0)
                return -1;
        }
        line += (line ? 1 : 0) + chars;
        i = end;
    }
    return 0;
}

static csp_code sub_chunk_end(csp_sink *sink, const char *text, size_t len)
{
    subtitles_sink *s = (subtitles_sink *)sink;
    csp_code rc = csp__sink_chunk_end(s->inner, text, len);
    if (rc != CSP_OK || s->frames == s->cue_start || !len) {
        s->cue_start = s->frames; /* no sound, or sound with no words (a lead-in): no cue */
        return rc;
    }
    s->count++;
    int failed = (!s->vtt && csp__buf_appendf(&s->cues, "%zu\n", s->count) < 0) ||
                 append_time(s, s->cue_start) < 0 || csp__buf_append(&s->cues, " --> ", 5) < 0 ||
                 append_time(s, s->frames) < 0 || csp__buf_append(&s->cues, "\n", 1) < 0 ||
                 append_text(s, text, len) < 0 || csp__buf_append(&s->cues, "\n\n", 2) < 0;
    s->cue_start = s->frames;
    return failed ? csp__fail(sink->report, CSP_ENOMEM, "out of memory") : CSP_OK;
}

static csp_code save_cues(subtitles_sink *s)
{
    const char *step = "write";
    int err = s->cues.len ? csp__write_all(s->file.fd, s->cues.data, s->cues.len) : 0;
    if (!err)
        err = csp__atomic_commit(&s->file, &step);
    if (!err)
        return CSP_OK;
    csp__atomic_abort(&s->file);
    return csp__fail(s->base.report, CSP_EOUTPUT, "--subtitles %s: cannot %s: %s", s->path, step,
                     strerror(err));
}

static csp_code sub_finish(csp_sink *sink, int commit)
{
    subtitles_sink *s = (subtitles_sink *)sink;
    csp_code rc = csp__sink_finish(s->inner, commit);
    if (commit && rc == CSP_OK)
        return save_cues(s);
    csp__atomic_abort(&s->file);
    return rc;
}

static void sub_free(csp_sink *sink)
{
    subtitles_sink *s = (subtitles_sink *)sink;
    csp__sink_free(s->inner);
    csp__atomic_abort(&s->file);
    csp__buf_free(&s->cues);
    csp__free(s->path);
    csp__free(s);
}

/* mp3 passed through to the file: its frames are counted as they go (the file's own timeline,
   the encoder delay each interior join keeps included), so cues match the file exactly. */
static int sub_takes_mp3(csp_sink *sink, long rate, int channels)
{
    return csp__sink_takes_mp3(((subtitles_sink *)sink)->inner, rate, channels);
}

static csp_code sub_write_mp3(csp_sink *sink, const unsigned char *frame, size_t len, long delay,
                              long padding)
{
    subtitles_sink *s = (subtitles_sink *)sink;
    csp_mp3_header h;
    if (len >= 4 && csp__mp3_header_parse(frame, &h) == 0) {
        if (!s->passing_mp3 && s->frames == 0)
            s->skip = (unsigned long long)(delay >= 0 ? delay : 576) + DECODER_DELAY;
        s->passing_mp3 = 1;
        s->frames += (unsigned long long)h.samples;
    }
    return csp__sink_write_mp3(s->inner, frame, len, delay, padding);
}

static int sub_wants_decoded(csp_sink *sink)
{
    return csp__sink_wants_decoded(((subtitles_sink *)sink)->inner);
}

static csp_code sub_write_decoded(csp_sink *sink, const int16_t *samples, size_t frames)
{
    return csp__sink_write_decoded(((subtitles_sink *)sink)->inner, samples, frames);
}

static long sub_rate_for(csp_sink *sink, long rate, int channels)
{
    return csp__sink_rate_for(((subtitles_sink *)sink)->inner, rate, channels);
}

static csp_code sub_check(csp_sink *sink) { return csp__sink_check(((subtitles_sink *)sink)->inner); }

static csp_code sub_rest(csp_sink *sink) { return csp__sink_rest(((subtitles_sink *)sink)->inner); }

static const csp_sink_ops subtitles_ops = {
    .open = sub_open, .write = sub_write, .finish = sub_finish, .free = sub_free,
    .rate_for = sub_rate_for, .takes_mp3 = sub_takes_mp3, .write_mp3 = sub_write_mp3,
    .wants_decoded = sub_wants_decoded, .write_decoded = sub_write_decoded,
    .chunk_end = sub_chunk_end, .check = sub_check, .rest = sub_rest};

/* Subtitles are a file of their own, replaced whole: a device, a FIFO, a directory or a
   read-only file is refused before any request (an audio -o writes devices directly). */
static csp_code check_target(csp_report *report, const char *path, const char *audio_path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || (strcasecmp(dot, ".vtt") && strcasecmp(dot, ".srt")))
        return csp__fail(report, CSP_EUSAGE,
                         "--subtitles %s: the name must end in .srt (SubRip) or .vtt (WebVTT)", path);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return csp__fail(report, CSP_EOUTPUT, "--subtitles %s: is a directory; give a file name",
                             path);
        if (!S_ISREG(st.st_mode))
            return csp__fail(report, CSP_EOUTPUT, "--subtitles %s: not a regular file (a device or "
                             "a FIFO); give a file name", path);
        if (!(st.st_mode & 0222))
            return csp__fail(report, CSP_EOUTPUT, "--subtitles %s: the file is read-only", path);
    }
    if (!audio_path || !strcmp(audio_path, "-"))
        return CSP_OK;
    char *a = csp__atomic_resolve(audio_path), *b = csp__atomic_resolve(path);
    int same = a && b && !strcmp(a, b);
    csp__free(a);
    csp__free(b);
    return same ? csp__fail(report, CSP_EUSAGE, "--subtitles %s and -o %s are the same file; "
                            "choose another name", path, audio_path)
                : CSP_OK;
}

csp_code csp__sink_subtitles_new(csp_report *report, csp_sink *inner, const char *path,
                                 const char *audio_path, csp_sink **out)
{
    *out = NULL;
    csp_code checked = check_target(report, path, audio_path);
    if (checked != CSP_OK) {
        csp__sink_free(inner);
        return checked;
    }
    const char *dot = strrchr(path, '.');
    int vtt = !strcasecmp(dot, ".vtt");
    subtitles_sink *s = csp__calloc(1, sizeof *s);
    if (!s || !(s->path = csp__strdup(path))) {
        csp__free(s);
        csp__sink_free(inner);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    s->base.ops = &subtitles_ops;
    s->base.report = report;
    s->inner = inner;
    s->vtt = vtt;
    s->file.fd = -1;
    csp__buf_init(&s->cues, (size_t)1 << 30);
    const char *step = "write";
    int err = csp__atomic_begin(&s->file, path, 0644, &step);
    if (err) {
        sub_free(&s->base);
        return csp__fail(report, CSP_EOUTPUT, "--subtitles %s: cannot %s: %s", path, step,
                         strerror(err));
    }
    if (vtt && csp__buf_appendf(&s->cues, "WEBVTT\n\n") < 0) {
        sub_free(&s->base);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    *out = &s->base;
    return CSP_OK;
}
