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
 * synthetic process or thread root so writers can colour it as one.
 *
 * Two ways to keep what was read: in_read_folded builds the profile's call
 * tree (every writer reads that); in_read_folded_stacks keeps each line as a
 * row of frame ids instead (4 bytes a frame), which is all a flame graph
 * needs: the svg writer merges the rows itself, top down, and never builds
 * the tree below frames too narrow to draw (see out_options.stacks). Both
 * intern the same strings, functions and frames into the profile and accept
 * and reject exactly the same lines. */
#ifndef PYFLARE_INPUT_FOLDED_READ_H
#define PYFLARE_INPUT_FOLDED_READ_H

#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "profile/profile.h"

/* Adds every stack read from in to p (which the caller then finishes with
 * pf_profile_finish). name is the input's name for messages ("NAME:LINE: ...").
 * A malformed line is an error unless lenient, when it is skipped and counted
 * in *skipped (may be NULL). Returns 0 or -1 with err set. */
int in_read_folded(FILE *in, const char *name, pf_profile *p, int lenient, size_t *skipped, pf_error *err);

/* One line kept by in_read_folded_stacks: its frames, root first, are
 * frames[off .. off + len) of the in_stacks holding it. */
typedef struct in_stack_line {
    size_t off;
    uint32_t len;
    uint64_t count;
} in_stack_line;

typedef struct in_stacks {
    pf_frame_id *frames;   /* every kept line's frames, back to back */
    size_t nframes, frames_cap;
    in_stack_line *lines; /* lines with a count above 0; a line equal to the one before is merged into it */
    size_t nlines, lines_cap;
    uint64_t total;        /* the sum of the counts */
} in_stacks;

/* As in_read_folded, but the stacks go to s (zeroed by the caller, freed
 * with in_stacks_free) and p gets no call tree: only the strings, functions
 * and frames the lines name. */
int in_read_folded_stacks(FILE *in, const char *name, pf_profile *p, in_stacks *s, int lenient, size_t *skipped,
                           pf_error *err);
void in_stacks_free(in_stacks *s);

#endif
