/* outfile.c — where an output goes: what the named path is decides how it is written.
 *
 * A regular file, or a name that does not exist yet, is replaced atomically: the
 * writer fills a temporary file created beside it, which is renamed over the name
 * only when complete, so an interrupted run never leaves half a file under it.
 * The temporary name is created with O_EXCL|O_NOFOLLOW (a symlink or file planted
 * at that name in a shared directory is never followed or reused, and a taken name
 * is retried with another), and it is kept within NAME_MAX however long the target's
 * name is. An existing file's permission bits (and owner, where allowed) carry over.
 * A symbolic link is followed and its target replaced that way: the link stays.
 * A character or block device, a FIFO or a socket is written in place: renaming a
 * file over /dev/null would replace the device. A directory is refused.
 *
 * While a temporary file exists (out_check_writable's probe included), its name is
 * kept where a signal handler can remove it (out_discard_temp), so a command killed
 * mid-write leaves nothing behind. */
#include "output/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 40       /* as the kernel's own limit on a path's symlinks */
#define TEMP_BASE_MAX 200  /* bytes of the target's name kept in the temporary name */

/* The temporary file being written, for out_discard_temp() in a signal handler. */
static char pending_temp[PATH_MAX + 64];
static volatile sig_atomic_t pending_set;

void out_discard_temp(void) {
    if (pending_set)
        unlink(pending_temp); /* async-signal-safe */
}

/* What a path names, after following symbolic links. */
typedef enum { DEST_NEW, DEST_FILE, DEST_DIR, DEST_SPECIAL } dest_kind;

typedef struct dest {
    char *path;       /* the final name (the link's target for a symlink), malloc'd */
    dest_kind kind;
    struct stat st;   /* when it exists */
} dest;

/* Joins a link's target to the directory of the link when it is relative. */
static char *link_target(const char *link, const char *target) {
    if (target[0] == '/')
        return strdup(target);
    const char *slash = strrchr(link, '/');
    size_t dirlen = slash ? (size_t)(slash - link) + 1 : 0;
    size_t tlen = strlen(target);
    char *out = malloc(dirlen + tlen + 1);
    if (out) {
        memcpy(out, link, dirlen);
        memcpy(out + dirlen, target, tlen + 1);
    }
    return out;
}

/* The name a chain of symbolic links ends at (whether or not it exists), malloc'd. */
static char *follow_links(const char *path, pf_error *err) {
    char *cur = strdup(path);
    if (!cur) {
        pf_fail(err, PF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int links = 0;; links++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur;
        char target[PATH_MAX];
        ssize_t n = links < MAX_LINKS ? readlink(cur, target, sizeof target - 1) : -1;
        if (n < 0) {
            pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(links < MAX_LINKS ? errno : ELOOP));
            free(cur);
            return NULL;
        }
        target[n] = 0;
        char *next = link_target(cur, target);
        free(cur);
        if (!next) {
            pf_fail(err, PF_ERR_NOMEM, "out of memory");
            return NULL;
        }
        cur = next;
    }
}

static int resolve(const char *path, dest *d, pf_error *err) {
    memset(d, 0, sizeof *d);
    /* What the name finally designates, through any links, the kernel's own
     * (/dev/stdout, /proc/self/fd/N of a pipe) included. */
    if (stat(path, &d->st) != 0) {
        if (errno != ENOENT)
            return pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        d->kind = DEST_NEW; /* absent, or a link to a name that does not exist yet */
    } else if (S_ISDIR(d->st.st_mode)) {
        return pf_fail(err, PF_ERR_USAGE, "cannot write %s: it is a directory (name a file, e.g. %s/profile.svg)",
                       path, path);
    } else if (!S_ISREG(d->st.st_mode)) {
        d->kind = DEST_SPECIAL; /* opened by the name given: the kernel follows its links */
        d->path = strdup(path);
        return d->path ? 0 : pf_fail(err, PF_ERR_NOMEM, "out of memory");
    } else {
        d->kind = DEST_FILE;
    }
    /* A file (or a new one) is replaced where it lives: beside the links' final name. */
    d->path = follow_links(path, err);
    return d->path ? 0 : -1;
}

/* Creates a fresh temporary file beside d->path: ".NAME.pyflare-XXXXXXXX", with NAME
 * cut (at a UTF-8 boundary) so the whole stays within NAME_MAX. Returns the fd and
 * fills tmp (malloc'd), or -1 with errno set. */
static int create_temp(const dest *d, char **tmp) {
    const char *slash = strrchr(d->path, '/');
    size_t dirlen = slash ? (size_t)(slash - d->path) + 1 : 0;
    const char *base = d->path + dirlen;
    size_t blen = strlen(base);
    if (blen > TEMP_BASE_MAX) {
        blen = TEMP_BASE_MAX;
        while (blen > 0 && ((unsigned char)base[blen] & 0xC0) == 0x80)
            blen--;
    }
    size_t cap = dirlen + 1 + blen + 32;
    char *name = malloc(cap);
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16) ^ (uintptr_t)name;
    /* An existing file's bits are set on the fd below; a new file gets 0666 less the umask, as any new file. */
    mode_t mode = d->kind == DEST_FILE ? 0600 : 0666;
    for (int attempt = 0; attempt < 100; attempt++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(name, cap, "%.*s.%.*s.pyflare-%08x", (int)dirlen, d->path, (int)blen, base,
                 (unsigned)(seed >> 32));
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(name);
    errno = e;
    return -1;
}

/* create_temp, with the name recorded for out_discard_temp (*track) when the slot
 * is free. Signals wait meanwhile, so a handler never misses a file just created. */
static int create_tracked_temp(const dest *d, char **tmp, int *track) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int fd = create_temp(d, tmp);
    int e = errno;
    *track = fd >= 0 && !pending_set && strlen(*tmp) < sizeof pending_temp;
    if (*track) {
        memcpy(pending_temp, *tmp, strlen(*tmp) + 1);
        pending_set = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return fd;
}

/* The end of create_tracked_temp's file: removed unless it was renamed into
 * place (remove 0), then no longer out_discard_temp's to remove. */
static void drop_tracked_temp(char *tmp, int track, int remove) {
    if (remove)
        unlink(tmp);
    if (track)
        pending_set = 0;
    free(tmp);
}

/* The directory part of a path, for messages. */
static const char *dir_of(const char *path, char *buf, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    if (slash == path)
        return "/";
    snprintf(buf, cap, "%.*s", (int)(slash - path), path);
    return buf;
}

static int temp_failure(const char *path, const dest *d, int e, pf_error *err) {
    char dir[PATH_MAX];
    return pf_fail(err, PF_ERR_IO, "cannot write %s: cannot create a file in %s: %s", path,
                   dir_of(d->path, dir, sizeof dir), strerror(e));
}

/* A Unix socket is written by connecting to it (open() refuses sockets). */
static int open_socket(const char *path) {
    struct sockaddr_un sa = {0};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int out_check_writable(const char *path, pf_error *err) {
    if (!strcmp(path, "-"))
        return 0;
    if (!*path)
        return pf_fail(err, PF_ERR_USAGE, "the output file name is empty");
    dest d;
    if (resolve(path, &d, err) != 0)
        return -1;
    int rc = 0;
    if (d.kind == DEST_SPECIAL) {
        /* Not opened here: opening a FIFO waits for its reader. */
        if (access(d.path, W_OK) != 0)
            rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    } else {
        /* Creating (and removing) a temporary file is the one sure test: it sees
         * permissions, ACLs, read-only file systems and missing directories alike. */
        char *tmp;
        int track;
        int fd = create_tracked_temp(&d, &tmp, &track);
        if (fd < 0) {
            rc = temp_failure(path, &d, errno, err);
        } else {
            close(fd);
            drop_tracked_temp(tmp, track, 1);
        }
    }
    free(d.path);
    return rc;
}

/* Runs the writer on fd; closes it. */
static int write_fd(const pf_profile *p, const out_format *fmt, int fd, const char *path, const out_options *o,
                    pf_error *err) {
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        return pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    int rc = fmt->write(p, f, o, err);
    errno = 0;
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
    errno = 0;
    if (fclose(f) != 0 && rc == 0)
        rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
    return rc;
}

static int write_stdout(const pf_profile *p, const out_format *fmt, const out_options *o, pf_error *err) {
    if (fmt->write(p, stdout, o, err) != 0)
        return -1;
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout))
        return pf_fail(err, PF_ERR_IO, "cannot write to standard output: %s", strerror(errno ? errno : EIO));
    return 0;
}

int out_write_file(const pf_profile *p, const out_format *fmt, const char *path, const out_options *o,
                   pf_error *err) {
    if (!strcmp(path, "-"))
        return write_stdout(p, fmt, o, err);
    if (!*path)
        return pf_fail(err, PF_ERR_USAGE, "the output file name is empty");
    dest d;
    if (resolve(path, &d, err) != 0)
        return -1;
    int rc;
    if (d.kind == DEST_SPECIAL) {
        int fd = S_ISSOCK(d.st.st_mode) ? open_socket(d.path) : open(d.path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
            rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        else
            rc = write_fd(p, fmt, fd, path, o, err);
        free(d.path);
        return rc;
    }
    char *tmp;
    int track;
    int fd = create_tracked_temp(&d, &tmp, &track);
    if (fd < 0) {
        rc = temp_failure(path, &d, errno, err);
        free(d.path);
        return rc;
    }
    if (d.kind == DEST_FILE) {
        /* The replacement keeps what the file was: its owner where we may set it
         * (root), then its permission bits (after chown, which clears set-id bits). */
        if (d.st.st_uid != geteuid() || d.st.st_gid != getegid())
            if (fchown(fd, d.st.st_uid, d.st.st_gid) != 0) {
                /* not permitted: the file becomes ours, as any rewritten file */
            }
        if (fchmod(fd, d.st.st_mode & 07777) != 0) {
            rc = pf_fail(err, PF_ERR_IO, "cannot write %s: cannot set its permissions: %s", path, strerror(errno));
            close(fd);
            goto fail;
        }
    }
    rc = write_fd(p, fmt, fd, path, o, err);
    if (rc == 0 && rename(tmp, d.path) != 0)
        rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno));
fail:
    drop_tracked_temp(tmp, track, rc != 0);
    free(d.path);
    return rc;
}
