/* SPDX-License-Identifier: MIT */
/*
 * main.c: the clawspeak command. Parses, installs the log and signal
 * handlers, runs the subcommand and maps its result to an exit code.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef CSP_ALLOC_COUNTDOWN
/* test builds only: see src/alloc.c */
void csp_test_alloc_countdown_from_env(void);
void csp_test_alloc_report(void);
#endif

static csp_client *active_client;
static volatile sig_atomic_t interrupts, last_signal;

/*
 * The first SIGINT/SIGTERM/SIGHUP/SIGQUIT asks the run to stop (temporary
 * files removed, children stopped, exit 130); a second one ends the process
 * at once, after the emergency cleanup. Both are async-signal-safe.
 */
static void on_interrupt(int sig)
{
    last_signal = sig;
    if (interrupts++ > 0) {
        csp_emergency_cleanup();
        _exit(CLI_EXIT_INTERRUPTED);
    }
    csp_client_cancel(active_client); /* sets a flag */
}

void cli_interrupt_handled(void) { interrupts = 0; }
int cli_interrupted(void) { return interrupts > 0; }
int cli_interrupt_signal(void) { return last_signal; }

/*
 * A process started with 0, 1 or 2 closed would hand those numbers to the
 * next open(): libcurl's wake-up socket became "standard output" once. Put
 * /dev/null there, and remember that stdout was closed so -o - is refused.
 */
static int stdout_was_closed;

static void guard_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        if (fd == STDOUT_FILENO)
            stdout_was_closed = 1;
        int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (null >= 0 && null != fd) {
            dup2(null, fd);
            close(null);
        }
    }
}

static void print_log(void *userdata, csp_log_level level, const char *message)
{
    (void)userdata;
    /* error-level lines are notices that must show even with -q (a provider switch):
       the run may still succeed, so they carry no "error:" label */
    static const char *const prefix[] = {"", "", "", "debug: "};
    cli_console_log(prefix[level], message); /* never in the middle of a reply's line */
}

int cli_exit_code(csp_code code)
{
    if (code == CLI_INTERRUPTED_SAID)
        return CLI_EXIT_INTERRUPTED;
    switch (code) {
    case CSP_OK: return CLI_EXIT_OK;
    case CSP_EUSAGE: case CSP_EINPUT: return CLI_EXIT_USAGE;
    case CSP_ECONFIG: return CLI_EXIT_CONFIG;
    case CSP_EKEY: return CLI_EXIT_KEY;
    case CSP_EAPI: case CSP_EDECODE: return CLI_EXIT_API;
    case CSP_ENET: return CLI_EXIT_NETWORK;
    case CSP_EAUDIO: return CLI_EXIT_AUDIO;
    case CSP_EOUTPUT: return CLI_EXIT_OUTPUT;
    case CSP_ELOCAL: return CLI_EXIT_LOCAL;
    case CSP_ECANCELED: return CLI_EXIT_INTERRUPTED;
    default: return CLI_EXIT_FAILURE;
    }
}

/* Whether this run plays or records (as far as the command line tells: ask speaks by config
   too), so PortAudio can start before the config is read. */
static int uses_audio_device(const cli_args *args)
{
    if (args->command == CLI_LISTEN || (args->command == CLI_ASK && args->listen))
        return 1;
    if (args->output && !args->play)
        return 0;
    if (args->command == CLI_SAY)
        return !args->list_voices && !args->output_dir;
    return args->command == CLI_ASK && !args->no_speak; /* ask speaks unless tts.auto says no */
}

/* Runs that will make a request (unless the local engine is asked for by name: the last
   --provider, as options go). */
static int makes_requests(const cli_args *args)
{
    const char *provider = NULL;
    for (size_t i = 0; i < args->override_count; i++)
        if (!strcmp(args->overrides[i].name, "provider"))
            provider = args->overrides[i].value;
    if (provider && (!strcmp(provider, "local") || !strcmp(provider, "tts-local-cli")))
        return 0;
    return (args->command & (CLI_SAY | CLI_ASK | CLI_TRANSCRIBE | CLI_LISTEN)) && !args->list_voices;
}

static int records_audio(const cli_args *args)
{
    return args->command == CLI_LISTEN || (args->command == CLI_ASK && args->listen);
}

static int plays_audio(const cli_args *args)
{
    return args->command != CLI_LISTEN && (!args->output || args->play);
}

int main(int argc, char **argv)
{
    guard_standard_fds();
    cli_keep_own_stderr();
    cli_args args;
    csp_code rc = cli_parse(argc, argv, &args);
    if (rc != CSP_OK) {
        char shown[sizeof args.error * 4]; /* the words typed are quoted in it: scrubbed */
        csp_printable(args.error, shown, sizeof shown);
        fprintf(stderr, "clawspeak: %s\n", shown);
        return CLI_EXIT_USAGE;
    }
    if (args.version || args.help) {
        if (args.version)
            printf("clawspeak %s\n", csp_version());
        else
            cli_print_help(args.command);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "clawspeak: cannot write to standard output\n");
            return CLI_EXIT_OUTPUT;
        }
        return CLI_EXIT_OK;
    }
    if (stdout_was_closed && args.output && strcmp(args.output, "-") == 0) {
        fprintf(stderr, "clawspeak: standard output is closed; give -o FILE\n");
        return CLI_EXIT_OUTPUT;
    }
    /* the device's and libcurl's ms pass while the config is read */
    unsigned warm = makes_requests(&args) ? CSP_WARM_NETWORK : 0;
    if (uses_audio_device(&args))
        warm |= (plays_audio(&args) ? CSP_WARM_PLAYBACK : 0) |
                (records_audio(&args) ? CSP_WARM_MICROPHONE : 0);
    csp_warm_up(warm, args.device);
    signal(SIGPIPE, SIG_IGN);
#ifdef CSP_ALLOC_COUNTDOWN
    csp_test_alloc_countdown_from_env();
#endif
    csp_client *client = csp_client_new();
    if (!client) {
        fprintf(stderr, "clawspeak: out of memory\n");
#ifdef CSP_ALLOC_COUNTDOWN
        csp_test_alloc_report();
#endif
        return CLI_EXIT_FAILURE;
    }
    active_client = client;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    csp_log_level level = args.quiet ? CSP_LOG_ERROR : args.verbose > 1 ? CSP_LOG_DEBUG
                                     : args.verbose ? CSP_LOG_INFO : CSP_LOG_WARN;
    csp_client_set_log(client, print_log, level, NULL);

    rc = cli_run(client, &args);
    const char *detail = csp_client_error(client);
    if (rc == CSP_EPIPE)
        rc = CSP_OK; /* the reader took what it wanted (| head): end quietly, as filters do */
    else if (rc == CLI_DECLINED || rc == CLI_INTERRUPTED_SAID)
        ; /* said so already */
    else if (rc != CSP_OK && *detail)
        fprintf(stderr, "clawspeak: %s\n", detail);
    else if (rc != CSP_OK && rc != CSP_EUSAGE && rc != CSP_EINPUT)
        fprintf(stderr, "clawspeak: %s\n", csp_strerror(rc));
    int code = cli_exit_code(rc);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (code == CLI_EXIT_OK)
            fprintf(stderr, "clawspeak: cannot write to standard output\n");
        if (code == CLI_EXIT_OK)
            code = CLI_EXIT_OUTPUT;
    }
    csp_client_free(client);
#ifdef CSP_ALLOC_COUNTDOWN
    csp_test_alloc_report();
#endif
    return code;
}
