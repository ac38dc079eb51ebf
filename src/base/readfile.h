/* readfile.h — reading a whole small file (source text for the reports), bounded. */
#ifndef PYFLARE_BASE_READFILE_H
#define PYFLARE_BASE_READFILE_H

#include <stddef.h>

/* Reads the regular file at path whole into *text (malloc'd, NUL-terminated,
 * *len bytes). Returns 0; 1 when it is larger than max bytes (nothing read);
 * -1 when it cannot be read or is not a regular file (a FIFO or device is never
 * opened for reading, so a hostile name cannot block the writer). */
int pf_read_file(const char *path, size_t max, char **text, size_t *len);
/* The same, path relative to the directory dirfd (openat(2); AT_FDCWD for the current one). */
int pf_read_file_at(int dirfd, const char *path, size_t max, char **text, size_t *len);

#endif
