/* error.c — filling pf_error (see error.h). */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>

int pf_fail(pf_error *err, pf_error_kind kind, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->kind = kind;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *pf_error_kind_name(pf_error_kind kind) {
    switch (kind) {
    case PF_OK: return "ok";
    case PF_ERR_NO_PROCESS: return "no-process";
    case PF_ERR_PERMISSION: return "permission";
    case PF_ERR_EXITED: return "exited";
    case PF_ERR_NOT_PYTHON: return "not-python";
    case PF_ERR_UNSUPPORTED: return "unsupported";
    case PF_ERR_READ: return "read";
    case PF_ERR_CORRUPT: return "corrupt";
    case PF_ERR_IO: return "io";
    case PF_ERR_USAGE: return "usage";
    case PF_ERR_NOMEM: return "out of memory";
    }
    return "unknown";
}
