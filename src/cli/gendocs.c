/* SPDX-License-Identifier: MIT */
/*
 * gendocs.c: writes the man page and the bash, zsh and fish completions
 * from the option table, at build time, so none of them can miss an option
 * (a test checks each lists them all). Usage: gendocs man|bash|zsh|fish.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* Commands an option applies to, as "say, ask". */
static void command_list(unsigned mask, char *out, size_t size)
{
    size_t count, used = 0;
    const cli_command_info *c = cli_commands(&count);
    out[0] = '\0';
    for (size_t i = 0; i < count; i++)
        if (mask & c[i].command)
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", c[i].name);
}

/* roff needs backslashes and leading dots or quotes escaped. */
static void roff(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            fputs("\\e", stdout);
        else if (*p == '-')
            fputs("\\-", stdout);
        else
            putchar(*p);
    }
}

static void man(void)
{
    size_t count;
    const cli_command_info *c = cli_commands(&count);
    printf(".TH CLAWSPEAK 1 \"\" \"clawspeak %s\" \"User Commands\"\n", CSP_VERSION_STRING);
    printf(".SH NAME\nclawspeak \\- text to speech through OpenRouter, configured like OpenClaw\n");
    printf(".SH SYNOPSIS\n");
    for (size_t i = 0; i < count; i++) {
        printf(".B clawspeak\n");
        roff(c[i].usage);
        printf("\n.br\n");
    }
    printf(".SH DESCRIPTION\nclawspeak reads an OpenClaw config (JSON5), resolves the speech "
           "provider and API key as OpenClaw does, and speaks text through OpenRouter's "
           "/audio/speech, or with a local engine (espeak\\-ng) when no key exists. Text "
           "streams: each sentence is spoken as soon as it is whole, while the producer "
           "is still writing.\n");
    printf(".SH COMMANDS\n");
    for (size_t i = 0; i < count; i++) {
        printf(".TP\n.B %s\n", c[i].name);
        roff(c[i].summary);
        printf(".\n");
    }
    printf(".SH OPTIONS\nLong options may be shortened to any unambiguous prefix.\n");
    size_t option_count;
    const cli_option *options = cli_option_list(&option_count);
    for (size_t i = 0; i < option_count; i++) {
        const cli_option *o = &options[i];
        char commands[128];
        command_list(o->commands, commands, sizeof commands);
        printf(".TP\n");
        if (o->short_name)
            printf("\\fB\\-%c\\fR, ", o->short_name);
        printf("\\fB\\-\\-%s\\fR", o->long_name);
        if (o->arg)
            printf(" \\fI%s\\fR", o->arg);
        printf("\n");
        roff(o->help);
        printf(" (%s)\n", commands);
    }
    printf(".SH CONFIGURATION\nThe config is \\fB\\-\\-config\\fR, else "
           "\\fB$OPENCLAW_CONFIG_PATH\\fR, else \\fB$OPENCLAW_STATE_DIR/openclaw.json\\fR, "
           "else \\fB~/.openclaw/openclaw.json\\fR (JSON5; env and env.vars are read too; "
           "messages.tts.* is the older layout of tts.*). The settings, as "
           "\\fBclawspeak config\\fR shows them:\n");
    const csp_setting_info *info;
    for (size_t i = 0; (info = csp_setting_info_at(i)) != NULL; i++) {
        if (!info->used_by)
            continue; /* never shown */
        printf(".TP\n.B %s\n", info->name);
        if (info->config_key)
            roff(info->config_key);
        else
            printf("(command line only)");
        if (info->flag)
            printf(", \\fB\\-\\-%s\\fR", info->flag);
        printf(": ");
        roff(info->help);
        if (info->fallback) {
            printf(" (default ");
            roff(info->fallback);
            printf(")");
        }
        printf(".\n");
    }
    printf(".SH PRECEDENCE\nCommand\\-line flags, then the config (tts.* over messages.tts.*, "
           "field by field), then defaults. The API key: tts.providers.openrouter.apiKey, "
           "then models.providers.openrouter.apiKey, then OPENROUTER_API_KEY. The key is "
           "never printed: it shows as sk\\-or\\-...1234 at most.\n");
    printf(".SH EXIT STATUS\n0 ok, 1 other failure, 2 usage or bad input text, 3 config, 4 "
           "missing or rejected API key, 5 API error, 6 network or timeout, 7 audio device, 8 "
           "output file, 9 local speech engine, 130 interrupted.\n");
    printf(".SH ENVIRONMENT\n.TP\n.B OPENROUTER_API_KEY\nThe API key when the config has "
           "none.\n.TP\n.B OPENAI_API_KEY\nThe openai provider's key when its section has none "
           "(used only when the config names that provider).\n.TP\n"
           ".B OPENCLAW_CONFIG_PATH, OPENCLAW_STATE_DIR\nWhere the config is.\n.TP\n"
           ".B OPENCLAW_TTS_PREFS\nThe local TTS preferences file.\n.TP\n"
           ".B CLAWSPEAK_VOICE, CLAWSPEAK_SPEED\nSet for a local speech command of your own.\n"
           ".TP\n.B XDG_STATE_HOME\nWhere the chat history is kept.\n.TP\n"
           ".B XDG_RUNTIME_DIR\nWhere the speaking lock is.\n");
    printf(".SH FILES\n.TP\n.B ~/.openclaw/openclaw.json\nThe config.\n.TP\n"
           ".B ~/.openclaw/settings/tts.json\nLocal TTS preferences (provider, persona, auto).\n"
           ".TP\n.B $XDG_STATE_HOME/clawspeak/history\nThe \\-\\-chat history (mode 0600; "
           "default ~/.local/state/clawspeak/history).\n.TP\n"
           ".B $XDG_RUNTIME_DIR/clawspeak/speaking.lock\nOne voice at a time per user "
           "(else /tmp/clawspeak\\-UID/).\n.TP\n.B .NAME.clawspeak\\-parts/\n"
           "Beside an output file while it is converted: the paid chunks, for "
           "\\-\\-resume; removed once the file is whole.\n");
    printf(".SH EXAMPLES\n.nf\nclawspeak say \"Hello there.\"\nclawspeak say \\-f book.txt "
           "\\-o book.flac\nsome\\-command | clawspeak say\ntail \\-f app.log | clawspeak say "
           "\\-\\-lines \\-\\-max\\-behind 5\nclawspeak ask \\-\\-speak \"Summarise RFC 9110\"\n"
           ".fi\n.SH SEE ALSO\nespeak\\-ng(1), say(1)\n");
}

/* The voices of the provider in use (offline for the local engine; 2 s at most online). */
#define VOICES "clawspeak voices --timeout-ms 2000 2>/dev/null | awk '/^  /{print $1}'"
/* Device indexes (the first column of 'clawspeak devices'). */
#define DEVICES "clawspeak devices 2>/dev/null | cut -f1"

/* Options whose value is a file, a directory, a device or a voice: each shell completes those. */
static int takes_file(const cli_option *o)
{
    static const char *const names[] = {"config", "file", "output", "subtitles"};
    for (size_t i = 0; o->arg && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(o->long_name, names[i]))
            return 1;
    return 0;
}
static int takes_dir(const cli_option *o) { return o->arg && !strcmp(o->long_name, "output-dir"); }
static int takes_device(const cli_option *o)
{
    return o->arg && (!strcmp(o->long_name, "device") || !strcmp(o->long_name, "input-device"));
}
static int takes_voice(const cli_option *o) { return o->arg && !strcmp(o->long_name, "voice"); }

/* The commands whose words are files (transcribe; say with --output-dir takes text files). */
#define FILE_WORDS (CLI_TRANSCRIBE)

/* A string for a shell's single quotes: ' becomes '\'' (sh, bash, zsh). */
static void sh_quoted(const char *text)
{
    putchar('\'');
    for (const char *p = text; *p; p++)
        fputs(*p == '\'' ? "'\\''" : (char[]){*p, '\0'}, stdout);
    putchar('\'');
}

/* "--flag -f" words of the options a command takes. */
static void option_words(unsigned command)
{
    size_t option_count, printed = 0;
    const cli_option *options = cli_option_list(&option_count);
    for (size_t i = 0; i < option_count; i++) {
        if (!(options[i].commands & command))
            continue;
        printf("%s--%s", printed++ ? " " : "", options[i].long_name);
        if (options[i].short_name)
            printf(" -%c", options[i].short_name);
    }
}

/* "-f|--file" for a bash case pattern. */
static void bash_pattern(const cli_option *o)
{
    if (o->short_name)
        printf("-%c|", o->short_name);
    printf("--%s", o->long_name);
}

static void bash(void)
{
    size_t count;
    const cli_command_info *c = cli_commands(&count);
    size_t option_count;
    const cli_option *options = cli_option_list(&option_count);
    printf("# bash completion for clawspeak (generated from its option table)\n"
           "_clawspeak() {\n  local cur prev cmd opts i\n"
           "  cur=\"${COMP_WORDS[COMP_CWORD]}\"; prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
           "  cmd=\"${COMP_WORDS[1]}\"\n"
           "  case \"$prev\" in\n");
    for (size_t i = 0; i < option_count; i++) {
        const cli_option *o = &options[i];
        const csp_setting_info *info = o->setting ? csp_setting_info_find(o->setting) : NULL;
        const char *reply = NULL;
        char words[256];
        if (takes_voice(o))
            reply = "compgen -W \"$(" VOICES ")\" -- \"$cur\"";
        else if (takes_device(o))
            reply = "compgen -W \"$(" DEVICES ")\" -- \"$cur\"";
        else if (takes_file(o))
            reply = "compgen -f -- \"$cur\"";
        else if (takes_dir(o))
            reply = "compgen -d -- \"$cur\"";
        else if (o->arg && !strcmp(o->long_name, "format"))
            reply = "compgen -W \"wav flac ogg opus mp3 aiff raw\" -- \"$cur\"";
        else if (info && info->type == CSP_SETTING_CHOICE && o->arg) {
            /* a setting with choices completes them (--provider, --response-format) */
            snprintf(words, sizeof words, "compgen -W \"%s\" -- \"$cur\"", info->choices);
            reply = words;
        } else if (o->arg)
            reply = ""; /* a value to type: offer nothing */
        if (!reply)
            continue;
        printf("    ");
        bash_pattern(o);
        if (*reply)
            printf(") COMPREPLY=($(%s)); return;;\n", reply);
        else
            printf(") COMPREPLY=(); return;;\n");
    }
    printf("  esac\n  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < count; i++)
        printf("%s%s", i ? " " : "", c[i].name);
    printf(" help version\" -- \"$cur\")); return\n  fi\n"
           "  if [ \"$cmd\" = models ] && [ \"$COMP_CWORD\" -eq 2 ]; then\n"
           "    COMPREPLY=($(compgen -W \"set list\" -- \"$cur\")); return\n  fi\n"
           "  if [ \"$cmd\" = help ] && [ \"$COMP_CWORD\" -eq 2 ]; then\n    COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < count; i++)
        printf("%s%s", i ? " " : "", c[i].name);
    printf("\" -- \"$cur\")); return\n  fi\n"
           "  case \"$cmd\" in\n");
    for (size_t i = 0; i < count; i++) {
        printf("    %s) opts=\"", c[i].name);
        option_words(c[i].command);
        printf("\";;\n");
    }
    printf("    *) opts=\"\";;\n  esac\n"
           "  if [[ \"$cur\" != -* ]]; then\n"
           "    # words that are files: transcribe's audio, and say's texts with --output-dir\n"
           "    local files=0\n"
           "    [ \"$cmd\" = transcribe ] && files=1\n"
           "    for ((i = 2; i < COMP_CWORD; i++)); do\n"
           "      [ \"$cmd\" = say ] && [ \"${COMP_WORDS[i]}\" = --output-dir ] && files=1\n"
           "    done\n"
           "    if [ $files = 1 ]; then COMPREPLY=($(compgen -f -- \"$cur\")); return; fi\n"
           "  fi\n"
           "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n}\n"
           "complete -o filenames -F _clawspeak clawspeak\n");
}

/* An _arguments explanation ("[...]"): brackets and backslashes escaped, quotes as sh_quoted. */
static void zsh_explanation(const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '[' || *p == ']' || *p == '\\')
            putchar('\\');
        fputs(*p == '\'' ? "'\\''" : (char[]){*p, '\0'}, stdout);
    }
}

static void zsh(void)
{
    size_t count;
    const cli_command_info *c = cli_commands(&count);
    printf("#compdef clawspeak\n# zsh completion for clawspeak (generated from its option table)\n"
           "_clawspeak_voices() {\n  local -a v\n  v=(${(f)\"$(" VOICES ")\"})\n"
           "  compadd -a v\n}\n"
           "_clawspeak_devices() {\n  local -a d\n"
           "  d=(${(f)\"$(" DEVICES ")\"})\n  compadd -a d\n}\n"
           "_clawspeak() {\n  local curcontext=\"$curcontext\" state line\n"
           "  local -a commands\n  commands=(\n");
    for (size_t i = 0; i < count; i++) {
        char item[256];
        snprintf(item, sizeof item, "%s:%s", c[i].name, c[i].summary);
        printf("    ");
        sh_quoted(item);
        printf("\n");
    }
    printf("    'help:show the help of a command'\n    'version:print the version'\n");
    printf("  )\n  _arguments -C '(- *)'{-h,--help}'[show help]' '(- *)--version[print the version]' "
           "'1:command:->command' '*::argument:->argument' && return\n"
           "  case $state in\n"
           "  command) _describe 'command' commands;;\n"
           "  argument)\n    case $words[1] in\n");
    size_t option_count;
    const cli_option *options = cli_option_list(&option_count);
    for (size_t k = 0; k < count; k++) {
        printf("    %s) _arguments \\\n", c[k].name);
        for (size_t i = 0; i < option_count; i++) {
            const cli_option *o = &options[i];
            if (!(o->commands & c[k].command))
                continue;
            const char *action = !o->arg          ? ""
                                 : takes_voice(o)  ? ":voice:_clawspeak_voices"
                                 : takes_device(o) ? ":device:_clawspeak_devices"
                                 : takes_file(o)   ? ":file:_files"
                                 : takes_dir(o)    ? ":directory:_files -/"
                                                   : ":value: ";
            if (o->short_name)
                printf("        '(-%c --%s)'{-%c,--%s}'[", o->short_name, o->long_name,
                       o->short_name, o->long_name);
            else
                printf("        '--%s[", o->long_name);
            zsh_explanation(o->help);
            printf("]%s' \\\n", action);
        }
        printf("        '*:%s' ;;\n", (c[k].command & FILE_WORDS) ? "audio file:_files"
                                     : c[k].command == CLI_SAY ? "text or file:_files"
                                     : c[k].command == CLI_MODELS ? "action:(set list)"
                                                                  : "argument: ");
    }
    printf("    help) _describe 'command' commands;;\n    esac;;\n  esac\n}\n"
           "_clawspeak \"$@\"\n");
}

/* A string inside fish's single quotes: \ and ' escaped. */
static void fish_quoted(const char *text)
{
    putchar('\'');
    for (const char *p = text; *p; p++) {
        if (*p == '\'' || *p == '\\')
            putchar('\\');
        putchar(*p);
    }
    putchar('\'');
}

/* "say ask" for __fish_seen_subcommand_from. */
static void fish_commands(unsigned mask)
{
    size_t count;
    const cli_command_info *c = cli_commands(&count);
    for (size_t i = 0, n = 0; i < count; i++)
        if (mask & c[i].command)
            printf("%s%s", n++ ? " " : "", c[i].name);
}

static void fish(void)
{
    size_t count;
    const cli_command_info *c = cli_commands(&count);
    printf("# fish completion for clawspeak (generated from its option table)\n");
    /* before the command: commands only; after it: that command's options (and files for
       transcribe's words; a command's words are text otherwise) */
    for (size_t i = 0; i < count; i++) {
        printf("complete -c clawspeak -f -n __fish_use_subcommand -a %s -d ", c[i].name);
        fish_quoted(c[i].summary);
        printf("\n");
    }
    printf("complete -c clawspeak -f -n __fish_use_subcommand -a help -d 'show the help of a command'\n"
           "complete -c clawspeak -f -n __fish_use_subcommand -a version -d 'print the version'\n"
           "complete -c clawspeak -f -n '__fish_seen_subcommand_from help' -a '");
    fish_commands(CLI_ALL);
    printf("'\ncomplete -c clawspeak -f -n '__fish_seen_subcommand_from models' -a 'set list'\n");
    printf("complete -c clawspeak -f -n 'not __fish_use_subcommand; and not "
           "__fish_seen_subcommand_from transcribe say'\n");
    size_t option_count;
    const cli_option *options = cli_option_list(&option_count);
    for (size_t i = 0; i < option_count; i++) {
        const cli_option *o = &options[i];
        printf("complete -c clawspeak -n '__fish_seen_subcommand_from ");
        fish_commands(o->commands);
        printf("' -l %s", o->long_name);
        if (o->short_name)
            printf(" -s %c", o->short_name);
        if (takes_voice(o))
            printf(" -x -a '(clawspeak voices --timeout-ms 2000 2>/dev/null | "
                   "awk \\'/^  /{print $1}\\')'");
        else if (takes_device(o))
            printf(" -x -a '(" DEVICES ")'");
        else if (takes_dir(o))
            printf(" -x -a '(__fish_complete_directories)'");
        else if (o->arg && !takes_file(o))
            printf(" -x");
        else if (o->arg)
            printf(" -r -F");
        printf(" -d ");
        fish_quoted(o->help);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    cli_keep_own_stderr();
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "man"))
        man();
    else if (!strcmp(what, "bash"))
        bash();
    else if (!strcmp(what, "zsh"))
        zsh();
    else if (!strcmp(what, "fish"))
        fish();
    else {
        fprintf(stderr, "usage: gendocs man|bash|zsh|fish\n");
        return 2;
    }
    return ferror(stdout) ? 1 : 0;
}
