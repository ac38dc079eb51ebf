/* maps.c — the target's memory mappings, from /proc/PID/maps.
 *
 * Used to find which files (the python binary, libpython) are mapped and where,
 * so symbols in those files can be turned into addresses in the target. */
#include "target/target_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/grow.h"

void target_maps_free(target *t) {
    free(t->maps);
    free(t->maps_text);
    t->maps = NULL;
    t->maps_text = NULL;
    t->nmaps = 0;
}

static char *slurp(const char *path, int *saved_errno) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *saved_errno = errno;
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (PF_GROW(buf, cap, len + 4096 + 1, 65536) != 0) {
            free(buf);
            buf = NULL;
            break;
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got < 0) {
            *saved_errno = errno;
            free(buf);
            buf = NULL;
            break;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (buf)
        buf[len] = 0;
    else if (!*saved_errno)
        *saved_errno = ENOMEM;
    return buf;
}

int target_maps(target *t, const target_mapping **maps, size_t *n, pf_error *err) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)t->pid);
    int saved = 0;
    char *text = slurp(path, &saved);
    if (!text) {
        if (saved == ENOENT || saved == ESRCH)
            return pf_fail(err, PF_ERR_EXITED, "process %d exited", (int)t->pid);
        return pf_fail(err, saved == ENOMEM ? PF_ERR_NOMEM : PF_ERR_IO, "cannot read %s: %s", path, strerror(saved));
    }
    size_t lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    target_mapping *m = calloc(lines + 1, sizeof *m);
    if (!m) {
        free(text);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    size_t count = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        target_mapping *cur = &m[count];
        int pathpos = 0;
        unsigned long long start, end, offset;
        char perms[8];
        /* start-end perms offset dev inode [path] */
        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &pathpos) < 4)
            continue;
        cur->start = start;
        cur->end = end;
        cur->offset = offset;
        memcpy(cur->perms, perms, 4);
        cur->perms[4] = 0;
        cur->path = pathpos > 0 ? line + pathpos : line + strlen(line);
        count++;
    }
    target_maps_free(t);
    t->maps = m;
    t->nmaps = count;
    t->maps_text = text;
    *maps = m;
    *n = count;
    return 0;
}
