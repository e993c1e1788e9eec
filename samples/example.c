/* SPDX-License-Identifier: MIT */
/*
 * example.c: the smallest program using libclawspeak: resolve settings the
 * way OpenClaw does and save a sentence to a WAV file.
 * Build: cc example.c $(pkg-config --cflags --libs clawspeak) -o example
 */
#include <clawspeak.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "example.wav";
    const char *text = argc > 2 ? argv[2] : "Hello from the clawspeak library.";
    csp_client *client = csp_client_new();
    if (!client)
        return 1;
    csp_code rc = csp_client_load(client, NULL);
    if (rc == CSP_OK) {
        csp_say_options options;
        memset(&options, 0, sizeof options);
        options.output_path = out;
        rc = csp_say(client, text, strlen(text), &options);
    }
    if (rc != CSP_OK)
        fprintf(stderr, "example: %s: %s\n", csp_strerror(rc), csp_client_error(client));
    csp_client_free(client);
    return rc == CSP_OK ? 0 : 1;
}
