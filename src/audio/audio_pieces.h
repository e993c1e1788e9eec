/* SPDX-License-Identifier: MIT */
/*
 * audio_pieces.h: audio to transcribe, as pieces a recogniser takes. Any
 * file libsndfile reads (wav, flac, ogg, opus, mp3) or samples in memory
 * are turned into 16 kHz mono (libsoxr), cut where it is quietest near
 * each cut point (between words, not in them), and each piece is encoded
 * as FLAC in memory. Only the search window before a cut is held as
 * samples, so memory stays flat however long the recording.
 */
#ifndef CSP_AUDIO_PIECES_H
#define CSP_AUDIO_PIECES_H
#include "alloc.h"

#include <stddef.h>
#include <stdint.h>

#define CSP_STT_RATE 16000

/* Where the audio comes from: a seekable file descriptor (borrowed), or samples (borrowed). */
typedef struct csp_audio_source {
    int fd; /* -1: use pcm */
    const int16_t *pcm;
    size_t frames;
    long rate;
    int channels;
} csp_audio_source;

typedef struct csp_pieces csp_pieces;

/* Is fd audio libsndfile reads? 0 yes (*seconds its length, may be 0 when unknown), -1 no
   (why names libsndfile's reason). The file position is put back at the start. */
int csp__audio_probe(int fd, double *seconds, char *why, size_t size);

/*
 * Start reading source from its beginning. max_frames: the longest piece
 * in 16 kHz frames; max_bytes caps each piece's FLAC bytes. NULL with why
 * set on failure (not audio, out of memory).
 */
csp_pieces *csp__pieces_new(const csp_audio_source *source, size_t max_frames, size_t max_bytes,
                            char *why, size_t size);
/*
 * The next piece: its FLAC bytes replace flac's contents. Returns 0 for a
 * piece, 1 at the end (no piece), -1 on an error (why set). *silent is set
 * when the piece holds nothing louder than a whisper (not worth sending).
 */
int csp__pieces_next(csp_pieces *p, csp_buf *flac, double *start_s, double *seconds, int *silent,
                     char *why, size_t size);
/* Seconds of audio read so far (at the end: the whole length). */
double csp__pieces_seconds(const csp_pieces *p);
void csp__pieces_free(csp_pieces *p);

/* Write all of source as a 16 kHz mono 16-bit WAV at path (for a CLI recogniser).
   Returns 0, or -1 with why set; *seconds receives the length. */
int csp__pieces_write_wav(const csp_audio_source *source, const char *path, double *seconds,
                          char *why, size_t size);
#endif
