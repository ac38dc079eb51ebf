/* folded_read.h — reads folded stacks written by any tool back into a pf_profile.
 *
 * One stack per line, root first: "frame;frame;...;frame COUNT". The count is
 * the last space-separated token (a whole number >= 0); frames are separated
 * by ';' and may themselves contain spaces. Frame labels are parsed back into
 * function, file and line where they have a known shape:
 *   "func (file:line)" or "func (path/file.py)"   pyflare, py-spy
 *   "file:func:line"                               Austin
 * anything else is kept whole as the function name with no file. A leading
 * "P<pid>" / "T<tid>" (Austin) or "process ..." / "thread ..." frame becomes a
 * synthetic process or thread root so writers can colour it as one. */
#ifndef PYFLARE_OUTPUT_FOLDED_READ_H
#define PYFLARE_OUTPUT_FOLDED_READ_H

#include <stdio.h>

#include "base/error.h"
#include "profile/profile.h"

/* Adds every stack read from in to p (which the caller then finishes with
 * pf_profile_finish). name is the input's name for messages ("NAME:LINE: ...").
 * A malformed line is an error unless lenient, when it is skipped and counted
 * in *skipped (may be NULL). Returns 0 or -1 with err set. */
int out_read_folded(FILE *in, const char *name, pf_profile *p, int lenient, size_t *skipped, pf_error *err);

#endif
