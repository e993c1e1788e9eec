/* SPDX-License-Identifier: MIT */
/*
 * test_transcribe.c: the in-memory entry point listen uses
 * (csp__transcribe_pcm), offline: a CLI entry that reports the WAV it was
 * given, and no entry at all.
 */
#include "check.h"
#include "clawspeak.h"
#include "transcribe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char config_path[] = "/tmp/csp-test-transcribe-XXXXXX";

static csp_client *client_with(const char *config)
{
    FILE *f = fopen(config_path, "w");
    fputs(config, f);
    fclose(f);
    csp_client *c = csp_client_new();
    CHECK_INT(csp_client_load(c, config_path), CSP_OK);
    return c;
}

int main(void)
{
    unsetenv("OPENROUTER_API_KEY");
    int fd = mkstemp(config_path);
    close(fd);
    /* 1.5 s of stereo at 48 kHz: the command must get 16 kHz mono, 24000 frames */
    size_t frames = 72000;
    int16_t *pcm = calloc(frames * 2, sizeof *pcm);
    for (size_t i = 0; i < frames; i++)
        pcm[2 * i] = pcm[2 * i + 1] = (int16_t)(8000 * sin(2 * M_PI * 300 * (double)i / 48000));

    csp_client *c = client_with(
        "{tools: {media: {audio: {models: [{type: 'cli', command: '/bin/sh', args: ['-c', "
        "'printf \"heard %s bytes\\\\n\" $(stat -c %s \"$1\")', 'sh', '{{MediaPath}}']}]}}}}");
    char *text = NULL;
    csp_transcript info;
    memset(&info, 0, sizeof info);
    CHECK_INT(csp__transcribe_pcm(c, pcm, frames, 48000, 2, NULL, &text, &info), CSP_OK);
    CHECK_STR(text, "heard 48044 bytes"); /* 44-byte WAV header + 24000 16-bit frames */
    CHECK(fabs(info.duration_s - 1.5) < 0.01);
    CHECK_INT(info.pieces, 1);
    csp_free(text);
    /* the public form */
    text = NULL;
    CHECK_INT(csp_transcribe_pcm(c, pcm, frames, 48000, 2, NULL, &text), CSP_OK);
    CHECK(text && !strncmp(text, "heard ", 6));
    csp_free(text);
    csp_client_free(c);

    /* a failing command: ELOCAL, with what it said */
    c = client_with("{tools: {media: {models: [{type: 'cli', capabilities: ['audio'], command: "
                    "'/bin/sh', args: ['-c', 'echo no model here >&2; exit 4', 'sh', "
                    "'{{AttachmentPath}}']}]}}}");
    text = NULL;
    CHECK_INT(csp__transcribe_pcm(c, pcm, frames, 48000, 2, NULL, &text, NULL), CSP_ELOCAL);
    CHECK(text == NULL);
    CHECK(strstr(csp_client_error(c), "no model here") != NULL);
    csp_client_free(c);

    /* no key, no CLI entry: EKEY, and the message shows an entry to add */
    c = client_with("{}");
    CHECK_INT(csp__transcribe_pcm(c, pcm, frames, 48000, 2, NULL, &text, NULL), CSP_EKEY);
    CHECK(strstr(csp_client_error(c), "{{AttachmentPath}}") != NULL);
    csp_client_free(c);

    unlink(config_path);
    free(pcm);
    return CHECK_DONE();
}
