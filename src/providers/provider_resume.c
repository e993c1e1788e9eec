/* SPDX-License-Identifier: MIT */
/*
 * provider_resume.c: paid chunks survive an interrupted conversion. While
 * audio goes to a file, every chunk a network provider delivers is kept in
 * a private directory beside the target (.NAME.clawspeak-parts/, 0700):
 * NNNNNN.audio holds the bytes as the server sent them, NNNNNN.req the
 * request they answer (written last, so its presence means "complete").
 * With resume, a chunk whose request is byte for byte the one kept is
 * served from disk and never requested again. A finished file removes the
 * directory; an interrupted or failed run leaves it, and says so.
 */
#include "provider.h"

#include "alloc.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct resume {
    csp_provider base;
    csp_provider *inner;
    csp_speech_target target;
    csp_report *report;
    char *dir;
    int dir_fd; /* the parts directory, opened once and checked: part I/O is relative to it */
    int reuse;
    size_t kept, reused; /* chunks written to disk, chunks served from it */
    struct kept_attempt *running; /* attempts in flight, freed with the provider */
} resume;

typedef struct kept_attempt {
    struct kept_attempt *next;
    resume *owner;
    csp_chunk_events outer;
    char *key;        /* the request, as kept in NNNNNN.req */
    size_t index;
    int fd;           /* NNNNNN.audio.tmp, or -1 once writing failed */
    csp_media media;
} kept_attempt;

/* A part's name inside the directory (opened with openat on dir_fd, never by path: a link
   planted in place of the directory after it was checked cannot redirect the parts). */
static char *part_path(const resume *r, size_t index, const char *suffix)
{
    (void)r;
    return csp__printf("%06zu.%s", index, suffix);
}

/* What identifies a chunk's audio: where it was asked and the whole body. */
static char *request_key(const resume *r, const csp_chunk_request *request)
{
    char *body = csp__speech_body(&r->target, request->params, request->text, request->len);
    char *key = body ? csp__printf("%s\n%s\n%s\n", r->target.id, r->target.base_url, body)
                     : NULL;
    csp__free(body);
    return key;
}

/* The kept file's whole text, if it is small enough to be a request; NULL otherwise. */
static char *read_small(int dir_fd, const char *path, size_t cap)
{
    int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    csp_buf buf;
    csp__buf_init(&buf, cap);
    char block[4096];
    ssize_t n;
    int ok = 1;
    while (ok && (n = read(fd, block, sizeof block)) != 0)
        ok = n > 0 && csp__buf_append(&buf, block, (size_t)n) == 0;
    close(fd);
    ok = ok && csp__buf_append(&buf, "", 1) == 0;
    char *text = ok ? csp__buf_steal(&buf) : NULL;
    csp__buf_free(&buf);
    return text;
}

/* Serve a kept chunk: its media line, then its bytes; 0 when served. */
static int serve_kept(resume *r, const csp_chunk_request *request, const char *key,
                      const csp_chunk_events *events)
{
    char *req_path = part_path(r, request->index, "req");
    char *audio_path = part_path(r, request->index, "audio");
    char *kept = req_path ? read_small(r->dir_fd, req_path, strlen(key) + 128) : NULL;
    int served = -1, kind = 0, channels = 0, used = 0;
    long rate = 0;
    if (kept && sscanf(kept, "%d %ld %d\n%n", &kind, &rate, &channels, &used) == 3 &&
        strcmp(kept + used, key) == 0) {
        /* the media line is trusted no more than a server's Content-Type: a rate of 10^10
           or -5 would send the resampler and the file writer astray */
        csp_media media = {(csp_media_kind)kind, rate, channels};
        int fd = -1;
        if (!csp__media_sane(&media)) {
            csp__log(r->report, CSP_LOG_WARN, "chunk %zu: the kept part in %s describes its "
                     "audio as '%d %ld %d', which is no audio format: requesting it again",
                     request->index + 1, r->dir, kind, rate, channels);
        } else if (audio_path) {
            fd = openat(r->dir_fd, audio_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
            struct stat st;
            double per_second = media.kind == CSP_MEDIA_PCM ? (double)rate * channels * 2
                                : media.kind == CSP_MEDIA_WAV ? CSP_LOCAL_MAX_BYTES_PER_SECOND
                                                              : CSP_MP3_MAX_BYTES_PER_SECOND;
            if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
                            (size_t)st.st_size > csp__audio_cap(request->len, per_second))) {
                /* more than its text can make: not what the server sent (exit 5 would
                   blame the server) */
                csp__log(r->report, CSP_LOG_WARN, "chunk %zu: the kept part in %s is not "
                         "what was received: requesting it again", request->index + 1, r->dir);
                close(fd);
                fd = -1;
            }
        }
        if (fd >= 0) {
            events->on_audio_start(events->ctx, &media);
            char block[65536];
            ssize_t n;
            int stop = 0;
            while (!stop && (n = read(fd, block, sizeof block)) > 0)
                stop = events->on_audio(events->ctx, block, (size_t)n);
            close(fd);
            csp_attempt_result result;
            memset(&result, 0, sizeof result);
            result.retry_after_s = -1;
            result.status = CSP_ATTEMPT_OK;
            events->on_done(events->ctx, &result);
            r->reused++;
            csp__log(r->report, CSP_LOG_INFO, "chunk %zu: kept from an earlier run, not requested",
                     request->index + 1);
            served = 0;
        }
    }
    csp__free(kept);
    csp__free(req_path);
    csp__free(audio_path);
    return served;
}

static void kept_audio_start(void *ctx, const csp_media *media)
{
    kept_attempt *k = ctx;
    k->media = *media;
    k->outer.on_audio_start(k->outer.ctx, media);
}

static int kept_audio(void *ctx, const char *data, size_t len)
{
    kept_attempt *k = ctx;
    if (k->fd >= 0) {
        size_t done = 0;
        while (done < len) {
            ssize_t n = write(k->fd, data + done, len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(k->fd); /* a full disk costs resuming, not the run */
                k->fd = -1;
                break;
            }
            done += (size_t)n;
        }
    }
    return k->outer.on_audio(k->outer.ctx, data, len);
}

/* Commit a complete chunk: the audio under its name, then the request beside it.
   Returns -1 when out of memory (a failed write only loses the kept copy). */
static int keep(kept_attempt *k)
{
    resume *r = k->owner;
    char *tmp = part_path(r, k->index, "audio.tmp"), *audio = part_path(r, k->index, "audio");
    char *req = part_path(r, k->index, "req");
    char *req_tmp = part_path(r, k->index, "req.tmp");
    char *text = csp__printf("%d %ld %d\n%s", (int)k->media.kind, k->media.rate,
                             k->media.channels, k->key);
    int nomem = !tmp || !audio || !req || !req_tmp || !text;
    int ok = !nomem && close(k->fd) == 0;
    if (nomem)
        close(k->fd);
    k->fd = -1;
    if (ok && renameat(r->dir_fd, tmp, r->dir_fd, audio) == 0) {
        int fd = openat(r->dir_fd, req_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                        0600);
        size_t len = strlen(text);
        ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
        if (fd >= 0 && close(fd) != 0)
            ok = 0;
        if (ok && renameat(r->dir_fd, req_tmp, r->dir_fd, req) == 0)
            r->kept++;
        else if (req_tmp)
            unlinkat(r->dir_fd, req_tmp, 0);
    } else if (tmp) {
        unlinkat(r->dir_fd, tmp, 0);
    }
    csp__free(tmp);
    csp__free(audio);
    csp__free(req);
    csp__free(req_tmp);
    csp__free(text);
    return nomem ? -1 : 0;
}

/* An attempt that will not be kept: its partial audio goes. */
static void drop(kept_attempt *k)
{
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
    char *tmp = part_path(k->owner, k->index, "audio.tmp");
    if (tmp)
        unlinkat(k->owner->dir_fd, tmp, 0);
    csp__free(tmp);
}

static void forget(kept_attempt *k)
{
    kept_attempt **link = &k->owner->running;
    while (*link && *link != k)
        link = &(*link)->next;
    if (*link)
        *link = k->next;
    csp__free(k->key);
    csp__free(k);
}

static void kept_done(void *ctx, const csp_attempt_result *result)
{
    kept_attempt *k = ctx;
    csp_attempt_result failed;
    if (k->fd >= 0 && result->status == CSP_ATTEMPT_OK) {
        if (keep(k) < 0) {
            /* out of memory stops a run wherever it strikes, as everywhere else */
            memset(&failed, 0, sizeof failed);
            failed.status = CSP_ATTEMPT_FAIL;
            failed.code = CSP_ENOMEM;
            failed.retry_after_s = -1;
            snprintf(failed.why, sizeof failed.why, "out of memory");
            result = &failed;
        }
    } else {
        drop(k);
    }
    k->outer.on_done(k->outer.ctx, result);
    forget(k);
}

static int resume_start(csp_provider *base, const csp_chunk_request *request,
                        const csp_chunk_events *events)
{
    resume *r = (resume *)base;
    char *key = request_key(r, request);
    if (!key)
        return -1;
    if (r->reuse && serve_kept(r, request, key, events) == 0) {
        csp__free(key);
        return 0;
    }
    kept_attempt *k = csp__calloc(1, sizeof *k);
    char *tmp = part_path(r, request->index, "audio.tmp");
    if (!k || !tmp) {
        csp__free(k);
        csp__free(tmp);
        csp__free(key);
        return -1;
    }
    *k = (kept_attempt){r->running, r, *events, key, request->index, -1, {0}};
    r->running = k;
    k->fd = openat(r->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    csp__free(tmp);
    csp_chunk_events mine = {kept_audio_start, kept_audio, kept_done, k};
    if (r->inner->start(r->inner, request, &mine) < 0) {
        drop(k);
        forget(k);
        return -1;
    }
    return 0;
}

static int resume_poll(csp_provider *base, int wait_ms)
{
    resume *r = (resume *)base;
    return r->inner->poll(r->inner, wait_ms);
}

static int resume_warm(csp_provider *base)
{
    resume *r = (resume *)base;
    return r->inner->warm ? r->inner->warm(r->inner) : 0;
}

static void resume_wakeup(csp_provider *base)
{
    resume *r = (resume *)base;
    r->inner->wakeup(r->inner);
}

/*
 * Count the complete chunks in the directory, removing what this module
 * wrote there (nothing else) when remove is set, and the directory too
 * when remove_dir; otherwise only unfinished .tmp files go.
 */
static size_t sweep(const resume *r, int remove, int remove_dir)
{
    size_t complete = 0;
    int fd = r->dir_fd >= 0 ? fcntl(r->dir_fd, F_DUPFD_CLOEXEC, 0) : -1;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    rewinddir(d); /* a duplicate shares its offset with dir_fd: read from the start */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int ours = n > 6 && strspn(e->d_name, "0123456789") == 6 && e->d_name[6] == '.';
        if (!ours)
            continue;
        complete += n > 4 && strcmp(e->d_name + n - 4, ".req") == 0;
        if (remove || (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    if (remove_dir)
        rmdir(r->dir); /* by name, but rmdir removes only an empty directory */
    return complete;
}

static void resume_free(csp_provider *base)
{
    resume *r = (resume *)base;
    if (!r)
        return;
    if (r->inner)
        r->inner->free(r->inner); /* stops attempts without their events */
    while (r->running) {
        drop(r->running);
        forget(r->running);
    }
    if (r->dir_fd >= 0)
        close(r->dir_fd);
    csp__free(r->dir);
    csp__free(r);
}

/* .NAME.clawspeak-parts beside the target. */
static char *parts_dir(const char *output_path)
{
    const char *slash = strrchr(output_path, '/');
    const char *name = slash ? slash + 1 : output_path;
    int dir_len = slash ? (int)(slash - output_path) + 1 : 0;
    return csp__printf("%.*s.%s.clawspeak-parts", dir_len, output_path, name);
}

csp_code csp__provider_resume_wrap(csp_provider **provider, const csp_settings *settings,
                                   csp_report *report, const char *output_path, int reuse)
{
    resume *r = csp__calloc(1, sizeof *r);
    if (!r || !(r->dir = parts_dir(output_path))) {
        csp__free(r);
        return csp__fail(report, CSP_ENOMEM, "out of memory");
    }
    r->dir_fd = -1;
    /*
     * Made if missing, then opened without following a link and checked on the descriptor:
     * only a private directory of ours is trusted to hold audio to splice into the file, and
     * in a shared directory (/tmp) a link planted after any check by name would take the
     * parts elsewhere. All part I/O goes through this descriptor.
     */
    int made = mkdir(r->dir, 0700) == 0, err = made ? 0 : errno;
    if (made || err == EEXIST)
        r->dir_fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (r->dir_fd < 0 && (made || err == EEXIST))
        err = errno;
    struct stat st;
    if (r->dir_fd < 0 && err != ELOOP && err != ENOTDIR) {
        csp__log(report, CSP_LOG_INFO, "cannot keep chunks in %s (%s): an interrupted run "
                 "cannot be resumed", r->dir, strerror(err));
        resume_free(&r->base);
        return CSP_OK; /* the provider alone, as before */
    }
    if (r->dir_fd < 0 || fstat(r->dir_fd, &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid() || (st.st_mode & 077)) {
        csp_code rc = csp__fail(report, CSP_EOUTPUT, "%s is in the way (not a private directory "
                                "of yours, mode 0700); remove it", r->dir);
        resume_free(&r->base);
        return rc;
    }
    if (!reuse) {
        size_t old = sweep(r, 1, 0);
        if (old)
            csp__log(report, CSP_LOG_WARN, "discarded %zu chunks of an earlier interrupted run "
                     "(--resume keeps them)", old);
    }
    r->base = (csp_provider){(*provider)->name, (*provider)->max_parallel, resume_start,
                             resume_poll, resume_wakeup, resume_free, resume_warm};
    r->inner = *provider;
    csp__speech_target(settings, (*provider)->name, &r->target);
    r->report = report;
    r->reuse = reuse;
    *provider = &r->base;
    return CSP_OK;
}

int csp__provider_is_resume(const csp_provider *provider)
{
    return provider->start == resume_start;
}

void csp__provider_resume_forget(csp_provider *base, size_t index)
{
    resume *r = (resume *)base;
    static const char *const suffixes[] = {"req", "audio"};
    for (size_t i = 0; i < 2; i++) {
        char *path = part_path(r, index, suffixes[i]);
        if (path)
            unlinkat(r->dir_fd, path, 0);
        csp__free(path);
    }
}

void csp__provider_resume_end(csp_provider *base, int committed)
{
    resume *r = (resume *)base;
    if (committed) {
        if (r->reused)
            csp__log(r->report, CSP_LOG_INFO, "%zu chunks came from the earlier run", r->reused);
        sweep(r, 1, 1);
        return;
    }
    size_t complete = sweep(r, 0, 0);
    if (!complete) {
        sweep(r, 1, 1);
        return;
    }
    /* part of the error, so that it shows even with -q: paid audio sits on disk */
    char *error = r->report->error;
    size_t used = strlen(error);
    if (used)
        snprintf(error + used, sizeof r->report->error - used, "; kept %zu paid chunks in %s: "
                 "run the same command with --resume to go on without requesting them again",
                 complete, r->dir);
    else
        csp__log(r->report, CSP_LOG_WARN, "kept %zu paid chunks in %s: run the same command "
                 "with --resume to go on without requesting them again", complete, r->dir);
}
