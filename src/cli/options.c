/* SPDX-License-Identifier: MIT */
/*
 * options.c: the option table (sorted by long name) and the parser it
 * drives. The same table prints --help, so they cannot disagree.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEAKS (CLI_SAY | CLI_ASK)
#define RESOLVES (CLI_SAY | CLI_ASK | CLI_CONFIG | CLI_VOICES)

/* Options of the tool itself; those that set a setting come from the library's registry. */
static const cli_option own_options[] = {
    {"barge-in", 0, NULL, CLI_ASK, "speaking while the reply plays stops it at once (with --listen --chat: and is the next turn)", NULL},
    {"chat", 0, NULL, CLI_ASK, "keep a conversation going: each line typed is a turn", NULL},
    {"config", 0, "PATH", CLI_ALL, "config file (default: $OPENCLAW_CONFIG_PATH, ~/.openclaw/openclaw.json)", NULL},
    {"confirm-over", 0, "N", CLI_SAY, "on a terminal, ask before sending more than N characters (default 20000)", NULL},
    {"continuous", 0, NULL, CLI_LISTEN, "keep listening: one line per utterance", NULL},
    {"device", 0, "N|NAME", SPEAKS | CLI_LISTEN, "output device: index or name prefix (see 'clawspeak devices'); for listen, the input", NULL},
    {"echo-cancel", 0, NULL, CLI_ASK, "with --barge-in: cancel the reply's echo in what is heard (libspeexdsp)", NULL},
    {"file", 'f', "PATH", CLI_SAY, "read the text from PATH ('-' for standard input)", NULL},
    {"force", 0, NULL, CLI_SAY, "with --output-dir: convert again files already converted", NULL},
    {"format", 0, "FMT", SPEAKS, "output file format: wav flac ogg opus mp3 aiff raw (default: from -o's extension)", NULL},
    {"help", 'h', NULL, CLI_ALL, "show help", NULL},
    {"input-device", 0, "N|NAME", CLI_LISTEN | CLI_ASK, "input device (microphone): index or name prefix; default: the default input", NULL},
    {"jobs", 'j', "N", SPEAKS | CLI_TRANSCRIBE, "requests in flight at once (default 3)", NULL},
    {"json", 0, NULL, CLI_CONFIG | CLI_VOICES | CLI_TRANSCRIBE, "print as JSON (typed values; see the README for the shape)", NULL},
    {"lead-in", 0, "MS", SPEAKS, "silence before the speech, for outputs that wake up slowly (Bluetooth, HDMI)", NULL},
    {"lines", 0, NULL, CLI_SAY, "speak each line of standard input as it arrives", NULL},
    {"listen", 0, NULL, CLI_ASK, "the prompt is spoken: record it from the microphone and transcribe it", NULL},
    {"markdown", 0, NULL, CLI_SAY, "strip markdown and HTML before speaking (as ask does for replies)", NULL},
    {"max-behind", 0, "SECONDS", CLI_SAY, "with --lines: skip lines that waited longer than this (live logs)", NULL},
    {"no-fallback", 0, NULL, SPEAKS | CLI_CONFIG, "only the chosen provider speaks: no fallback to the next", "fallback"},
    {"no-speak", 0, NULL, CLI_ASK, "never speak the reply", NULL},
    {"no-wait", 0, NULL, SPEAKS, "play at once, even while another clawspeak is speaking", NULL},
    {"normalize", 0, NULL, SPEAKS, "bring each request's audio to -16 LUFS (EBU R128): one loudness across voices", NULL},
    {"output", 'o', "PATH", SPEAKS | CLI_TRANSCRIBE | CLI_LISTEN, "save audio (transcribe: the text; listen: the recording) to PATH, written atomically ('-' for standard output)", NULL},
    {"output-dir", 0, "DIR", CLI_SAY, "convert each FILE (or -f FILE) to DIR/NAME.FORMAT (wav unless --format)", NULL},
    {"pause-ms", 0, "MS", CLI_SAY, "speak an unfinished sentence after the input is silent this long (default 700; 0: wait)", NULL},
    {"play", 0, NULL, SPEAKS, "with -o, also play", NULL},
    {"quiet", 'q', NULL, CLI_ALL, "print errors only; no progress bar", NULL},
    {"rate", 'r', "WPM", SPEAKS, "speaking rate in words per minute, as in say and espeak-ng (175 = speed 1)", NULL},
    {"read-code", 0, NULL, CLI_SAY, "with --markdown: read code blocks aloud (default: a short note)", NULL},
    {"resume", 0, NULL, CLI_SAY, "go on with an interrupted conversion: chunks already paid for are not requested again", NULL},
    {"sample-rate", 0, "HZ", SPEAKS, "with -o: write the file at this sample rate (8000-192000)", NULL},
    {"silence-ms", 0, "MS", CLI_LISTEN | CLI_ASK, "an utterance ends after this much silence (default 1200)", NULL},
    {"speak", 0, NULL, CLI_ASK, "speak the reply whatever tts.auto says (-o, --subtitles and --barge-in do too)", NULL},
    {"subtitles", 0, "FILE", SPEAKS, "also write subtitles, one cue per sentence (.srt or .vtt)", NULL},
    {"system", 0, "TEXT", CLI_ASK, "add a system message", NULL},
    {"verbose", 0, NULL, CLI_ALL, "say more about what happens (the key stays hidden)", NULL},
    {"version", 0, NULL, CLI_ALL, "print the version", NULL},
    {"volume", 0, "X", SPEAKS, "gain from 0 to 4, with a soft limiter so nothing clips (default 1)", NULL},
    {"yes", 'y', NULL, CLI_SAY, "never ask before sending a large text", NULL},
};
#define OWN_COUNT (sizeof own_options / sizeof own_options[0])
#define MAX_OPTIONS (OWN_COUNT + 32)

static cli_option all_options[MAX_OPTIONS];
static char setting_help[32][200];
static size_t option_count;

static unsigned commands_of(unsigned used_by)
{
    unsigned mask = 0;
    if (used_by & CSP_FOR_SPEECH)
        mask |= SPEAKS | CLI_CONFIG;
    if (used_by & CSP_FOR_CHAT)
        mask |= CLI_ASK | CLI_CONFIG;
    if (used_by & CSP_FOR_LISTING)
        mask |= CLI_VOICES;
    if (used_by & CSP_FOR_TRANSCRIBE)
        mask |= CLI_TRANSCRIBE | CLI_CONFIG;
    return mask;
}

static int by_long_name(const void *a, const void *b)
{
    return strcmp(((const cli_option *)a)->long_name, ((const cli_option *)b)->long_name);
}

/* The option a setting's registry entry asks for, its help ending in its range and default. */
static void add_setting_option(const csp_setting_info *info, char *help, size_t size)
{
    int n = snprintf(help, size, "%s", info->help);
    const char *sep = " (";
    if (info->type == CSP_SETTING_NUMBER || info->type == CSP_SETTING_INTEGER) {
        n += snprintf(help + n, size - (size_t)n, "%s%.15g-%.15g", sep, info->min, info->max);
        sep = "; ";
    } else if (info->type == CSP_SETTING_CHOICE) {
        n += snprintf(help + n, size - (size_t)n, "%sone of: %s", sep, info->choices);
        sep = "; ";
    }
    if (info->fallback)
        n += snprintf(help + n, size - (size_t)n, "%sdefault %s", sep, info->fallback);
    if (strcmp(sep, " (") != 0 || info->fallback)
        snprintf(help + n, size - (size_t)n, ")");
    all_options[option_count++] = (cli_option){info->flag, info->short_flag, info->arg,
                                               commands_of(info->used_by), help, info->name};
}

const cli_option *cli_option_list(size_t *count)
{
    if (!option_count) {
        memcpy(all_options, own_options, sizeof own_options);
        option_count = OWN_COUNT;
        size_t settings = 0;
        const csp_setting_info *info;
        for (size_t i = 0; (info = csp_setting_info_at(i)) != NULL; i++)
            if (info->flag && settings < sizeof setting_help / sizeof setting_help[0] &&
                option_count < MAX_OPTIONS) {
                add_setting_option(info, setting_help[settings], sizeof setting_help[0]);
                settings++;
            }
        qsort(all_options, option_count, sizeof all_options[0], by_long_name);
    }
    *count = option_count;
    return all_options;
}

static const cli_command_info commands[] = {
    {"say", CLI_SAY, "say [OPTIONS] [TEXT...]", "speak text from arguments, -f FILE or standard input"},
    {"ask", CLI_ASK, "ask [OPTIONS] [PROMPT]", "ask the agent's model and speak the reply as it streams (unless tts.auto says no)"},
    {"config", CLI_CONFIG, "config [--json]", "print every resolved setting and where it came from"},
    {"devices", CLI_DEVICES, "devices", "list audio devices: outputs, and inputs for listen"},
    {"voices", CLI_VOICES, "voices [--json]", "list the voices of each speech model (offline: espeak-ng's)"},
    {"models", CLI_MODELS, "models set REF | models [list]", "set agents.defaults.model.primary in the config, or list the chat models"},
    {"transcribe", CLI_TRANSCRIBE, "transcribe [OPTIONS] FILE...", "print what is said in audio files ('-': standard input) through tools.media"},
    {"listen", CLI_LISTEN, "listen [-o FILE] [--continuous]", "record speech from the microphone until a pause, transcribe it, print it"},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

const cli_command_info *cli_commands(size_t *count)
{
    *count = COMMAND_COUNT;
    return commands;
}

const char *cli_command_name(enum cli_command command)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (commands[i].command == command)
            return commands[i].name;
    return "";
}

static const char exit_codes_help[] =
    "Exit codes: 0 ok, 1 other failure, 2 usage or bad input text, 3 config,\n"
    "  4 missing or rejected API key, 5 API error, 6 network or timeout,\n"
    "  7 audio device, 8 output file, 9 local speech engine, 130 interrupted.\n";

void cli_print_help(enum cli_command command)
{
    if (command == CLI_NONE) {
        printf("Usage: clawspeak COMMAND [OPTIONS]\n\nText to speech through OpenRouter, "
               "configured like OpenClaw.\n\nCommands:\n");
        for (size_t i = 0; i < COMMAND_COUNT; i++)
            printf("  %-26s %s\n", commands[i].usage, commands[i].summary);
        printf("\nRun 'clawspeak COMMAND --help' for a command's options.\n\n%s", exit_codes_help);
        return;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (commands[i].command == command)
            printf("Usage: clawspeak %s\n%s.\n\nOptions:\n", commands[i].usage,
                   commands[i].summary);
    size_t count;
    const cli_option *options = cli_option_list(&count);
    for (size_t i = 0; i < count; i++) {
        const cli_option *o = &options[i];
        if (!(o->commands & command))
            continue;
        /* --model names a different model per command: the default shown is that one's */
        const char *help = o->help;
        char model_help[160];
        const csp_setting_info *per_command =
            o->setting && !strcmp(o->setting, "model") && command == CLI_ASK ? csp_setting_info_find("chat_model")
            : o->setting && !strcmp(o->setting, "model") && command == CLI_TRANSCRIBE
                ? csp_setting_info_find("stt_model")
                : NULL;
        if (o->setting && !strcmp(o->setting, "model") && command == CLI_SAY)
            per_command = csp_setting_info_find("model");
        if (per_command) {
            snprintf(model_help, sizeof model_help, "%s model (default: %s%s)",
                     command == CLI_ASK ? "chat" : command == CLI_TRANSCRIBE ? "transcription" : "speech",
                     command == CLI_ASK ? "agents.defaults.model.primary, else "
                     : command == CLI_TRANSCRIBE ? "tools.media's, else " : "",
                     per_command->fallback ? per_command->fallback : "none");
            help = model_help;
        }
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "",
                 o->short_name ? o->short_name : ' ', o->short_name ? ", " : " ", o->long_name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-28s %s\n", o->short_name ? left : left + 2, help);
    }
    printf("\n%s", exit_codes_help);
}

static const cli_option *find_long(const char *name, size_t len)
{
    size_t count;
    const cli_option *options = cli_option_list(&count);
    for (size_t i = 0; i < count; i++)
        if (strlen(options[i].long_name) == len && strncmp(options[i].long_name, name, len) == 0)
            return &options[i];
    return NULL;
}

/* An unambiguous prefix (--verb = --verbose), as getopt_long allows. */
static const cli_option *find_prefix(const char *name, size_t len, char *candidates, size_t size)
{
    const cli_option *found = NULL;
    size_t count = 0, used = 0, total;
    const cli_option *options = cli_option_list(&total);
    candidates[0] = '\0';
    for (size_t i = 0; i < total; i++)
        if (len && strncmp(options[i].long_name, name, len) == 0) {
            found = &options[i];
            int n = snprintf(candidates + used, size - used, "%s--%s", count ? ", " : "",
                             found->long_name);
            if (n > 0 && (size_t)n < size - used)
                used += (size_t)n;
            count++;
        }
    return count == 1 ? found : NULL;
}

/* Edit distance, for "did you mean": small strings only. */
static size_t distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = up;
        }
    }
    return row[lb];
}

static const char *closest_option(const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_distance = 3; /* at most two edits away */
    size_t count;
    const cli_option *options = cli_option_list(&count);
    for (size_t i = 0; i < count; i++) {
        size_t d = distance(name, len, options[i].long_name);
        if (d < best_distance) {
            best_distance = d;
            best = options[i].long_name;
        }
    }
    return best;
}

static const cli_option *find_short(char c)
{
    size_t count;
    const cli_option *options = cli_option_list(&count);
    for (size_t i = 0; i < count; i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

static csp_code usage_error(cli_args *args, const char *fmt, const char *what)
{
    snprintf(args->error, sizeof args->error, fmt, what);
    return CSP_EUSAGE;
}

static csp_code usage_error2(cli_args *args, const char *fmt, const char *a, const char *b)
{
    snprintf(args->error, sizeof args->error, fmt, a, b);
    return CSP_EUSAGE;
}

/*
 * A plain decimal number ("1.5", "2e-1"): strtod alone also takes hex ("0x2"), "inf" and
 * "nan", which nobody means as a gain or a number of seconds.
 */
static int parse_decimal(const char *value, double *out)
{
    char *end;
    if (!*value || value[strspn(value, "0123456789.+-eE")] != '\0')
        return -1;
    double x = strtod(value, &end);
    if (*end)
        return -1;
    *out = x;
    return 0;
}

/* Options other speech tools have, and what they are called here (issue 24). */
static const struct foreign_option {
    const char *typed, *hint;
} foreign_options[] = {
    {"-i", "-i is say's interactive mode, which clawspeak has not; read a file with -f FILE"},
    {"-s", "-s is espeak-ng's speed in words per minute; here it is -r WPM (or --speed X)"},
    {"-w", "-w is espeak-ng's WAV file; here it is -o FILE (any format, from the extension)"},
    {"--list-voices", "voices are listed by 'clawspeak voices' (or -v '?')"},
    {"--output-file", "the output file is -o FILE (--output)"},
    {"--text", "give the text as arguments, with -f FILE or on standard input"},
    {"--write-media", "the output file is -o FILE (--output)"},
};

static const char *foreign_hint(const char *typed, size_t len)
{
    for (size_t i = 0; i < sizeof foreign_options / sizeof foreign_options[0]; i++)
        if (strlen(foreign_options[i].typed) == len && !strncmp(foreign_options[i].typed, typed, len))
            return foreign_options[i].hint;
    return NULL;
}

/* typed: the option as the user wrote it ("-v", "--verb"), for messages. */
static csp_code apply(cli_args *args, const cli_option *o, const char *value, const char *typed)
{
    const char *n = o->long_name;
    if (args->command != CLI_NONE && !(o->commands & args->command)) {
        snprintf(args->error, sizeof args->error, "option %s does not apply to '%s'", typed,
                 cli_command_name(args->command));
        return CSP_EUSAGE;
    }
    if (!strcmp(n, "voice") && !strcmp(value, "?")) {
        args->list_voices = 1; /* as in say: -v '?' lists the voices */
        return CSP_OK;
    }
    if (!strcmp(n, "rate")) {
        /* words per minute, as say and espeak-ng take it: 175 is the API's speed 1.0 */
        double wpm;
        if (parse_decimal(value, &wpm) != 0 || !(wpm >= 44 && wpm <= 700))
            return usage_error2(args, "%s: expected words per minute from 44 to 700, got '%s'",
                                typed, value);
        snprintf(args->rate_speed, sizeof args->rate_speed, "%.4g", wpm / 175.0);
        args->rate_given = 1;
        value = args->rate_speed;
        o = find_long("speed", 5);
    } else if (!strcmp(n, "speed")) {
        args->speed_given = 1;
    }
    if (o->setting) {
        if (!o->arg)
            value = "false"; /* a switch that sets a setting turns it off: --no-fallback */
        if (args->override_count >= sizeof args->overrides / sizeof args->overrides[0])
            return usage_error(args, "too many options%s", "");
        args->overrides[args->override_count].name = o->setting;
        args->overrides[args->override_count].value = value;
        snprintf(args->overrides[args->override_count].typed,
                 sizeof args->overrides[0].typed, "%s", typed);
        args->override_count++;
    } else if (!strcmp(n, "help")) args->help = 1;
    else if (!strcmp(n, "version")) args->version = 1;
    else if (!strcmp(n, "quiet")) args->quiet = 1;
    else if (!strcmp(n, "verbose")) args->verbose++;
    else if (!strcmp(n, "config")) args->config_path = value;
    else if (!strcmp(n, "file")) {
        if (args->file_count >= CLI_MAX_WORDS)
            return usage_error(args, "too many -f files%s", "");
        args->files[args->file_count++] = value;
        args->file = args->files[0];
    }
    else if (!strcmp(n, "output")) args->output = value;
    else if (!strcmp(n, "format")) args->format = value;
    else if (!strcmp(n, "device")) args->device = value;
    else if (!strcmp(n, "input-device")) args->input_device = value;
    else if (!strcmp(n, "listen")) args->listen = 1;
    else if (!strcmp(n, "continuous")) args->continuous = 1;
    else if (!strcmp(n, "barge-in")) args->barge_in = 1;
    else if (!strcmp(n, "echo-cancel")) args->echo_cancel = 1;
    else if (!strcmp(n, "silence-ms")) {
        char *end;
        long ms = strtol(value, &end, 10);
        if (!*value || *end || ms < 100 || ms > 60000)
            return usage_error2(args, "%s: expected milliseconds from 100 to 60000, got '%s'", typed, value);
        args->silence_ms = (int)ms;
    }
    else if (!strcmp(n, "system")) args->system_prompt = value;
    else if (!strcmp(n, "lines")) args->lines = 1;
    else if (!strcmp(n, "play")) args->play = 1;
    else if (!strcmp(n, "json")) args->json = 1;
    else if (!strcmp(n, "chat")) args->chat = 1;
    else if (!strcmp(n, "speak")) args->speak = 1;
    else if (!strcmp(n, "no-speak")) args->no_speak = 1;
    else if (!strcmp(n, "no-wait")) args->no_wait = 1;
    else if (!strcmp(n, "yes")) args->yes = 1;
    else if (!strcmp(n, "force")) args->force = 1;
    else if (!strcmp(n, "resume")) args->resume = 1;
    else if (!strcmp(n, "output-dir")) args->output_dir = value;
    else if (!strcmp(n, "subtitles")) args->subtitles = value;
    else if (!strcmp(n, "normalize")) args->normalize = 1;
    else if (!strcmp(n, "volume")) {
        double x;
        if (parse_decimal(value, &x) != 0 || !(x >= 0 && x <= 4))
            return usage_error2(args, "%s: expected a gain from 0 to 4, got '%s'", typed, value);
        args->volume = x;
        args->volume_set = 1;
    }
    else if (!strcmp(n, "lead-in")) {
        char *end;
        long ms = strtol(value, &end, 10);
        if (!*value || *end || ms < 0 || ms > 10000)
            return usage_error2(args, "%s: expected milliseconds from 0 to 10000, got '%s'", typed,
                                value);
        args->lead_in_ms = ms;
    }
    else if (!strcmp(n, "sample-rate")) {
        char *end;
        long hz = strtol(value, &end, 10);
        if (!*value || *end || hz < 8000 || hz > 192000)
            return usage_error2(args, "%s: expected a sample rate from 8000 to 192000 Hz, got '%s'",
                                typed, value);
        args->sample_rate = hz;
    }
    else if (!strcmp(n, "confirm-over")) {
        char *end;
        long long chars = strtoll(value, &end, 10);
        if (!*value || *end || chars < 0)
            return usage_error2(args, "%s: expected a number of characters, got '%s'", typed, value);
        args->confirm_over = chars;
        args->confirm_over_set = 1;
    }
    else if (!strcmp(n, "markdown")) args->markdown = 1;
    else if (!strcmp(n, "read-code")) args->read_code = 1;
    else if (!strcmp(n, "pause-ms")) {
        char *end;
        long ms = strtol(value, &end, 10);
        if (!*value || *end || ms < 0 || ms > 600000)
            return usage_error2(args, "%s: expected milliseconds from 0 to 600000, got '%s'", typed, value);
        args->pause_ms = (int)ms;
        args->pause_ms_set = 1;
    } else if (!strcmp(n, "max-behind")) {
        double seconds;
        if (parse_decimal(value, &seconds) != 0 || !(seconds > 0 && seconds <= 86400))
            return usage_error2(args, "%s: expected seconds from 0 to 86400, got '%s'", typed, value);
        args->max_behind = seconds;
    }
    else if (!strcmp(n, "jobs")) {
        char *end;
        long jobs = strtol(value, &end, 10);
        if (*end || jobs < 1 || jobs > 16)
            return usage_error2(args, "%s: expected a number from 1 to 16, got '%s'", typed, value);
        args->jobs = (int)jobs;
    }
    return CSP_OK;
}

/* Whether a word is one of our options ("-o", "--verbose", "--verb"): "-v -o" left out the voice. */
static int is_option_word(const char *word)
{
    if (word[0] != '-' || word[1] == '\0')
        return 0;
    if (word[1] != '-')
        return find_short(word[1]) != NULL;
    size_t len = strcspn(word + 2, "=");
    char candidates[160];
    return len && (find_long(word + 2, len) || find_prefix(word + 2, len, candidates, sizeof candidates));
}

/* An option's value taken from the next word, when that word is an option of ours. */
static csp_code value_is_option(cli_args *args, const char *typed, const cli_option *o, const char *value)
{
    snprintf(args->error, sizeof args->error,
             "%.20s needs a value (%.10s) but got the option '%.20s'; did you mean %.20s %.10s "
             "%.20s ...? (a value that starts with '-' goes as --%.20s=VALUE)",
             typed, o->arg, value, typed, o->arg, value, o->long_name);
    return CSP_EUSAGE;
}

/* The closest of the commands (and help, version) to a mistyped one. */
static const char *closest_command(const char *word)
{
    const char *best = NULL;
    size_t best_distance = 3;
    static const char *const extra[] = {"help", "version"};
    for (size_t i = 0; i < COMMAND_COUNT + 2; i++) {
        const char *name = i < COMMAND_COUNT ? commands[i].name : extra[i - COMMAND_COUNT];
        size_t d = distance(word, strlen(word), name);
        if (d < best_distance && d < strlen(name)) {
            best_distance = d;
            best = name;
        }
    }
    return best;
}

csp_code cli_parse(int argc, char **argv, cli_args *args)
{
    memset(args, 0, sizeof *args);
    int only_words = 0, help_word = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!only_words && strcmp(a, "--") == 0) {
            only_words = 1;
            continue;
        }
        if (!only_words && a[0] == '-' && a[1] == '-') {
            char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            char candidates[160];
            const cli_option *o = find_long(a + 2, len);
            if (!o)
                o = find_prefix(a + 2, len, candidates, sizeof candidates);
            if (!o && candidates[0]) {
                snprintf(args->error, sizeof args->error, "option '%.*s' is ambiguous: %s",
                         (int)(len + 2), a, candidates);
                return CSP_EUSAGE;
            }
            if (!o) {
                const char *near = closest_option(a + 2, len);
                const char *hint = foreign_hint(a, len + 2);
                if (hint)
                    snprintf(args->error, sizeof args->error, "unknown option '%.*s': %s",
                             (int)(len + 2), a, hint);
                else if (near)
                    snprintf(args->error, sizeof args->error,
                             "unknown option '%.*s'; did you mean --%s?", (int)(len + 2), a, near);
                else
                    snprintf(args->error, sizeof args->error,
                             "unknown option '%.*s' (see --help; to say text that starts with "
                             "'-', put it after --)", (int)(len + 2), a);
                return CSP_EUSAGE;
            }
            const char *value = NULL;
            if (o->arg) {
                if (eq)
                    value = eq + 1;
                else if (i + 1 < argc && is_option_word(argv[i + 1])) {
                    char typed[40];
                    snprintf(typed, sizeof typed, "%.*s", (int)(len + 2), a);
                    return value_is_option(args, typed, o, argv[i + 1]);
                } else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return usage_error(args, "option --%s needs a value", o->long_name);
            } else if (eq) {
                return usage_error(args, "option --%s takes no value", o->long_name);
            }
            char typed[40];
            snprintf(typed, sizeof typed, "%.*s", (int)(len + 2), a);
            if (apply(args, o, value, typed) != CSP_OK)
                return CSP_EUSAGE;
        } else if (!only_words && a[0] == '-' && a[1] != '\0') {
            for (char *c = a + 1; *c; c++) {
                const cli_option *o = find_short(*c);
                const char *hint = foreign_hint((char[]){'-', *c, '\0'}, 2);
                if (!o && hint) {
                    snprintf(args->error, sizeof args->error, "unknown option '-%c': %s", *c, hint);
                    return CSP_EUSAGE;
                }
                if (!o) {
                    snprintf(args->error, sizeof args->error,
                             "unknown option '-%c'%s%s%s (see --help; to say text that starts "
                             "with '-', put it after --)", *c, c == a + 1 && !c[1] ? "" : " in '",
                             c == a + 1 && !c[1] ? "" : a, c == a + 1 && !c[1] ? "" : "'");
                    return CSP_EUSAGE;
                }
                const char *value = NULL;
                if (o->arg) {
                    if (c[1])
                        value = c + 1;
                    else if (i + 1 < argc && is_option_word(argv[i + 1]))
                        return value_is_option(args, (char[]){'-', *c, '\0'}, o, argv[i + 1]);
                    else if (i + 1 < argc)
                        value = argv[++i];
                    else
                        return usage_error(args, "option -%s needs a value",
                                           (char[]){*c, '\0'});
                }
                if (apply(args, o, value, (char[]){'-', *c, '\0'}) != CSP_OK)
                    return CSP_EUSAGE;
                if (value)
                    break;
            }
        } else if (args->command == CLI_NONE && help_word) {
            /* clawspeak help COMMAND */
            for (size_t k = 0; k < COMMAND_COUNT; k++)
                if (strcmp(a, commands[k].name) == 0)
                    args->command = commands[k].command;
            if (args->command == CLI_NONE) {
                const char *near = closest_command(a);
                snprintf(args->error, sizeof args->error, "no help on '%.60s': not a command%s%s%s "
                         "(see clawspeak --help)", a, near ? "; did you mean " : "",
                         near ? near : "", near ? "?" : "");
                return CSP_EUSAGE;
            }
        } else if (args->command == CLI_NONE && !help_word && !strcmp(a, "help")) {
            args->help = help_word = 1; /* as git and pip take it: help [COMMAND] */
        } else if (args->command == CLI_NONE && !strcmp(a, "version")) {
            args->version = 1;
        } else if (args->command == CLI_NONE) {
            const char *voice = NULL;
            for (size_t k = 0; k < args->override_count; k++)
                if (!strcmp(args->overrides[k].name, "voice"))
                    voice = args->overrides[k].value;
            for (size_t k = 0; voice && k < COMMAND_COUNT; k++)
                if (!strcmp(voice, commands[k].name))
                    return usage_error(args, "-v is the voice now (as in say and espeak-ng), so "
                                             "'-v %s' names a voice; for more detail use --verbose",
                                       voice);
            for (size_t k = 0; k < COMMAND_COUNT; k++)
                if (strcmp(a, commands[k].name) == 0)
                    args->command = commands[k].command;
            if (args->command == CLI_NONE) {
                const char *near = closest_command(a);
                if (near)
                    return usage_error2(args, "unknown command '%.60s'; did you mean %s? (see "
                                              "clawspeak --help)", a, near);
                return usage_error(args, "unknown command '%.60s' (see clawspeak --help)", a);
            }
        } else {
            if (args->word_count >= CLI_MAX_WORDS)
                return usage_error(args, "too many arguments%s", "");
            args->words[args->word_count++] = a;
        }
    }
    /* --model names the chat model for ask; the option may come before the command */
    for (size_t k = 0; k < args->override_count; k++)
        if (args->command == CLI_ASK && strcmp(args->overrides[k].name, "model") == 0)
            args->overrides[k].name = "chat_model";
        else if (args->command == CLI_TRANSCRIBE && strcmp(args->overrides[k].name, "model") == 0)
            args->overrides[k].name = "stt_model";
    if (args->help || args->version)
        return CSP_OK;
    /* say --output-dir out chapters/NAME.txt ...: with --output-dir the words are files, as -f */
    if (args->command == CLI_SAY && args->output_dir && args->word_count) {
        for (size_t k = 0; k < args->word_count; k++) {
            if (args->file_count >= CLI_MAX_WORDS)
                return usage_error(args, "too many files%s", "");
            args->files[args->file_count++] = args->words[k];
        }
        args->file = args->files[0];
        args->word_count = 0;
    }
    if (args->command == CLI_NONE)
        return usage_error(args, "no command given (see clawspeak --help)%s", "");
    if (args->quiet && args->verbose)
        return usage_error(args, "--quiet and --verbose contradict each other%s", "");
    if (args->speak && args->no_speak)
        return usage_error(args, "--speak and --no-speak contradict each other%s", "");
    if (args->no_speak && (args->output || args->subtitles || args->barge_in || args->echo_cancel))
        return usage_error(args, "%s goes with a spoken reply, and --no-speak never speaks it",
                           args->output ? "-o" : args->subtitles ? "--subtitles"
                           : args->barge_in ? "--barge-in" : "--echo-cancel");
    if (args->file && args->word_count)
        return usage_error(args, "give the text as arguments or with -f, not both%s", "");
    if (args->read_code && !args->markdown)
        return usage_error(args, "--read-code goes with --markdown%s", "");
    if (args->max_behind > 0 && !args->lines)
        return usage_error(args, "--max-behind goes with --lines%s", "");
    if (args->play && !args->output)
        return usage_error(args, "--play only makes sense with -o%s", "");
    /* options that shape a file are refused, not ignored, when no file is written */
    if ((args->format || args->sample_rate) && !args->output && !args->output_dir)
        return usage_error(args, "%s only makes sense with -o FILE (or --output-dir): playback "
                                 "takes the audio as it comes", args->format ? "--format" : "--sample-rate");
    if (args->rate_given && args->speed_given)
        return usage_error(args, "-r/--rate and --speed both set the speed: give one%s", "");
    if (args->output_dir && (args->output || !args->file_count || args->lines))
        return usage_error(args, "--output-dir converts files (give at least one FILE or -f FILE, "
                                 "and no -o or --lines)%s", "");
    if (args->command == CLI_LISTEN && args->device && args->input_device)
        return usage_error(args, "for listen, --device is the input: give it or --input-device, "
                                 "not both%s", "");
    if (args->echo_cancel && !args->barge_in)
        return usage_error(args, "--echo-cancel goes with --barge-in%s", "");
    if (args->command == CLI_ASK && (args->input_device || args->silence_ms) && !args->listen &&
        !args->barge_in)
        return usage_error(args, "--input-device and --silence-ms go with --listen or --barge-in%s", "");
    if (args->command == CLI_LISTEN && args->output && !strcmp(args->output, "-"))
        return usage_error(args, "listen prints the text on standard output; save the recording "
                                 "to a file%s", "");
    if (args->force && !args->output_dir)
        return usage_error(args, "--force goes with --output-dir%s", "");
    if (args->resume && !args->output && !args->output_dir)
        return usage_error(args, "--resume goes on with a conversion to a file: give -o FILE or "
                                 "--output-dir DIR%s", "");
    return CSP_OK;
}
