/* SPDX-License-Identifier: MIT */
/*
 * sink.h: where decoded audio goes. One small interface: open (the format
 * is known at the first decoded frames), write, finish (commit or abort).
 * Implementations: PortAudio playback, libsndfile files (atomic), and a tee.
 * An mp3 file also takes mp3 frames as they came (write_mp3): no decoding,
 * no encoding; the tee sends those to the file and their decoded PCM to
 * the player.
 */
#ifndef CSP_SINK_H
#define CSP_SINK_H
#include "clawspeak.h"

#include <stddef.h>
#include <stdint.h>

typedef struct csp_sink csp_sink;

typedef struct csp_sink_ops {
    csp_code (*open)(csp_sink *sink, long rate, int channels);
    csp_code (*write)(csp_sink *sink, const int16_t *samples, size_t frames);
    /* commit: play out / publish the file; else abort at once and discard. */
    csp_code (*finish)(csp_sink *sink, int commit);
    void (*free)(csp_sink *sink);
    /* The rate it should be opened at for audio at `rate` (opus takes only some rates;
       --sample-rate asks for one); NULL: that rate. */
    long (*rate_for)(csp_sink *sink, long rate, int channels);
    /* mp3 passthrough (mp3_frames.h). NULL in a sink that takes PCM only. */
    /* May layer III frames at this rate and channel count be written as they are? 0: no. */
    int (*takes_mp3)(csp_sink *sink, long rate, int channels);
    /* One whole frame, verbatim, with its chunk's encoder delay and padding (-1: unknown).
       The sink is open at the frame's rate and channels. */
    csp_code (*write_mp3)(csp_sink *sink, const unsigned char *frame, size_t len, long delay,
                          long padding);
    /* PCM of audio already written as mp3, for a sink that also plays it (the tee). */
    int (*wants_decoded)(csp_sink *sink);
    csp_code (*write_decoded)(csp_sink *sink, const int16_t *samples, size_t frames);
    /* The audio of one chunk, whose text is this, is all written: a sentence boundary, where
       the sink may cut (len 0: audio of no text, a lead-in). NULL: nothing to do. */
    csp_code (*chunk_end)(csp_sink *sink, const char *text, size_t len);
    /* Before the first audio, without waiting: a failure already known (the device did not
       start), so the run stops and its requests are cancelled at once. NULL: none. */
    csp_code (*check)(csp_sink *sink);
    /* Nothing more to play for now (an idle --lines): play out what is queued and let the
       device and the speaking lock go until the next write. NULL: nothing to do. */
    csp_code (*rest)(csp_sink *sink);
} csp_sink_ops;

struct csp_sink {
    const csp_sink_ops *ops;
    struct csp_report *report;
    long rate;
    int channels;
    int opened;
    long wanted_rate; /* files: --sample-rate, 0: the audio's own */
};

/* The rate to open the sink at for audio that arrives at `rate`. */
long csp__sink_rate_for(csp_sink *sink, long rate, int channels);

/* Play through PortAudio. device: NULL, an index, or a name prefix. */
/* wait_turn: hold the per-user speaking lock from open to finish (speaking_lock.h). */
csp_code csp__sink_portaudio_new(struct csp_report *report, const char *device, int wait_turn,
                                 csp_sink **out);
/*
 * Write a file through libsndfile. path "-" is standard output (refused on
 * a terminal). The temporary file is created now, so an unwritable target
 * fails before any request is sent.
 */
csp_code csp__sink_file_new(struct csp_report *report, const char *path, const char *format,
                            csp_sink **out);

/*
 * Loudness on the way to inner (sink_level.c): lead_in_ms of silence first, each chunk
 * brought to -16 LUFS (normalize, measured with libebur128), times volume, through a soft
 * limiter so nothing clips. Takes ownership of inner, also on failure.
 */
csp_code csp__sink_level_new(struct csp_report *report, csp_sink *inner, double volume,
                             int normalize, long lead_in_ms, csp_sink **out);
/*
 * Subtitles (sink_subtitles.c): one cue per chunk, timed by the frames written to inner,
 * saved to path (.srt or .vtt) atomically when inner commits. Takes ownership of inner.
 */
csp_code csp__sink_subtitles_new(struct csp_report *report, csp_sink *inner, const char *path,
                                 const char *audio_path, csp_sink **out);

/* Keep (1) each run's stream open when it ends, for the next run on the same device and
   format, closed after a few idle seconds; 0 closes it (csp_audio_keep). */
void csp__sink_portaudio_park(int enabled);

/* Audio devices, "index\tname\toutput|input|output, input[\t(default ...)]\n" each (csp_list_devices). */
csp_code csp__sink_list_devices(struct csp_report *report, char **out);

/* Create the sink the options ask for. */
csp_code csp__sink_for_options(struct csp_report *report, const csp_say_options *options,
                               csp_sink **out);

csp_code csp__sink_open(csp_sink *sink, long rate, int channels);
csp_code csp__sink_write(csp_sink *sink, const int16_t *samples, size_t frames);
csp_code csp__sink_finish(csp_sink *sink, int commit);
/* mp3 passthrough: rate 0 asks whether the sink takes mp3 frames at all. */
int csp__sink_takes_mp3(csp_sink *sink, long rate, int channels);
csp_code csp__sink_write_mp3(csp_sink *sink, const unsigned char *frame, size_t len, long delay,
                             long padding);
/* Does audio written as mp3 also need decoding (playback, subtitles)? */
int csp__sink_wants_decoded(csp_sink *sink);
csp_code csp__sink_write_decoded(csp_sink *sink, const int16_t *samples, size_t frames);
csp_code csp__sink_chunk_end(csp_sink *sink, const char *text, size_t len);
csp_code csp__sink_check(csp_sink *sink);
csp_code csp__sink_rest(csp_sink *sink);
void csp__sink_free(csp_sink *sink);
#endif
