/* SPDX-License-Identifier: MIT */
/*
 * sink_file.c: audio files through libsndfile, always through its virtual
 * I/O onto a descriptor we own, so that every byte written is checked
 * (libsndfile's mp3 writer ignores a full disk on its own descriptor).
 *
 * Targets: a regular file (or a symlink to one, or a new name) is written
 * to a temporary file beside it and renamed at the end (atomic_file.h), so
 * a failure or Ctrl-C never leaves a half-written file. A device or a FIFO
 * is opened and written directly, as sox and ffmpeg do. Standard output
 * that is a regular file gets a finished header (we seek back); a pipe
 * cannot seek, so header rewrites are dropped and a WAV header carries the
 * streaming size 0xFFFFFFFF.
 *
 * mp3 passthrough: an mp3 target takes the API's mp3 frames as they came
 * (write_mp3), and PCM among them (pcm responses, the local engine) is
 * encoded by libsndfile into memory and its frames spliced in. One
 * Xing/Info frame at the start states the whole file's frames, bytes and
 * the first chunk's encoder delay (patched at the end); a stream that
 * cannot seek gets none. CLAWSPEAK_MP3_REENCODE=1 forces the old path
 * (decode, then encode everything), for the benchmark.
 */
#include "alloc.h"
#include "atomic_file.h"
#include "mp3_frames.h"
#include "report.h"
#include "sink.h"
#include "sndfile_lib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_sink {
    csp_sink base;
    char *name;              /* for messages: the path as given, or "standard output" */
    csp_atomic_file atomic;  /* a file replaced at the end; fd is atomic.fd */
    int is_atomic;
    int fd;                  /* where the bytes go */
    int own_fd;              /* a device or FIFO we opened: closed at the end */
    int seekable;            /* a regular file: real seeks; else a stream */
    off_t start;             /* the descriptor's offset when we began (stdout) */
    sf_count_t pos, written; /* stream emulation */
    int write_error;         /* errno of the first failed write: sticky */
    int major_format, sub_format;
    SNDFILE *sf;
    /* mp3 passthrough */
    int passthrough;
    int started;                   /* a frame is out */
    unsigned char first_header[4]; /* the Info frame copies its version, rate and mode */
    size_t info_len;               /* the Info frame reserved at the start; 0: none (a stream) */
    uint64_t bytes, frames;
    int bitrate, vbr;
    long delay, padding; /* the first chunk's encoder delay, the last chunk's padding */
    csp_mp3_toc toc;
    SNDFILE *encoder; /* PCM among mp3 frames: encoded into mem, then spliced */
    struct mem_file {
        unsigned char *data;
        size_t len, cap, pos;
        int error;
    } mem;
} file_sink;

/* An encoded stretch of PCM held in memory: 64 kbit/s for hours fits easily. */
#define MEM_FILE_MAX ((size_t)256 << 20)
#define MAX_INFO_FRAME 2048
#define ENCODER_RUN_MAX ((size_t)1 << 20)

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
    {"aiff", SF_FORMAT_AIFF, SF_FORMAT_PCM_16}, /* macOS say's format */
    {"aif", SF_FORMAT_AIFF, SF_FORMAT_PCM_16},
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

/* --- virtual I/O: real seeks on a regular file, emulated on a stream --- */

static sf_count_t vio_filelen(void *user)
{
    file_sink *s = user;
    struct stat st;
    if (s->seekable)
        return fstat(s->fd, &st) == 0 ? (sf_count_t)(st.st_size - s->start) : -1;
    return s->written;
}

static sf_count_t vio_seek(sf_count_t offset, int whence, void *user)
{
    file_sink *s = user;
    if (s->seekable) {
        off_t to = lseek(s->fd, whence == SEEK_SET ? s->start + offset : offset, whence);
        return to < 0 ? -1 : (sf_count_t)(to - s->start);
    }
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
    file_sink *s = user;
    if (!s->seekable)
        return 0;
    ssize_t n;
    do
        n = read(s->fd, ptr, (size_t)count);
    while (n < 0 && errno == EINTR);
    return n < 0 ? 0 : n;
}

/* A streaming WAV header: sizes unknown, the reader plays to the end of the stream. */
static const unsigned char *streaming_header(const unsigned char *data, sf_count_t count,
                                             unsigned char header[512])
{
    if (count < 12 || count > 512 || memcmp(data, "RIFF", 4) != 0)
        return data;
    memcpy(header, data, (size_t)count);
    memset(header + 4, 0xFF, 4);
    for (sf_count_t i = 12; i + 8 <= count; i++)
        if (memcmp(header + i, "data", 4) == 0) {
            memset(header + i + 4, 0xFF, 4);
            break;
        }
    return header;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    file_sink *s = user;
    if (s->write_error)
        return 0;
    const unsigned char *data = ptr;
    unsigned char header[512];
    if (!s->seekable) {
        if (s->pos < s->written) {
            s->pos += count; /* a header rewrite: the stream has moved on */
            return count;
        }
        if (s->written == 0)
            data = streaming_header(data, count, header);
    }
    int err = csp__write_all(s->fd, data, (size_t)count);
    if (err) {
        s->write_error = err;
        return 0;
    }
    if (!s->seekable) {
        s->pos += count;
        s->written = s->pos;
    }
    return count;
}

static sf_count_t vio_tell(void *user)
{
    file_sink *s = user;
    if (!s->seekable)
        return s->pos;
    off_t at = lseek(s->fd, 0, SEEK_CUR);
    return at < 0 ? -1 : (sf_count_t)(at - s->start);
}

static SF_VIRTUAL_IO fd_io = {vio_filelen, vio_seek, vio_read, vio_write, vio_tell};

/* --- virtual I/O in memory: the encoder for PCM among mp3 frames --- */

static sf_count_t mem_filelen(void *user) { return (sf_count_t)((struct mem_file *)user)->len; }

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    struct mem_file *m = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (sf_count_t)m->pos
                                                                  : (sf_count_t)m->len;
    if (base + offset < 0 || base + offset > (sf_count_t)MEM_FILE_MAX)
        return -1;
    m->pos = (size_t)(base + offset);
    return (sf_count_t)m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
    struct mem_file *m = user;
    size_t n = m->pos < m->len ? m->len - m->pos : 0;
    if ((size_t)count < n)
        n = (size_t)count;
    if (n)
        memcpy(ptr, m->data + m->pos, n);
    m->pos += n;
    return (sf_count_t)n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
    struct mem_file *m = user;
    size_t end = m->pos + (size_t)count;
    if (m->error || end > MEM_FILE_MAX) {
        m->error = ENOMEM;
        return 0;
    }
    if (end > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < end)
            cap *= 2;
        unsigned char *data = csp__realloc(m->data, cap);
        if (!data) {
            m->error = ENOMEM;
            return 0;
        }
        m->data = data;
        m->cap = cap;
    }
    if (m->pos > m->len)
        memset(m->data + m->len, 0, m->pos - m->len);
    memcpy(m->data + m->pos, ptr, (size_t)count);
    m->pos = end;
    if (end > m->len)
        m->len = end;
    return count;
}

static sf_count_t mem_tell(void *user) { return (sf_count_t)((struct mem_file *)user)->pos; }

static SF_VIRTUAL_IO mem_io = {mem_filelen, mem_seek, mem_read, mem_write, mem_tell};

/* --- the sink --- */

static csp_code output_error(file_sink *s, const char *what, int err)
{
    if (err == EPIPE && !s->is_atomic)
        return csp__fail(s->base.report, CSP_EPIPE, "%s: the reader went away", s->name);
    return csp__fail(s->base.report, CSP_EOUTPUT, "%s: %s: %s", s->name, what,
                     err ? strerror(err) : csp__sndfile_error(s->sf));
}

static csp_code file_open(csp_sink *sink, long rate, int channels)
{
    file_sink *s = (file_sink *)sink;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = (int)rate;
    info.channels = channels;
    info.format = s->major_format | s->sub_format;
    if (!csp__sndfile.format_check(&info)) /* loaded: csp__sink_file_new checked */
        return csp__fail(sink->report, CSP_EOUTPUT,
                         "%s: this format cannot hold %ld Hz, %d channel audio", s->name, rate,
                         channels);
    if (s->passthrough)
        return CSP_OK; /* frames come through write_mp3; PCM starts an encoder in file_write */
    if (s->major_format == SF_FORMAT_RAW)
        /* no header says it: the reader needs the rate (24000 from the API, 22050 locally) */
        csp__log(sink->report, CSP_LOG_WARN, "%s: raw audio, signed 16-bit little-endian, %d "
                 "channel%s at %ld Hz (e.g. aplay -f S16_LE -c %d -r %ld)", s->name, channels,
                 channels == 1 ? "" : "s", rate, channels, rate);
    s->sf = csp__sndfile_open_virtual(&fd_io, SFM_WRITE, &info, s);
    if (!s->sf)
        return s->write_error ? output_error(s, "write failed", s->write_error)
                              : csp__fail(sink->report, CSP_EOUTPUT,
                                          "%s: cannot start the audio file: %s", s->name,
                                          csp__sndfile_error(NULL));
    return CSP_OK;
}

static csp_code start_encoder(file_sink *s)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = (int)s->base.rate;
    info.channels = s->base.channels;
    info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    s->mem.len = s->mem.pos = 0;
    s->mem.error = 0;
    s->encoder = csp__sndfile_open_virtual(&mem_io, SFM_WRITE, &info, &s->mem);
    if (!s->encoder)
        return s->mem.error == ENOMEM
                   ? csp__fail(s->base.report, CSP_ENOMEM, "out of memory")
                   : csp__fail(s->base.report, CSP_EOUTPUT, "%s: cannot start the mp3 encoder: %s",
                               s->name, csp__sndfile_error(NULL));
    return CSP_OK;
}

/* One frame into the file; the first reserves the Info frame before it (seekable targets). */
static csp_code append_frame(file_sink *s, const unsigned char *frame, size_t len, long delay,
                             long padding)
{
    csp_mp3_header h;
    int err;
    if (csp__mp3_header_parse(frame, &h) < 0)
        return csp__fail(s->base.report, CSP_EDECODE, "not an mp3 frame");
    if (!s->started) {
        memcpy(s->first_header, frame, 4);
        s->delay = delay;
        s->bitrate = h.bitrate;
        s->started = 1;
        if (s->seekable) {
            unsigned char info[MAX_INFO_FRAME];
            s->info_len = csp__mp3_info_frame(frame, NULL, info, sizeof info);
            if (s->info_len && (err = csp__write_all(s->fd, info, s->info_len)) != 0) {
                s->write_error = err;
                return output_error(s, "write failed", err);
            }
            s->bytes = s->info_len;
        }
    } else if (h.bitrate != s->bitrate) {
        s->vbr = 1;
    }
    s->padding = padding;
    csp__mp3_toc_add(&s->toc, s->bytes);
    if ((err = csp__write_all(s->fd, frame, len)) != 0) {
        s->write_error = err;
        return output_error(s, "write failed", err);
    }
    s->bytes += len;
    s->frames++;
    return CSP_OK;
}

typedef struct splice {
    file_sink *s;
    csp_mp3_walker *walker;
    csp_code rc;
} splice;

static int splice_frame(void *userdata, const unsigned char *frame, size_t len,
                        const csp_mp3_header *header)
{
    splice *sp = userdata;
    (void)header;
    sp->rc = append_frame(sp->s, frame, len, csp__mp3_walker_delay(sp->walker),
                          csp__mp3_walker_padding(sp->walker));
    return sp->rc != CSP_OK;
}

/* The PCM encoded so far: its frames (not its own Info frame or tags) into the file. */
static csp_code flush_encoder(file_sink *s)
{
    if (!s->encoder)
        return CSP_OK;
    int closed = csp__sndfile.close(s->encoder);
    s->encoder = NULL;
    if (closed != 0 || s->mem.error)
        return s->mem.error == ENOMEM ? csp__fail(s->base.report, CSP_ENOMEM, "out of memory")
                                      : csp__fail(s->base.report, CSP_EOUTPUT,
                                                  "%s: the mp3 encoder failed", s->name);
    const char *why = NULL;
    splice sp = {s, csp__mp3_walker_new(&why), CSP_OK};
    if (!sp.walker)
        return csp__fail(s->base.report, strcmp(why, "out of memory") ? CSP_EOUTPUT : CSP_ENOMEM,
                         "%s", why);
    int fed = csp__mp3_walker_feed(sp.walker, s->mem.data, s->mem.len, splice_frame, &sp);
    if (fed < 0 && sp.rc == CSP_OK)
        sp.rc = csp__fail(s->base.report, CSP_EOUTPUT, "%s: encoded audio: %s", s->name,
                          csp__mp3_walker_error(sp.walker));
    csp__mp3_walker_free(sp.walker);
    s->mem.len = s->mem.pos = 0;
    return sp.rc;
}

static csp_code file_write_mp3(csp_sink *sink, const unsigned char *frame, size_t len, long delay,
                               long padding)
{
    file_sink *s = (file_sink *)sink;
    csp_code rc = flush_encoder(s);
    return rc != CSP_OK ? rc : append_frame(s, frame, len, delay, padding);
}

/*
 * Consecutive PCM chunks share one encoder, so they join without a gap; past
 * ENCODER_RUN_MAX bytes it is closed at the next chunk's end, so memory stays
 * flat on a long text. That join then keeps an encoder delay, as mp3 chunks' do.
 */
static csp_code file_chunk_end(csp_sink *sink, const char *text, size_t len)
{
    (void)text, (void)len;
    file_sink *s = (file_sink *)sink;
    return s->encoder && s->mem.len >= ENCODER_RUN_MAX ? flush_encoder(s) : CSP_OK;
}

static int file_takes_mp3(csp_sink *sink, long rate, int channels)
{
    file_sink *s = (file_sink *)sink;
    if (!s->passthrough)
        return 0;
    if (!rate)
        return 1;
    if (sink->wanted_rate && sink->wanted_rate != rate)
        return 0; /* --sample-rate asks for another: decode, resample, encode */
    return !sink->opened || (sink->rate == rate && sink->channels == channels);
}

/* The Info frame, now that the counts are known, over the one reserved at the start. */
static csp_code finish_mp3(file_sink *s)
{
    csp_code rc = flush_encoder(s);
    if (rc != CSP_OK || !s->info_len)
        return rc;
    unsigned char info[MAX_INFO_FRAME];
    csp_mp3_summary summary = {s->frames, s->bytes, s->vbr, s->bitrate, s->delay, s->padding,
                               &s->toc};
    size_t len = csp__mp3_info_frame(s->first_header, &summary, info, sizeof info);
    size_t done = 0;
    while (len == s->info_len && done < len) {
        ssize_t n = pwrite(s->fd, info + done, len - done, s->start + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->write_error = n < 0 ? errno : EIO;
            return output_error(s, "cannot finish the file", s->write_error);
        }
        done += (size_t)n;
    }
    return CSP_OK;
}

static csp_code file_write(csp_sink *sink, const int16_t *samples, size_t frames)
{
    file_sink *s = (file_sink *)sink;
    if (s->passthrough) {
        csp_code rc = s->encoder ? CSP_OK : start_encoder(s);
        if (rc != CSP_OK)
            return rc;
        sf_count_t n = csp__sndfile.writef_short(s->encoder, samples, (sf_count_t)frames);
        if (n != (sf_count_t)frames || s->mem.error)
            return s->mem.error == ENOMEM ? csp__fail(sink->report, CSP_ENOMEM, "out of memory")
                                          : csp__fail(sink->report, CSP_EOUTPUT,
                                                      "%s: the mp3 encoder failed", s->name);
        return CSP_OK;
    }
    sf_count_t n = csp__sndfile.writef_short(s->sf, samples, (sf_count_t)frames);
    if (s->write_error || n != (sf_count_t)frames)
        return output_error(s, "write failed", s->write_error ? s->write_error : EIO);
    return CSP_OK;
}

static void discard(file_sink *s)
{
    if (s->encoder) {
        csp__sndfile.close(s->encoder);
        s->encoder = NULL;
    }
    csp__free(s->mem.data);
    memset(&s->mem, 0, sizeof s->mem);
    s->started = 0;
    if (s->sf) {
        csp__sndfile.close(s->sf);
        s->sf = NULL;
    }
    if (s->is_atomic)
        csp__atomic_abort(&s->atomic);
    if (s->own_fd && s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static csp_code file_finish(csp_sink *sink, int commit)
{
    file_sink *s = (file_sink *)sink;
    if (commit && s->passthrough) {
        csp_code code = finish_mp3(s);
        if (code != CSP_OK) {
            discard(s);
            return code;
        }
    }
    if (!commit || !(s->sf || s->started)) {
        discard(s);
        return commit ? csp__fail(sink->report, CSP_EOUTPUT, "no audio was produced") : CSP_OK;
    }
    int rc = s->sf ? csp__sndfile.close(s->sf) : 0;
    s->sf = NULL;
    if (rc != 0 || s->write_error) {
        /* every write was checked: a full disk anywhere, header or trailer, lands here */
        csp_code code = output_error(s, "cannot finish the file", s->write_error ? s->write_error : EIO);
        discard(s);
        return code;
    }
    if (s->is_atomic) {
        const char *step;
        int err = csp__atomic_commit(&s->atomic, &step);
        s->fd = -1;
        if (err)
            return output_error(s, step, err);
    } else if (s->own_fd) {
        int err = close(s->fd) != 0 ? errno : 0;
        s->fd = -1;
        if (err)
            return output_error(s, "cannot finish writing", err);
    }
    return CSP_OK;
}

static void file_free(csp_sink *sink)
{
    file_sink *s = (file_sink *)sink;
    if (!s)
        return;
    discard(s);
    csp__free(s->name);
    csp__free(s);
}

/* Opus is made at 8, 12, 16, 24 or 48 kHz only: other audio is resampled to 48 kHz. */
static long file_rate_for(csp_sink *sink, long rate, int channels)
{
    (void)channels;
    file_sink *f = (file_sink *)sink;
    long want = sink->wanted_rate ? sink->wanted_rate : rate;
    if (f->sub_format == SF_FORMAT_OPUS && want != 8000 && want != 12000 && want != 16000 &&
        want != 24000 && want != 48000)
        return 48000;
    return want;
}

static const csp_sink_ops file_ops = {
    .open = file_open, .write = file_write, .finish = file_finish, .free = file_free,
    .rate_for = file_rate_for, .takes_mp3 = file_takes_mp3, .write_mp3 = file_write_mp3,
    .chunk_end = file_chunk_end};

/* A regular file whose offset we may seek back to: finished headers. */
static int can_seek(int fd, off_t *start)
{
    struct stat st;
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || flags < 0 || (flags & O_APPEND))
        return 0;
    *start = lseek(fd, 0, SEEK_CUR);
    return *start >= 0;
}

/* Open a device or FIFO for writing. A FIFO waits for its reader; Ctrl-C ends the wait. */
static csp_code open_direct(csp_report *report, file_sink *s, const char *path)
{
    /* a FIFO with no reader would block in silence: say what we wait for */
    int probe = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (probe >= 0) {
        int flags = fcntl(probe, F_GETFL);
        if (flags >= 0 && fcntl(probe, F_SETFL, flags & ~O_NONBLOCK) == 0) {
            s->fd = probe;
            s->own_fd = 1;
            return CSP_OK;
        }
        close(probe);
    } else if (errno == ENXIO) {
        csp__log(report, CSP_LOG_WARN, "%s is a FIFO with no reader yet; waiting for one "
                 "(Ctrl-C to stop)", path);
    }
    for (;;) {
        s->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (s->fd >= 0)
            break;
        if (errno != EINTR)
            return csp__fail(report, CSP_EOUTPUT, "%s: cannot open for writing: %s", path,
                             strerror(errno));
        if (csp__canceled(report))
            return csp__fail(report, CSP_ECANCELED, "interrupted");
    }
    s->own_fd = 1;
    return CSP_OK;
}

/*
 * A name for a descriptor this process already has (/dev/stdout, /dev/fd/1,
 * /proc/self/fd/1): write to that descriptor as "-" does, at its offset,
 * never replace the file behind it. Returns the descriptor or -1.
 */
static int inherited_fd(const char *path)
{
    static const char *const prefixes[] = {"/dev/fd/", "/proc/self/fd/"};
    if (!strcmp(path, "/dev/stdout"))
        return STDOUT_FILENO;
    if (!strcmp(path, "/dev/stderr"))
        return STDERR_FILENO;
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(path, prefixes[i], n) && path[n]) {
            char *end;
            long fd = strtol(path + n, &end, 10);
            if (!*end && fd >= 0 && fd < 1024 && fcntl((int)fd, F_GETFD) != -1)
                return (int)fd;
        }
    }
    return -1;
}

csp_code csp__sink_file_new(csp_report *report, const char *path, const char *format,
                            csp_sink **out)
{
    *out = NULL;
    if (!*path)
        return csp__fail(report, CSP_EUSAGE, "the output path is empty; give -o FILE or -o -");
    int inherited = inherited_fd(path);
    int to_stdout = strcmp(path, "-") == 0 || inherited >= 0;
    struct stat st;
    int exists = !to_stdout && stat(path, &st) == 0;
    int direct = exists && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode));
    size_t len = strlen(path);
    if (exists && S_ISDIR(st.st_mode))
        return csp__fail(report, CSP_EOUTPUT, "%s: is a directory; give a file name (-o DIR/NAME.wav)",
                         path);
    if (len && path[len - 1] == '/')
        return csp__fail(report, CSP_EOUTPUT, "%s: ends in '/', so it names a directory; give a "
                         "file name (-o DIR/NAME.wav)", path);
    const char *name = format;
    if (!name) {
        const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
        if (dot && (!slash || dot > slash) && dot[1])
            name = dot + 1;
        else if (to_stdout || direct)
            name = "wav"; /* streams and devices: WAV with a streaming header */
        else
            return csp__fail(report, CSP_EUSAGE,
                             "%s: cannot tell the format from the name; add an extension or "
                             "--format wav, flac, ogg, opus, mp3, aiff or raw", path);
    }
    int major, sub;
    if (lookup_format(name, &major, &sub) < 0)
        return csp__fail(report, CSP_EUSAGE,
                         "unknown output format '%s' (use --format wav, flac, ogg, opus, mp3, aiff or raw)",
                         name);
    int fd_out = inherited >= 0 ? inherited : STDOUT_FILENO;
    if (to_stdout && isatty(fd_out))
        return csp__fail(report, CSP_EUSAGE,
                         "refusing to write audio to a terminal; redirect standard output or use -o FILE");
    char why[300];
    if (csp__sndfile_load(why, sizeof why) != 0) /* said before a request is paid for */
        return csp__fail(report, CSP_EOUTPUT, "%s: %s", path, why);
    file_sink *s = csp__calloc(1, sizeof *s);
    if (!s || !(s->name = csp__strdup(!strcmp(path, "-") ? "standard output" : path))) {
        csp__free(s);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    s->base.ops = &file_ops;
    s->base.report = report;
    s->major_format = major;
    s->sub_format = sub;
    s->fd = -1;
    const char *reencode = getenv("CLAWSPEAK_MP3_REENCODE");
    s->passthrough = major == SF_FORMAT_MPEG && !(reencode && *reencode && strcmp(reencode, "0"));
    csp__mp3_toc_init(&s->toc);
    csp_code rc = CSP_OK;
    if (to_stdout) {
        s->fd = fd_out;
        s->seekable = can_seek(s->fd, &s->start);
    } else if (direct) {
        rc = open_direct(report, s, path);
    } else {
        const char *step;
        int err = csp__atomic_begin(&s->atomic, path, 0666, &step);
        s->is_atomic = 1;
        s->fd = s->atomic.fd;
        s->seekable = 1;
        if (err == ENOMEM)
            rc = csp__fail(report, CSP_ENOMEM, "out of memory");
        else if (err)
            rc = csp__fail(report, CSP_EOUTPUT, "%s: cannot %s: %s", path, step, strerror(err));
    }
    if (rc != CSP_OK) {
        file_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return CSP_OK;
}
