/* SPDX-License-Identifier: MIT */
/*
 * clawspeak.h: the one public header of libclawspeak.
 *
 * libclawspeak reads an OpenClaw-style config, resolves the speech settings
 * and API key exactly as OpenClaw does, calls OpenRouter's /audio/speech and
 * /chat/completions, decodes the audio and plays or saves it.
 *
 * Ownership: every `const char *` argument is borrowed and copied if kept.
 * Every `char *` the library returns is freed with csp_free(). Handles are
 * freed with their _free function, which accepts NULL.
 * Threads: a csp_client is used by one thread at a time; csp_client_cancel()
 * alone may be called from any thread or a signal handler.
 */
#ifndef CLAWSPEAK_H
#define CLAWSPEAK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CSP_VERSION_MAJOR 0
#define CSP_VERSION_MINOR 2
#define CSP_VERSION_PATCH 0
#define CSP_VERSION_STRING "0.2.0"

#if defined(CSP_BUILDING_LIBRARY)
#define CSP_API __attribute__((visibility("default")))
#else
#define CSP_API
#endif

/* Result codes. Append only: the numbers are part of the ABI. */
#define CSP_CODE_MAP(X)                                                        \
    X(OK, "success")                                                           \
    X(EUSAGE, "invalid usage")                                                 \
    X(ECONFIG, "invalid configuration")                                        \
    X(EKEY, "API key missing or rejected")                                     \
    X(EAPI, "the API returned an error")                                       \
    X(ENET, "network error or timeout")                                        \
    X(EAUDIO, "audio device error")                                            \
    X(EOUTPUT, "cannot write the output file")                                 \
    X(ENOMEM, "out of memory")                                                 \
    X(EINPUT, "invalid input text")                                            \
    X(ECANCELED, "interrupted")                                                \
    X(EDECODE, "audio could not be decoded")                                   \
    X(ELOCAL, "the local speech engine failed")                                \
    X(EPIPE, "the reader of the output went away")

typedef enum {
#define CSP_CODE_ENUM(name, text) CSP_##name,
    CSP_CODE_MAP(CSP_CODE_ENUM)
#undef CSP_CODE_ENUM
        CSP_CODE_COUNT
} csp_code;

/* A static, human-readable text for a code. Never NULL. */
CSP_API const char *csp_strerror(csp_code code);
CSP_API const char *csp_version(void);
CSP_API void csp_free(void *ptr);
/*
 * Text fit for a terminal: control characters (escapes, CR, LF, tabs), bidirectional
 * overrides and bytes that are not UTF-8 become '?', as in every message the library
 * prints. For file names and other outside text a program prints itself. out (size
 * bytes, size > 0) is always terminated; a longer text is cut between characters.
 */
CSP_API void csp_printable(const char *text, char *out, size_t size);

typedef enum {
    CSP_LOG_ERROR = 0,
    CSP_LOG_WARN,
    CSP_LOG_INFO,
    CSP_LOG_DEBUG
} csp_log_level;

/* Messages passed to a log callback are already redacted: no API key. */
typedef void (*csp_log_fn)(void *userdata, csp_log_level level, const char *message);

/* --- client: resolved settings plus the HTTP state --------------------- */

typedef struct csp_client csp_client;

CSP_API csp_client *csp_client_new(void);
CSP_API void csp_client_free(csp_client *client);

/* Install a log callback; messages above max_level are never formatted. */
CSP_API void csp_client_set_log(csp_client *client, csp_log_fn fn, csp_log_level max_level,
                                void *userdata);

/*
 * Override one setting as a command-line flag would (it beats config and
 * environment; given twice, the last wins). Names are those of the
 * settings registry below, except keys and lists: provider, voice, model,
 * response_format, speed, timeout_ms, max_text_length, auto, base_url,
 * chat_model, local_command, local_voice. Call before csp_client_load()
 * (a long-running program may change them and load again: the connections
 * kept stay warm). value NULL takes back an earlier override of name.
 * Returns CSP_EUSAGE for an unknown name. A bad value fails in
 * csp_client_load(), naming the flag as `typed` ("-v", "--spe") when given.
 */
CSP_API csp_code csp_client_override(csp_client *client, const char *name, const char *value);
CSP_API csp_code csp_client_override_as(csp_client *client, const char *name, const char *value,
                                        const char *typed);

/* --- the settings registry: one entry per setting ------------------------- */

typedef enum {
    CSP_SETTING_TEXT,
    CSP_SETTING_CHOICE,  /* one of `choices`, matched without regard to case */
    CSP_SETTING_NUMBER,  /* min..max */
    CSP_SETTING_INTEGER, /* a whole number, min..max */
    CSP_SETTING_URL,
    CSP_SETTING_SECRET,  /* a key: shown masked, never overridden */
    CSP_SETTING_JSON,    /* an object, shown as compact JSON */
    CSP_SETTING_COMMAND, /* an argument list */
    CSP_SETTING_BOOL     /* true or false */
} csp_setting_type;

/* Who uses a setting: for a tool that builds its options from the registry. */
enum { CSP_FOR_SPEECH = 1, CSP_FOR_CHAT = 2, CSP_FOR_LISTING = 4, CSP_FOR_TRANSCRIBE = 8 };

typedef struct csp_setting_info {
    const char *name;       /* as csp_client_override() and csp_setting_at() call it */
    csp_setting_type type;
    const char *config_key; /* the config key that sets it (the first of its aliases) */
    const char *flag;       /* its long command-line option, or NULL */
    char short_flag;        /* or 0 */
    const char *arg;        /* the option's value in help ("NAME") */
    const char *help;       /* one line */
    const char *fallback;   /* the default as text, or NULL: unset */
    double min, max;        /* NUMBER and INTEGER */
    const char *choices;    /* CHOICE: the values, separated by spaces */
    unsigned used_by;       /* CSP_FOR_* */
} csp_setting_info;

/* The registry, in display order: NULL past the last entry. Static data. */
CSP_API const csp_setting_info *csp_setting_info_at(size_t index);
CSP_API const csp_setting_info *csp_setting_info_find(const char *name);

/*
 * Find, read and resolve the config. config_path NULL searches as OpenClaw
 * does ($OPENCLAW_CONFIG_PATH, $OPENCLAW_STATE_DIR/openclaw.json,
 * ~/.openclaw/openclaw.json); a missing file means defaults.
 * Returns CSP_ECONFIG for a file that is not valid (the detail names
 * file:line:column).
 */
CSP_API csp_code csp_client_load(csp_client *client, const char *config_path);

/* Detail of the last failure, redacted; "" if none. Owned by the client. */
CSP_API const char *csp_client_error(const csp_client *client);

/* Ask the current operation to stop soon. Async-signal-safe. */
CSP_API void csp_client_cancel(csp_client *client);
/* Let the next operation run after a cancel (e.g. the next turn of a chat). */
CSP_API void csp_client_clear_cancel(csp_client *client);

/*
 * For a process that must end at once (a second Ctrl-C): remove the
 * temporary files of every running operation and kill the local engine's
 * children. Async-signal-safe; call it from the handler, then _exit().
 */
CSP_API void csp_emergency_cleanup(void);

/* Resolved settings, in display order. value is redacted for secrets. */
CSP_API size_t csp_setting_count(const csp_client *client);
CSP_API csp_code csp_setting_at(const csp_client *client, size_t index, const char **name,
                                const char **value, const char **source);
/* The value of one setting by name (redacted for secrets), or NULL. */
CSP_API const char *csp_setting_get(const csp_client *client, const char *name);

/* --- speaking ----------------------------------------------------------- */

typedef struct csp_progress {
    size_t chunks_done, chunks_total; /* total is 0 while unknown (streamed input) */
    double audio_seconds;             /* audio written to the sink so far */
    double elapsed_seconds;
} csp_progress;

/* Called on the audio thread about every 100 ms of progress, and once just before the
   first audio is written (audio_seconds still 0: the sound begins). */
typedef void (*csp_progress_fn)(void *userdata, const csp_progress *progress);

typedef struct csp_say_options {
    const char *output_path;   /* NULL: play; "-": stdout; else a file written atomically */
    const char *output_format; /* wav flac ogg opus mp3 raw; NULL: from the extension */
    int play;                  /* with output_path: play as well */
    const char *device;        /* PortAudio output: index or name prefix; NULL: default */
    int jobs;                  /* concurrent requests; 0: default 3 */
    csp_progress_fn progress;
    void *progress_userdata;
    /* Streams (csp_say_fd, csp_say_lines): an unfinished sentence is spoken after the
       producer is silent this long; 0: 700 ms; negative: wait for more text until the
       end of input or a blank line. */
    int pause_ms;
    /* csp_say_lines: lines that waited longer than this many seconds are skipped with a
       notice, so speech keeps up with a live log; 0: no line is ever skipped. */
    double max_behind_s;
    int markdown;  /* strip markdown (and HTML) as agent replies are stripped */
    int read_code; /* with markdown: read code blocks aloud instead of a short note */
    /* Playback waits while another clawspeak run of this user is speaking (a lock in
       $XDG_RUNTIME_DIR), so two agents never talk over each other; 1: play at once. */
    int no_wait;
    /* Saving to a file through the API: CSP_CHUNKS_KEEP keeps each chunk's audio beside
       the target (.NAME.clawspeak-parts/) until the file is whole, so an interrupted run
       can go on; CSP_CHUNKS_RESUME also serves chunks an earlier run of the same text and
       settings kept, instead of requesting them again. 0: nothing is kept. */
    int chunks;
    /* Files: the sample rate to write (resampled with libsoxr); 0: the audio's own
       (opus, which takes 8, 12, 16, 24 or 48 kHz only, gets 48 kHz for other rates). */
    long sample_rate;
    /* volume_set: multiply by volume (0-4); samples pass a soft limiter, so a loud source
       never clips. Unset: the audio as it comes, bit for bit. */
    int volume_set;
    double volume;
    int normalize;   /* each chunk to -16 LUFS (EBU R128): one loudness across voices */
    long lead_in_ms; /* silence first, for outputs that wake up slowly (Bluetooth, HDMI) */
    /* Cues saved to this .srt or .vtt file when the audio commits; each request then
       carries one sentence, and each cue spans its sentence's measured audio. */
    const char *subtitles_path;
    /* Index marks (csp_speaker_mark): called on the audio thread, in order, when the audio
       of the text before the mark has all been written to the output (a device plays it
       within its latency), and before any audio of the text after it. Returning nonzero
       ends the run right there (a pause at a mark): what is written plays out, nothing
       after the mark is requested or played, and the speaker's calls return CSP_ECANCELED
       from then on (csp_speaker_finish: CSP_OK once it has played out). */
    int (*on_mark)(void *userdata, const char *name);
    void *mark_userdata;
} csp_say_options;
enum { CSP_CHUNKS_DISCARD = 0, CSP_CHUNKS_KEEP = 1, CSP_CHUNKS_RESUME = 2 };

/* Speak text (UTF-8, any length). CSP_EINPUT for invalid UTF-8, NUL or blank text. */
CSP_API csp_code csp_say(csp_client *client, const char *text, size_t len,
                         const csp_say_options *options);

/*
 * Speak everything read from fd (a file, a pipe, a socket) while it is
 * still being written: each sentence as soon as it is whole, an unfinished
 * one after options->pause_ms of silence. Memory stays flat: reading
 * waits while enough text waits to be spoken. Invalid UTF-8 stops the run
 * with CSP_EINPUT naming the byte offset (no file is written).
 */
CSP_API csp_code csp_say_fd(csp_client *client, int fd, const csp_say_options *options);

/*
 * Several inputs as one stream, in order, each ending its paragraph (say
 * -f a.txt -f b.txt). When all are regular files, all are read before the
 * first request, so a bad byte anywhere fails with nothing sent. names
 * (or NULL) name the inputs in errors, whose byte offsets count per input.
 */
CSP_API csp_code csp_say_fds(csp_client *client, const int *fds, const char *const *names,
                             size_t count, const csp_say_options *options);

/*
 * Speak each line read from fd as it arrives, in order, until end of input.
 * A line that is not valid UTF-8 (or holds a NUL) is skipped with a warning
 * naming its number. No line is lost unless options->max_behind_s is set.
 */
CSP_API csp_code csp_say_lines(csp_client *client, int fd, const csp_say_options *options);

/* --- the streaming speaker ------------------------------------------------ */

/*
 * A speaker takes UTF-8 text in pieces of any size (a piece may end inside
 * a character or a word) and speaks each sentence as soon as it is whole,
 * in order, gapless, with up to options->jobs requests in flight. One
 * thread writes; audio is produced on the speaker's own threads.
 * Every call returns the first failure from then on (a failed request,
 * a cancel), so a producer knows to stop.
 */
typedef struct csp_speaker csp_speaker;

/* Opens the output now: a bad target fails before any request. */
CSP_API csp_code csp_speaker_new(csp_client *client, const csp_say_options *options,
                                 csp_speaker **out);
/* Add text; may wait while enough text waits to be spoken (backpressure). */
CSP_API csp_code csp_speaker_write(csp_speaker *speaker, const char *text, size_t len);
/* Speak what is pending now, whole sentence or not. */
CSP_API csp_code csp_speaker_flush(csp_speaker *speaker);
/* No more text: speak the rest, wait until it is all played or saved, and commit the file. */
CSP_API csp_code csp_speaker_finish(csp_speaker *speaker);
/*
 * An index mark here: the text written so far is spoken without waiting for
 * a sentence end, and options->on_mark receives name once its audio is all
 * out, before the audio of what is written next (SSML <mark/>, as a screen
 * reader follows the words). Marks after the last text come once it is heard.
 */
CSP_API csp_code csp_speaker_mark(csp_speaker *speaker, const char *name);
/* Stop at once from any thread; the file is discarded. */
CSP_API void csp_speaker_cancel(csp_speaker *speaker);
CSP_API void csp_speaker_free(csp_speaker *speaker);

/*
 * The price of one character of input for the speech model in use, from
 * OpenRouter's /models (pricing.prompt): *usd_per_char is -1 when the list
 * gives none. A network call: for asking before a large conversion.
 */
CSP_API csp_code csp_speech_price(csp_client *client, double *usd_per_char);

/* List audio devices, outputs and inputs: one "index\tname\tKIND[\t(default ...)]\n" line each,
   KIND "output", "input" or "output, input", into *out. */
CSP_API csp_code csp_list_devices(csp_client *client, char **out);
/*
 * Start the audio system (PortAudio, which probes ALSA, JACK and OSS for tens of
 * milliseconds) on a thread now, so the playback a run opens later finds it ready. For a
 * program that knows early that it will play: call it before reading the config. Harmless
 * when nothing plays after all; only the first call does anything.
 */
CSP_API void csp_audio_warm_up(void);
/*
 * The same, knowing more: device is --device (NULL: the default output, whose fastest way,
 * libpulse, ALSA or PortAudio, is chosen now), plays/records what the run will do.
 */
CSP_API void csp_audio_warm_up_for(const char *device, int plays, int records);
/*
 * For a resident program (a speech-dispatcher module): keep (1) the audio system started
 * between runs, so a message does not probe the devices again, and keep each run's
 * output stream open for the next run on the same device and format (closed after 5 s
 * with nothing to play, so other programs can have the device); 0 lets both go. Only
 * the first 1 holds; a 0 ends it.
 */
CSP_API void csp_audio_keep(int keep);

/*
 * Load the HTTP library (libcurl and its ~40 libraries, ~12 ms) on a thread now, so the
 * first request does not wait for it. For a program that knows early that it will make
 * requests: call it before reading the config, after csp_audio_warm_up (the dynamic loader
 * maps one library at a time: the device, whose timing the echo canceller depends on,
 * keeps its place), or use csp_warm_up. Only the first call does anything; exit waits for
 * a load in progress.
 */
CSP_API void csp_network_warm_up(void);

/* What csp_warm_up starts. */
enum {
    CSP_WARM_PLAYBACK = 1,   /* the output device (device NULL: the default) */
    CSP_WARM_MICROPHONE = 2, /* the input device */
    CSP_WARM_NETWORK = 4     /* libcurl: the run makes requests */
};
/*
 * Start what a run will need, on threads, in the order that is heard first: the device's
 * thread and libcurl's both start now, and a playback-only device loads its library once
 * the first request is under way (the dynamic loader maps one library at a time, and a
 * thread cannot even start while it does: libpulse's load held up libcurl's and the
 * request's threads). A device that records keeps its place before the network, as with
 * csp_audio_warm_up_for then csp_network_warm_up. Only the first call of each does anything.
 */
CSP_API void csp_warm_up(unsigned what, const char *device);

/* List voices per speech model from GET {baseUrl}/models?output_modalities=speech. */
CSP_API csp_code csp_list_voices(csp_client *client, char **out);
/* The chat models OpenRouter offers, one ref a line as `models set` takes them
   ("openrouter/<id>"), the one in use followed by "  (in use)". A network call. */
CSP_API csp_code csp_list_models(csp_client *client, char **out);

/* --- agent replies ------------------------------------------------------ */

typedef enum { CSP_SPEAK_AUTO = 0, CSP_SPEAK_ALWAYS, CSP_SPEAK_NEVER } csp_speak_mode;

/* Receives reply text, as it streams, for display (directives removed). */
typedef void (*csp_text_fn)(void *userdata, const char *text, size_t len);

typedef struct csp_chat_message {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} csp_chat_message;

typedef struct csp_listener csp_listener;

typedef struct csp_ask_options {
    csp_speak_mode speak;
    csp_say_options say; /* where speech goes */
    csp_text_fn on_text;
    void *text_userdata;
    /* The prompt came by voice (csp_listener_next): with auto "inbound" the reply is spoken. */
    int inbound;
    /* Barge-in: while the reply plays, speech heard by this listener stops it at once
       (csp_ask returns CSP_ECANCELED and csp_listener_barged_in says why); the words that
       interrupted are the listener's next utterance. NULL: no barge-in. */
    csp_listener *barge_in;
} csp_ask_options;

/*
 * Send the conversation to {baseUrl}/chat/completions with stream:true,
 * print the reply through on_text and speak it as it streams.
 * *reply (if not NULL) receives the full reply text, freed with csp_free().
 */
CSP_API csp_code csp_ask(csp_client *client, const csp_chat_message *messages, size_t count,
                         const csp_ask_options *options, char **reply);

/* --- speech to text ----------------------------------------------------- */

/*
 * One file's transcript. Strings are owned by the library and valid only
 * during the callback that receives them. text is printable: keys masked,
 * control characters (but newline and tab) shown as '?'.
 */
typedef struct csp_transcript {
    const char *name;        /* the input as named by the caller */
    const char *text;        /* "" when nothing was said */
    const char *model;       /* the model that answered, or "cli:COMMAND" */
    double duration_s;       /* length of the audio heard */
    size_t pieces;           /* requests it took (long audio is cut at silences) */
    double cost;             /* usage.cost summed over pieces; has_cost 0 when none came */
    double billed_seconds;   /* usage.seconds summed; has_billed_seconds 0 when none came */
    int has_cost, has_billed_seconds;
    int cut;                 /* the transcript was cut at 5 MiB */
} csp_transcript;

typedef void (*csp_transcript_fn)(void *userdata, size_t index, const csp_transcript *t);

typedef struct csp_transcribe_options {
    int jobs;                   /* requests in flight at once, over all inputs; 0: 3 */
    csp_transcript_fn on_result; /* each input's transcript, in input order */
    void *userdata;
} csp_transcribe_options;

/*
 * Transcribe audio files (any format libsndfile reads: wav, flac, ogg,
 * opus, mp3; a pipe is spooled to a temporary file) through the entries of
 * tools.media (OpenRouter's /audio/transcriptions, or CLI commands), in
 * config order, the next entry when one fails. Long audio is cut at
 * silences, sent as 16 kHz mono FLAC pieces, and joined in order; memory
 * stays flat whatever the length. Every input is checked to be audio
 * before anything is sent (CSP_EINPUT names the one that is not). The
 * first input that fails stops the run; earlier results were delivered.
 * No key and no CLI entry: CSP_EKEY, with an entry to add in the detail.
 */
CSP_API csp_code csp_transcribe_fds(csp_client *client, const int *fds, const char *const *names,
                                    size_t count, const csp_transcribe_options *options);

/*
 * Transcribe signed 16-bit interleaved samples held in memory (a recorded
 * utterance). *text receives the transcript (freed with csp_free); *info
 * (may be NULL) its details, whose strings are valid until the next call.
 */
CSP_API csp_code csp_transcribe_pcm(csp_client *client, const int16_t *pcm, size_t frames,
                                    long rate, int channels, const csp_transcribe_options *options,
                                    char **text);

/*
 * Write data to path atomically: readers see the old file or the new one,
 * never half; an existing file keeps its mode. CSP_EOUTPUT names the step.
 */
CSP_API csp_code csp_save_file(csp_client *client, const char *path, const char *data, size_t len);

/* --- listening ----------------------------------------------------------- */

/* Called for every 20 ms of audio heard while listening, on the recording thread:
   its level in dBFS before processing, and whether it counts as speech. */
typedef void (*csp_level_fn)(void *userdata, double level_db, int speech);

typedef struct csp_listen_options {
    const char *device; /* PortAudio input: index or name prefix; NULL: the default input */
    int silence_ms;     /* an utterance ends after this much silence; 0: 1200 */
    int max_ms;         /* and at this length at most; 0: 30000 */
    int echo_cancel;    /* cancel the echo of our own playback (barge-in) with libspeexdsp */
    csp_level_fn level;
    void *level_userdata;
} csp_listen_options;

/* Start recording from the input device now (CSP_EAUDIO with a hint when there is none).
   Recording runs on its own thread until csp_listener_free. */
CSP_API csp_code csp_listener_new(csp_client *client, const csp_listen_options *options,
                                  csp_listener **out);
/*
 * Wait for the next utterance: speech, a short pre-roll before it and the
 * silence that ended it, 16 kHz mono, noise-suppressed and level-adjusted
 * (libspeexdsp). *pcm is freed with csp_free. CSP_ECANCELED on a cancel.
 */
CSP_API csp_code csp_listener_next(csp_listener *listener, int16_t **pcm, size_t *frames);
/* Save an utterance to path (format from its extension; replaced atomically). */
CSP_API csp_code csp_listener_save(csp_listener *listener, const char *path, const int16_t *pcm,
                                   size_t frames);
/* The utterance's text, freed with csp_free. */
CSP_API csp_code csp_listener_transcribe(csp_listener *listener, const int16_t *pcm,
                                         size_t frames, char **text);
/* True if the last csp_ask given this listener as barge_in was stopped by speech. */
CSP_API int csp_listener_barged_in(csp_listener *listener);
CSP_API void csp_listener_free(csp_listener *listener);

/* --- config editing ----------------------------------------------------- */

/*
 * Set agents.defaults.model.primary in the config file, editing the text in
 * place so comments, order and layout survive. Creates the file if missing.
 * The file is replaced atomically and keeps its permissions.
 */
CSP_API csp_code csp_config_set_model(csp_client *client, const char *config_path,
                                      const char *model_ref);

#ifdef __cplusplus
}
#endif
#endif /* CLAWSPEAK_H */
