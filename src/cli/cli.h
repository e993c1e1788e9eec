/* SPDX-License-Identifier: MIT */
/*
 * cli.h: the command-line tool's parts. The tool uses only the public
 * header; exit codes are mapped from csp_code in one place (main.c).
 */
#ifndef CLI_H
#define CLI_H
#include "clawspeak.h"

#include <stddef.h>
#include <stdio.h>

/*
 * The tool's own messages go to a copy of standard error made at start
 * (stderr.c): while PortAudio starts on its own thread, descriptor 2 points
 * at /dev/null for a moment to hide ALSA's probe noise (libasound writes to
 * the C library's stderr), and none of ours may be lost to that.
 */
extern FILE *cli_stderr;
void cli_keep_own_stderr(void); /* first thing in main */
#undef stderr
#define stderr cli_stderr
#include <stdio.h>

enum cli_command {
    CLI_NONE = 0,
    CLI_SAY = 1 << 0,
    CLI_ASK = 1 << 1,
    CLI_CONFIG = 1 << 2,
    CLI_DEVICES = 1 << 3,
    CLI_VOICES = 1 << 4,
    CLI_MODELS = 1 << 5,
    CLI_TRANSCRIBE = 1 << 6,
    CLI_LISTEN = 1 << 7,
};
#define CLI_ALL (CLI_SAY | CLI_ASK | CLI_CONFIG | CLI_DEVICES | CLI_VOICES | CLI_MODELS | CLI_TRANSCRIBE | \
                 CLI_LISTEN)

typedef struct cli_option {
    const char *long_name;
    char short_name;
    const char *arg; /* NULL: a switch */
    unsigned commands;
    const char *help;
    const char *setting; /* csp_client_override name, or NULL */
} cli_option;

/* Every option, sorted by long name: the tool's own and one per setting with a flag. */
const cli_option *cli_option_list(size_t *count);

typedef struct cli_command_info {
    const char *name;
    enum cli_command command;
    const char *usage, *summary;
} cli_command_info;

/* The subcommands, in help order (for help, the man page and completions). */
const cli_command_info *cli_commands(size_t *count);

#define CLI_MAX_WORDS 256

typedef struct cli_args {
    enum cli_command command;
    int help, version, quiet, verbose;
    const char *config_path;
    const char *file, *output, *format, *device, *system_prompt;
    const char *files[CLI_MAX_WORDS]; /* every -f, in order: spoken as one stream */
    size_t file_count;
    int jobs, lines, play, json, chat, speak, no_speak, no_wait, markdown, read_code;
    int pause_ms, pause_ms_set;
    int yes, confirm_over_set, force, resume;
    long sample_rate;
    const char *subtitles;
    int normalize, volume_set;
    double volume;
    long lead_in_ms;
    const char *output_dir; /* --output-dir: each -f FILE to DIR/NAME.FORMAT */
    const char *input_device; /* listen, ask --listen: the microphone */
    int listen, continuous, barge_in, echo_cancel;
    int silence_ms;
    long long confirm_over; /* ask before sending more characters than this */
    double max_behind;
    int list_voices;      /* -v '?' */
    char rate_speed[32];  /* -r WPM as a speed */
    int rate_given, speed_given; /* -r and --speed: one of them, not both */
    const char *words[CLI_MAX_WORDS]; /* positional arguments after the subcommand */
    size_t word_count;
    struct {
        const char *name, *value;
        char typed[40]; /* the flag as typed, for errors: "-v", "--spe" */
    } overrides[16];
    size_t override_count;
    char error[256];
} cli_args;

/* Exit codes, documented in README and --help. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_CONFIG = 3,
    CLI_EXIT_KEY = 4,
    CLI_EXIT_API = 5,
    CLI_EXIT_NETWORK = 6,
    CLI_EXIT_AUDIO = 7,
    CLI_EXIT_OUTPUT = 8,
    CLI_EXIT_LOCAL = 9,
    CLI_EXIT_INTERRUPTED = 130,
};

/* The user answered no (nothing was sent; the message is printed): exit 1, as apt-get does. */
#define CLI_DECLINED ((csp_code)(CSP_CODE_COUNT + 1))
/* Interrupted, and the message is printed: exit 130. */
#define CLI_INTERRUPTED_SAID ((csp_code)(CSP_CODE_COUNT + 2))

/* Parse argv. Returns CSP_OK or CSP_EUSAGE with args->error set. Never exits. */
csp_code cli_parse(int argc, char **argv, cli_args *args);
void cli_print_help(enum cli_command command);
const char *cli_command_name(enum cli_command command);
int cli_exit_code(csp_code code);
/* A Ctrl-C was dealt with (a chat reply stopped): the next one again only asks to stop. */
void cli_interrupt_handled(void);
/* True once SIGINT, SIGTERM, SIGHUP or SIGQUIT arrived. */
int cli_interrupted(void);
/* The last of those signals to arrive (0: none yet). */
int cli_interrupt_signal(void);

/* Subcommands: each returns a csp_code and prints its own error detail. */
csp_code cli_run(csp_client *client, const cli_args *args);

/*
 * console.c: reply text and log lines, from any thread. While a reply line
 * is open and the text shares stderr's terminal, file or pipe, log lines are
 * held (up to 4 KiB) and written right after the line ends.
 */
void cli_console_set_text(FILE *out);                  /* where reply text goes */
void cli_console_text(const char *text, size_t len);   /* a piece of reply text */
void cli_console_end_text(void);                       /* the reply ended: end its line */
void cli_console_log(const char *prefix, const char *message); /* "clawspeak: " prefix message */

/*
 * lineedit.c: the --chat prompt on a terminal (libedit): editing, and a
 * history in $XDG_STATE_HOME/clawspeak/history (0600) loaded by new and
 * saved by free. Main thread only.
 */
typedef struct cli_lineedit cli_lineedit;
typedef enum {
    CLI_LINE_TEXT,        /* a line was entered */
    CLI_LINE_END,         /* Ctrl-D on an empty line, end of input, or an error */
    CLI_LINE_CLEARED,     /* Ctrl-C on a line holding text: the line was dropped */
    CLI_LINE_INTERRUPTED, /* Ctrl-C (or another stop signal) on an empty line */
} cli_line_status;
/* NULL when stdin or stderr is not a terminal (or out of memory): read plain lines then.
   verbose: say (once) why the history cannot be kept. */
cli_lineedit *cli_lineedit_new(int verbose);
/* The next line after the "> " prompt, without its newline, to free(); NULL with *status. */
char *cli_lineedit_read(cli_lineedit *le, cli_line_status *status);
/* Add a line to the history (le may be NULL). */
void cli_lineedit_remember(cli_lineedit *le, const char *line);
/* Save the history (the last 1000 lines) and free; NULL is fine. */
void cli_lineedit_free(cli_lineedit *le);
#endif
