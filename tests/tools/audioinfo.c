/* SPDX-License-Identifier: MIT */
/*
 * audioinfo.c: test helper that reads an audio file back with libsndfile.
 * Prints "frames rate channels format"; with --dump FILE also writes the
 * samples as raw signed 16-bit to FILE.
 */
#include <sndfile.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: audioinfo FILE [--dump OUT]\n");
        return 2;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = strcmp(argv[1], "-") == 0 ? sf_open_fd(0, SFM_READ, &info, 0)
                                            : sf_open(argv[1], SFM_READ, &info);
    if (!sf) {
        fprintf(stderr, "audioinfo: %s: %s\n", argv[1], sf_strerror(NULL));
        return 1;
    }
    FILE *dump = NULL;
    if (argc >= 4 && strcmp(argv[2], "--dump") == 0 && !(dump = fopen(argv[3], "wb")))
        return 1;
    short block[8192];
    long long frames = 0;
    sf_count_t n;
    while ((n = sf_readf_short(sf, block, 8192 / info.channels)) > 0) {
        frames += n;
        if (dump)
            fwrite(block, sizeof(short) * (size_t)info.channels, (size_t)n, dump);
    }
    SF_FORMAT_INFO fmt;
    fmt.format = info.format & SF_FORMAT_TYPEMASK;
    sf_command(sf, SFC_GET_FORMAT_INFO, &fmt, sizeof fmt);
    printf("%lld %d %d %s\n", frames, info.samplerate, info.channels, fmt.extension ? fmt.extension : "?");
    sf_close(sf);
    if (dump)
        fclose(dump);
    return 0;
}
