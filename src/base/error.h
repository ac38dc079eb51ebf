/* error.h — how every layer below the CLI reports failure.
 *
 * Functions return 0 or -1 and fill a pf_error: a kind the caller can act on
 * (retry a torn read, give up on a dead process) and one line of text, without
 * newline, that the CLI prints as is. Nothing below cli/ prints or exits. */
#ifndef PYFLARE_BASE_ERROR_H
#define PYFLARE_BASE_ERROR_H

#include <stddef.h>

typedef enum {
    PF_OK = 0,
    PF_ERR_NO_PROCESS,   /* no such process */
    PF_ERR_PERMISSION,   /* the kernel refused access */
    PF_ERR_EXITED,       /* the process went away while we read it */
    PF_ERR_NOT_PYTHON,   /* no CPython found in it */
    PF_ERR_UNSUPPORTED,  /* a CPython we cannot read */
    PF_ERR_READ,         /* a remote read failed (bad or racing pointer) */
    PF_ERR_CORRUPT,      /* data read made no sense (torn or hostile) */
    PF_ERR_IO,           /* a local file or system call failed */
    PF_ERR_USAGE,        /* the caller asked for something invalid */
    PF_ERR_NOMEM,        /* out of memory */
} pf_error_kind;

typedef struct pf_error {
    pf_error_kind kind;
    char msg[512];
} pf_error;

/* Sets err (if not NULL) and returns -1, so callers can `return pf_fail(...)`. */
int pf_fail(pf_error *err, pf_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A short stable name for a kind ("read", "corrupt", ...), for statistics. */
const char *pf_error_kind_name(pf_error_kind kind);

#endif
