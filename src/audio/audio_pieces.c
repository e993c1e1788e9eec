/* SPDX-License-Identifier: MIT */
/*
 * audio_pieces.c: read audio of any length, bring it to 16 kHz mono, cut
 * it at the quietest point near each cut and encode each piece as FLAC in
 * memory (libsndfile through virtual I/O). Samples before the search
 * window go into the encoder as they arrive: only the window is held.
 */
#include "audio_pieces.h"

#include "resample.h"
#include "sndfile_lib.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_FRAMES 4096
#define ENERGY_FRAME 160      /* 10 ms at 16 kHz */
#define QUIET_SPAN 30         /* 300 ms of the quietest audio: a pause between words */
#define SEARCH_MAX_S 30       /* a cut looks back at most this far for a pause */
#define SILENT_PEAK 64        /* below -54 dBFS everywhere: nothing to hear */

/* --- FLAC into memory: a growable buffer seen as a seekable file --------- */

typedef struct memfile {
    csp_buf *buf;
    sf_count_t pos;
    int over; /* the cap was hit */
} memfile;

static sf_count_t mem_len(void *user) { return (sf_count_t)((memfile *)user)->buf->len; }

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    memfile *m = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : (sf_count_t)m->buf->len;
    if (base + offset < 0)
        return -1;
    m->pos = base + offset;
    return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
    memfile *m = user;
    sf_count_t left = (sf_count_t)m->buf->len - m->pos;
    if (count > left)
        count = left > 0 ? left : 0;
    memcpy(ptr, m->buf->data + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
    memfile *m = user;
    size_t end = (size_t)m->pos + (size_t)count;
    if (end > m->buf->len) { /* grow (zero-filled) to the end of this write */
        static const char zeros[256];
        while (m->buf->len < (size_t)m->pos) {
            size_t n = (size_t)m->pos - m->buf->len;
            if (csp__buf_append(m->buf, zeros, n < sizeof zeros ? n : sizeof zeros) < 0)
                goto over;
        }
        size_t inside = m->buf->len - (size_t)m->pos;
        if (inside) /* (an empty buffer has no data pointer yet) */
            memcpy(m->buf->data + m->pos, ptr, inside);
        if (csp__buf_append(m->buf, (const char *)ptr + inside, (size_t)count - inside) < 0)
            goto over;
    } else {
        memcpy(m->buf->data + m->pos, ptr, (size_t)count);
    }
    m->pos += count;
    return count;
over:
    m->over = 1;
    return 0;
}

static sf_count_t mem_tell(void *user) { return ((memfile *)user)->pos; }

static SF_VIRTUAL_IO mem_io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};

/* --- reading: any source to 16 kHz mono ---------------------------------- */

struct csp_pieces {
    csp_audio_source source;
    SNDFILE *in;
    int channels;
    long rate;
    size_t pcm_at;        /* memory source: frames consumed */
    csp_resampler *resampler;
    int16_t *mixed;       /* one block downmixed */
    short *block;         /* one block as read */
    csp_buf ready;        /* 16 kHz mono samples out of the resampler, not yet taken */
    int eof;
    /* the piece being built */
    csp_buf pending;      /* samples held for the cut search */
    SNDFILE *out;
    memfile mem;
    csp_buf *flac;
    size_t piece_frames;  /* frames already in the encoder */
    int piece_peak;
    size_t max_frames, max_bytes, search;
    size_t total_frames;  /* 16 kHz frames of all finished pieces */
};

static int take_resampled(void *userdata, const int16_t *samples, size_t frames, long rate,
                          int channels)
{
    (void)rate;
    (void)channels;
    csp_pieces *p = userdata;
    return csp__buf_append(&p->ready, samples, frames * sizeof *samples) < 0 ? 1 : 0;
}

/* Read one block and put its 16 kHz mono samples into p->ready. 0 ok, 1 end, -1 error. */
static int read_block(csp_pieces *p, char *why, size_t size)
{
    if (p->eof)
        return 1;
    size_t frames;
    if (p->in) {
        sf_count_t n = csp__sndfile.readf_short(p->in, p->block, READ_FRAMES);
        frames = n > 0 ? (size_t)n : 0;
        for (size_t i = 0; i < frames; i++) {
            long sum = 0;
            for (int c = 0; c < p->channels; c++)
                sum += p->block[i * (size_t)p->channels + (size_t)c];
            p->mixed[i] = (int16_t)(sum / p->channels);
        }
    } else {
        frames = p->source.frames - p->pcm_at;
        if (frames > READ_FRAMES)
            frames = READ_FRAMES;
        const int16_t *from = p->source.pcm + p->pcm_at * (size_t)p->channels;
        for (size_t i = 0; i < frames; i++) {
            long sum = 0;
            for (int c = 0; c < p->channels; c++)
                sum += from[i * (size_t)p->channels + (size_t)c];
            p->mixed[i] = (int16_t)(sum / p->channels);
        }
        p->pcm_at += frames;
    }
    int rc = 0;
    if (frames == 0) {
        p->eof = 1;
        rc = p->resampler ? csp__resampler_flush(p->resampler, take_resampled, p) : 0;
    } else if (p->resampler) {
        rc = csp__resampler_feed(p->resampler, p->mixed, frames, take_resampled, p);
    } else {
        rc = take_resampled(p, p->mixed, frames, CSP_STT_RATE, 1);
    }
    if (rc != 0) {
        snprintf(why, size, "%s", rc < 0 ? "cannot resample the audio" : "out of memory");
        return -1;
    }
    return 0;
}

int csp__audio_probe(int fd, double *seconds, char *why, size_t size)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    *seconds = 0;
    if (lseek(fd, 0, SEEK_SET) < 0) {
        snprintf(why, size, "cannot read it from the start: %s", strerror(errno));
        return -1;
    }
    SNDFILE *sf = csp__sndfile_open_fd(fd, SFM_READ, &info, 0);
    if (!sf) {
        snprintf(why, size, "%s", csp__sndfile_error(NULL));
        return -1;
    }
    if (info.samplerate > 0 && info.frames > 0 && info.frames < SF_COUNT_MAX)
        *seconds = (double)info.frames / info.samplerate;
    int ok = info.channels >= 1 && info.channels <= 64 && info.samplerate >= 1000;
    csp__sndfile.close(sf);
    lseek(fd, 0, SEEK_SET);
    if (!ok)
        snprintf(why, size, "%d channels at %d Hz is not audio clawspeak can hear", info.channels,
                 info.samplerate);
    return ok ? 0 : -1;
}

csp_pieces *csp__pieces_new(const csp_audio_source *source, size_t max_frames, size_t max_bytes,
                            char *why, size_t size)
{
    csp_pieces *p = csp__calloc(1, sizeof *p);
    if (!p) {
        snprintf(why, size, "out of memory");
        return NULL;
    }
    p->source = *source;
    p->max_frames = max_frames < CSP_STT_RATE ? CSP_STT_RATE : max_frames;
    p->max_bytes = max_bytes;
    /* the cut looks for a pause in the last quarter of a piece, at most 30 s back */
    p->search = p->max_frames / 4 < (size_t)SEARCH_MAX_S * CSP_STT_RATE ? p->max_frames / 4
                                                                        : (size_t)SEARCH_MAX_S * CSP_STT_RATE;
    csp__buf_init(&p->ready, 64u << 20);
    csp__buf_init(&p->pending, (p->search + 4 * READ_FRAMES) * 2 * sizeof(int16_t) + (1u << 20));
    if (source->fd >= 0) {
        SF_INFO info;
        memset(&info, 0, sizeof info);
        if (lseek(source->fd, 0, SEEK_SET) < 0 ||
            !(p->in = csp__sndfile_open_fd(source->fd, SFM_READ, &info, 0))) {
            snprintf(why, size, "%s", csp__sndfile_error(NULL));
            goto fail;
        }
        /* float samples (Audacity's default WAV) read as 16-bit: scaled, not truncated to 0 */
        csp__sndfile.command(p->in, SFC_SET_SCALE_FLOAT_INT_READ, NULL, SF_TRUE);
        p->channels = info.channels;
        p->rate = info.samplerate;
    } else {
        p->channels = source->channels;
        p->rate = source->rate;
    }
    if (p->channels < 1 || p->channels > 64 || p->rate < 1000) {
        snprintf(why, size, "%d channels at %ld Hz is not audio clawspeak can hear", p->channels, p->rate);
        goto fail;
    }
    p->block = csp__malloc(READ_FRAMES * (size_t)p->channels * sizeof *p->block);
    p->mixed = csp__malloc(READ_FRAMES * sizeof *p->mixed);
    if (!p->block || !p->mixed) {
        snprintf(why, size, "out of memory");
        goto fail;
    }
    if (p->rate != CSP_STT_RATE) {
        const char *reason = NULL;
        if (!(p->resampler = csp__resampler_new(p->rate, CSP_STT_RATE, 1, &reason))) {
            snprintf(why, size, "%s", reason ? reason : "cannot resample");
            goto fail;
        }
    }
    return p;
fail:
    csp__pieces_free(p);
    return NULL;
}

/* Move up to want frames from ready to pending. 0 ok, 1 end of audio, -1 error. */
static int fill_pending(csp_pieces *p, size_t want, char *why, size_t size)
{
    while (p->ready.len < want * sizeof(int16_t)) {
        int rc = read_block(p, why, size);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
    }
    size_t bytes = p->ready.len < want * sizeof(int16_t) ? p->ready.len : want * sizeof(int16_t);
    bytes &= ~(size_t)1;
    if (bytes == 0)
        return 1;
    if (csp__buf_append(&p->pending, p->ready.data, bytes) < 0) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    csp__buf_consume(&p->ready, bytes);
    return 0;
}

static size_t pending_frames(const csp_pieces *p) { return p->pending.len / sizeof(int16_t); }

/* Encode the first frames of pending into the piece. */
static int encode(csp_pieces *p, size_t frames, char *why, size_t size)
{
    if (!frames)
        return 0;
    if (!p->out) {
        SF_INFO info = {0};
        info.samplerate = CSP_STT_RATE;
        info.channels = 1;
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
        p->flac->len = 0;
        p->mem = (memfile){p->flac, 0, 0};
        if (!(p->out = csp__sndfile_open_virtual(&mem_io, SFM_WRITE, &info, &p->mem))) {
            snprintf(why, size, "cannot encode FLAC: %s", csp__sndfile_error(NULL));
            return -1;
        }
    }
    const int16_t *s = (const int16_t *)(void *)p->pending.data;
    for (size_t i = 0; i < frames; i++) {
        int a = s[i] < 0 ? -s[i] : s[i];
        if (a > p->piece_peak)
            p->piece_peak = a;
    }
    if (csp__sndfile.writef_short(p->out, s, (sf_count_t)frames) != (sf_count_t)frames || p->mem.over) {
        snprintf(why, size, "%s", p->mem.over ? "a piece of audio is over tools.media.audio.maxBytes "
                                                "even as FLAC"
                                              : "cannot encode FLAC");
        return -1;
    }
    csp__buf_consume(&p->pending, frames * sizeof(int16_t));
    p->piece_frames += frames;
    return 0;
}

/*
 * The cut among pending[from, to): the middle of the quietest 300 ms
 * (energy summed over 10 ms frames). Ties go to the latest, so pieces stay
 * long; with no pause at all the quietest moment still wins.
 */
static size_t quiet_cut(const csp_pieces *p, size_t from, size_t to)
{
    const int16_t *s = (const int16_t *)(void *)p->pending.data;
    size_t frames = (to - from) / ENERGY_FRAME;
    if (frames <= QUIET_SPAN)
        return to;
    double window = 0, best = -1;
    size_t best_at = to;
    double energy[QUIET_SPAN] = {0};
    for (size_t f = 0; f < frames; f++) {
        double e = 0;
        const int16_t *x = s + from + f * ENERGY_FRAME;
        for (size_t i = 0; i < ENERGY_FRAME; i++)
            e += (double)x[i] * x[i];
        window += e - energy[f % QUIET_SPAN];
        energy[f % QUIET_SPAN] = e;
        if (f + 1 >= QUIET_SPAN && (best < 0 || window <= best)) {
            best = window;
            best_at = from + (f + 1 - QUIET_SPAN / 2) * ENERGY_FRAME;
        }
    }
    return best_at;
}

static int finish_piece(csp_pieces *p, double *start_s, double *seconds, int *silent, char *why,
                        size_t size)
{
    if (p->out) {
        int err = csp__sndfile.close(p->out);
        p->out = NULL;
        if (err || p->mem.over) {
            snprintf(why, size, "cannot encode FLAC: %s", csp__sndfile.error_number(err));
            return -1;
        }
    }
    *start_s = (double)p->total_frames / CSP_STT_RATE;
    *seconds = (double)p->piece_frames / CSP_STT_RATE;
    *silent = p->piece_peak < SILENT_PEAK;
    p->total_frames += p->piece_frames;
    p->piece_frames = 0;
    p->piece_peak = 0;
    return 0;
}

int csp__pieces_next(csp_pieces *p, csp_buf *flac, double *start_s, double *seconds, int *silent,
                     char *why, size_t size)
{
    p->flac = flac;
    flac->len = 0;
    size_t safe_end = p->max_frames - p->search; /* frames before this are never a cut */
    for (;;) {
        size_t have = p->piece_frames + pending_frames(p);
        if (have >= p->max_frames)
            break;
        int rc = fill_pending(p, p->max_frames - have < READ_FRAMES ? p->max_frames - have : READ_FRAMES,
                              why, size);
        if (rc < 0)
            return -1;
        if (rc > 0) { /* the end: the rest is the last piece */
            if (encode(p, pending_frames(p), why, size) < 0)
                return -1;
            if (!p->piece_frames)
                return 1;
            return finish_piece(p, start_s, seconds, silent, why, size);
        }
        if (p->piece_frames < safe_end) {
            size_t n = safe_end - p->piece_frames;
            if (n > pending_frames(p))
                n = pending_frames(p);
            if (encode(p, n, why, size) < 0)
                return -1;
        }
    }
    size_t from = p->piece_frames < safe_end ? safe_end - p->piece_frames : 0;
    size_t to = p->max_frames - p->piece_frames;
    if (to > pending_frames(p))
        to = pending_frames(p);
    size_t cut = from < to ? quiet_cut(p, from, to) : to;
    if (encode(p, cut, why, size) < 0)
        return -1;
    return finish_piece(p, start_s, seconds, silent, why, size);
}

double csp__pieces_seconds(const csp_pieces *p)
{
    return (double)(p->total_frames + p->piece_frames) / CSP_STT_RATE;
}

void csp__pieces_free(csp_pieces *p)
{
    if (!p)
        return;
    if (p->out)
        csp__sndfile.close(p->out);
    if (p->in)
        csp__sndfile.close(p->in);
    csp__resampler_free(p->resampler);
    csp__free(p->block);
    csp__free(p->mixed);
    csp__buf_free(&p->ready);
    csp__buf_free(&p->pending);
    csp__free(p);
}

int csp__pieces_write_wav(const csp_audio_source *source, const char *path, double *seconds,
                          char *why, size_t size)
{
    csp_pieces *p = csp__pieces_new(source, CSP_STT_RATE, 0, why, size);
    *seconds = 0;
    if (!p)
        return -1;
    SF_INFO info = {0};
    info.samplerate = CSP_STT_RATE;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *out = csp__sndfile_open(path, SFM_WRITE, &info);
    int rc = out ? 0 : -1;
    if (!out)
        snprintf(why, size, "cannot write %s: %s", path, csp__sndfile_error(NULL));
    size_t frames = 0;
    while (rc == 0) {
        int got = read_block(p, why, size);
        if (got < 0) {
            rc = -1;
            break;
        }
        size_t n = p->ready.len / sizeof(int16_t);
        if (n && csp__sndfile.writef_short(out, (const short *)(void *)p->ready.data, (sf_count_t)n) != (sf_count_t)n) {
            snprintf(why, size, "cannot write %s: %s", path, csp__sndfile_error(out));
            rc = -1;
        }
        frames += n;
        csp__buf_consume(&p->ready, n * sizeof(int16_t));
        if (got > 0)
            break;
    }
    if (out && csp__sndfile.close(out) != 0 && rc == 0) {
        snprintf(why, size, "cannot write %s", path);
        rc = -1;
    }
    *seconds = (double)frames / CSP_STT_RATE;
    csp__pieces_free(p);
    return rc;
}
