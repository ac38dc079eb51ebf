/* readfile.c — see readfile.h. */
#include "base/readfile.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int pf_read_file(const char *path, size_t max, char **text, size_t *len) {
    return pf_read_file_at(AT_FDCWD, path, max, text, len);
}

int pf_read_file_at(int dirfd, const char *path, size_t max, char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return 1;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    /* The file may change while read: never more than its size at open. */
    while (n < cap) {
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0) {
            free(buf);
            close(fd);
            return -1;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = 0;
    *text = buf;
    *len = n;
    return 0;
}
