/* SPDX-License-Identifier: MIT */
/*
 * mp3_frames.h: mp3 passthrough. Finds the frames in mp3 bytes (mpg123's
 * frame-by-frame parser: it skips ID3v2, junk and the Xing/Info/LAME frame,
 * and resyncs as the decoder would) without decoding them, and writes the
 * one Xing/Info/LAME frame a file made of many chunks' frames needs.
 *
 * Ownership: a walker is the caller's (csp__mp3_walker_free accepts NULL);
 * frames handed to the callback are borrowed for the call. Not thread-safe:
 * one walker per thread.
 */
#ifndef CSP_MP3_FRAMES_H
#define CSP_MP3_FRAMES_H
#include <stddef.h>
#include <stdint.h>

/* What one 4-byte MPEG audio frame header says (layer III only is "valid"). */
typedef struct csp_mp3_header {
    int version;   /* 10: MPEG-1, 20: MPEG-2, 25: MPEG-2.5 */
    long rate;
    int channels;
    int samples;   /* per frame: 1152 (MPEG-1) or 576 */
    int side_info; /* bytes after the header (and CRC) before main data */
    int bitrate;   /* kbit/s, 0: free format */
    size_t length; /* the frame's bytes, header included; 0: free format */
} csp_mp3_header;

/* 0 when h is a layer III header we can use, else -1. */
int csp__mp3_header_parse(const unsigned char h[4], csp_mp3_header *out);

typedef struct csp_mp3_walker csp_mp3_walker;
/* One whole frame, header included. Return nonzero to stop. */
typedef int (*csp_mp3_frame_fn)(void *userdata, const unsigned char *frame, size_t len,
                                const csp_mp3_header *header);

/* NULL when out of memory or mpg123 cannot start (*why set). */
csp_mp3_walker *csp__mp3_walker_new(const char **why);
void csp__mp3_walker_free(csp_mp3_walker *walker);
/* Feed bytes; each frame found goes to fn. Returns 0, 1 if fn stopped, -1 on an error. */
int csp__mp3_walker_feed(csp_mp3_walker *walker, const void *data, size_t len,
                         csp_mp3_frame_fn fn, void *userdata);
/* The encoder delay and padding from the chunk's LAME tag, in samples; -1: none seen. */
long csp__mp3_walker_delay(const csp_mp3_walker *walker);
long csp__mp3_walker_padding(const csp_mp3_walker *walker);
const char *csp__mp3_walker_error(const csp_mp3_walker *walker);
/* Where the frame last handed to the callback starts, in bytes from the first byte fed. */
long long csp__mp3_walker_frame_offset(const csp_mp3_walker *walker);

/* Byte offsets of frames, sampled (at most 512 kept), for the Xing table of contents. */
typedef struct csp_mp3_toc {
    uint64_t offsets[512];
    size_t count;       /* entries kept */
    uint64_t stride;    /* one entry per stride frames */
    uint64_t frames;    /* frames seen */
} csp_mp3_toc;
void csp__mp3_toc_init(csp_mp3_toc *toc);
/* A frame starts at offset bytes after the Info frame's start. */
void csp__mp3_toc_add(csp_mp3_toc *toc, uint64_t offset);

/* What the Info frame states about the whole file. */
typedef struct csp_mp3_summary {
    uint64_t frames;     /* audio frames, the Info frame not counted */
    uint64_t bytes;      /* the whole file, the Info frame included */
    int vbr;             /* frames of more than one bitrate: "Xing", else "Info" */
    int bitrate;         /* kbit/s of the frames when they share one */
    long delay, padding; /* first chunk's encoder delay, last chunk's padding; -1: unknown */
    const csp_mp3_toc *toc;
} csp_mp3_summary;

/*
 * The Xing/Info frame (with a LAME tag carrying delay and padding) for a
 * stream whose frames look like first_header: same version, rate and
 * channel mode, the lowest bitrate that holds the tag. Writes at most cap
 * bytes; returns the frame's length, 0 if it does not fit or the header
 * is not usable. summary NULL: a placeholder of the same length.
 */
size_t csp__mp3_info_frame(const unsigned char first_header[4], const csp_mp3_summary *summary,
                           unsigned char *out, size_t cap);
#endif
