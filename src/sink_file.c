/*
 * sink_file.c: audio files through libsndfile. A file target is written to
 * a temporary file beside it and renamed at the end, so a failure or Ctrl-C
 * never leaves a half-written file. Standard output goes through
 * libsndfile's virtual I/O: a pipe cannot seek, so header rewrites at close
 * are dropped and a WAV header carries the streaming size 0xFFFFFFFF.
 */
#include "alloc.h"
#include "client.h"
#include "sink.h"

#include <errno.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_sink {
    csp_sink base;
    char *path;     /* the target; NULL for stdout */
    char *tmp_path; /* the temporary file beside it */
    int fd;
    int major_format, sub_format;
    SNDFILE *sf;
    mode_t mode;
    sf_count_t pos, written; /* stdout virtual I/O */
    int write_failed;
} file_sink;

static const struct {
    const char *name;
    int major, sub;
} formats[] = {
    {"wav", SF_FORMAT_WAV, SF_FORMAT_PCM_16},
    {"flac", SF_FORMAT_FLAC, SF_FORMAT_PCM_16},
    {"ogg", SF_FORMAT_OGG, SF_FORMAT_VORBIS},
    {"oga", SF_FORMAT_OGG, SF_FORMAT_VORBIS},
    {"opus", SF_FORMAT_OGG, SF_FORMAT_OPUS},
    {"mp3", SF_FORMAT_MPEG, SF_FORMAT_MPEG_LAYER_III},
    {"raw", SF_FORMAT_RAW, SF_FORMAT_PCM_16},
    {"pcm", SF_FORMAT_RAW, SF_FORMAT_PCM_16},
};

static int lookup_format(const char *name, int *major, int *sub)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcasecmp(name, formats[i].name) == 0) {
            *major = formats[i].major;
            *sub = formats[i].sub;
            return 0;
        }
    return -1;
}

/* --- virtual I/O onto standard output --- */

static sf_count_t vio_filelen(void *user) { return ((file_sink *)user)->written; }

static sf_count_t vio_seek(sf_count_t offset, int whence, void *user)
{
    file_sink *s = user;
    if (whence == SEEK_SET)
        s->pos = offset;
    else if (whence == SEEK_CUR)
        s->pos += offset;
    else
        s->pos = s->written + offset;
    return s->pos;
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    (void)ptr, (void)count, (void)user;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    file_sink *s = user;
    if (s->pos < s->written) {
        s->pos += count; /* a header rewrite: the pipe has moved on */
        return count;
    }
    const unsigned char *data = ptr;
    unsigned char header[512];
    if (s->written == 0 && count >= 12 && count <= (sf_count_t)sizeof header &&
        memcmp(data, "RIFF", 4) == 0) {
        /* streaming WAV: sizes unknown, the reader plays to the end of the pipe */
        memcpy(header, data, (size_t)count);
        memset(header + 4, 0xFF, 4);
        for (sf_count_t i = 12; i + 8 <= count; i++)
            if (memcmp(header + i, "data", 4) == 0) {
                memset(header + i + 4, 0xFF, 4);
                break;
            }
        data = header;
    }
    if (write_all(STDOUT_FILENO, data, (size_t)count) < 0) {
        s->write_failed = errno ? errno : EIO;
        return 0;
    }
    s->pos += count;
    s->written = s->pos;
    return count;
}

static sf_count_t vio_tell(void *user) { return ((file_sink *)user)->pos; }

static SF_VIRTUAL_IO stdout_io = {vio_filelen, vio_seek, vio_read, vio_write, vio_tell};

/* --- the sink --- */

static csp_code output_error(file_sink *s, const char *what, int err)
{
    return csp__fail(s->base.client, CSP_EOUTPUT, "%s: %s: %s", s->path ? s->path : "stdout",
                     what, err ? strerror(err) : sf_strerror(s->sf));
}

static csp_code file_open(csp_sink *sink, long rate, int channels)
{
    file_sink *s = (file_sink *)sink;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = (int)rate;
    info.channels = channels;
    info.format = s->major_format | s->sub_format;
    if (!sf_format_check(&info))
        return csp__fail(sink->client, CSP_EOUTPUT,
                         "%s: this format cannot hold %ld Hz, %d channel audio",
                         s->path ? s->path : "stdout", rate, channels);
    s->sf = s->path ? sf_open_fd(s->fd, SFM_WRITE, &info, SF_FALSE)
                    : sf_open_virtual(&stdout_io, SFM_WRITE, &info, s);
    if (!s->sf)
        return csp__fail(sink->client, CSP_EOUTPUT, "%s: cannot start the audio file: %s",
                         s->path ? s->path : "stdout", sf_strerror(NULL));
    return CSP_OK;
}

static csp_code file_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    file_sink *s = (file_sink *)sink;
    sf_count_t n = sf_writef_short(s->sf, samples, (sf_count_t)frames);
    if (n != (sf_count_t)frames || s->write_failed)
        return output_error(s, "write failed", s->write_failed ? s->write_failed
                                                               : (errno ? errno : ENOSPC));
    return CSP_OK;
}

static void discard(file_sink *s)
{
    if (s->sf) {
        sf_close(s->sf);
        s->sf = NULL;
    }
    if (s->fd >= 0 && s->path) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->tmp_path) {
        unlink(s->tmp_path);
        csp__free(s->tmp_path);
        s->tmp_path = NULL;
    }
}

static csp_code file_finish(csp_sink *sink, int commit)
{
    file_sink *s = (file_sink *)sink;
    if (!commit || !s->sf) {
        discard(s);
        return commit ? csp__fail(sink->client, CSP_EOUTPUT, "no audio was produced") : CSP_OK;
    }
    int rc = sf_close(s->sf);
    s->sf = NULL;
    if (rc != 0 || s->write_failed) {
        csp_code code = output_error(s, "cannot finish the file",
                                     s->write_failed ? s->write_failed : EIO);
        discard(s);
        return code;
    }
    if (!s->path)
        return CSP_OK;
    if (fchmod(s->fd, s->mode) != 0 || fsync(s->fd) != 0 || close(s->fd) != 0) {
        int err = errno;
        s->fd = -1;
        discard(s);
        return output_error(s, "cannot finish the file", err);
    }
    s->fd = -1;
    if (rename(s->tmp_path, s->path) != 0) {
        int err = errno;
        discard(s);
        return output_error(s, "cannot move the finished file into place", err);
    }
    csp__free(s->tmp_path);
    s->tmp_path = NULL;
    return CSP_OK;
}

static void file_free(csp_sink *sink)
{
    file_sink *s = (file_sink *)sink;
    if (!s)
        return;
    discard(s);
    csp__free(s->path);
    csp__free(s);
}

static const csp_sink_ops file_ops = {file_open, file_write, file_finish, file_free};

csp_code csp__sink_file_new(csp_client *client, const char *path, const char *format,
                            csp_sink **out)
{
    *out = NULL;
    int to_stdout = strcmp(path, "-") == 0;
    struct stat st;
    if (!to_stdout && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return csp__fail(client, CSP_EOUTPUT, "%s: is a directory; give a file name", path);
    const char *name = format;
    if (!name) {
        const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
        name = (dot && (!slash || dot > slash)) ? dot + 1 : (to_stdout ? "wav" : "");
    }
    int major, sub;
    if (lookup_format(name, &major, &sub) < 0)
        return csp__fail(client, CSP_EUSAGE,
                         "unknown output format '%s' (use --format wav, flac, ogg, opus, mp3 or raw)",
                         name);
    if (to_stdout && isatty(STDOUT_FILENO))
        return csp__fail(client, CSP_EUSAGE,
                         "refusing to write audio to a terminal; redirect standard output or use -o FILE");
    file_sink *s = csp__calloc(1, sizeof *s);
    if (!s)
        return csp__fail(client, CSP_ENOMEM, "out of memory");
    s->base.ops = &file_ops;
    s->base.client = client;
    s->major_format = major;
    s->sub_format = sub;
    s->fd = -1;
    if (to_stdout) {
        *out = &s->base;
        return CSP_OK;
    }
    const char *slash = strrchr(path, '/');
    if (!(s->path = csp__strdup(path)) ||
        !(s->tmp_path = slash ? csp__printf("%.*s.%s.clawspeak-XXXXXX", (int)(slash - path + 1),
                                            path, slash + 1)
                              : csp__printf(".%s.clawspeak-XXXXXX", path))) {
        file_free(&s->base);
        return csp__fail(client, CSP_ENOMEM, "out of memory");
    }
    s->fd = mkstemp(s->tmp_path);
    if (s->fd < 0) {
        int err = errno;
        csp__free(s->tmp_path);
        s->tmp_path = NULL;
        csp_code rc = csp__fail(client, CSP_EOUTPUT, "%s: cannot write here: %s", path,
                                strerror(err));
        file_free(&s->base);
        return rc;
    }
    mode_t mask = umask(0);
    umask(mask);
    s->mode = 0666 & ~mask;
    *out = &s->base;
    return CSP_OK;
}
