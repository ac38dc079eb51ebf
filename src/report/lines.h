/* lines.h — per-line figures: how much weight each source line (file, line)
 * carries, for the HTML report's Source tab and the text report's hottest lines.
 *
 * Frames carry lines (pf_frame.line). A line's own weight is the self weight of
 * the nodes whose frame is that line; its total is the weight of the stacks
 * that contain the line at least once, so a recursive function's line is not
 * counted twice (a node adds its inclusive weight only when no ancestor shows
 * the same line). Only Python frames with a line > 0 count; lines are grouped
 * by the function's file as shown (pf_func.file).
 *
 * Files come hottest first (own weight, then total, then name), and within a
 * file lines come by line number; rp_lines_hottest orders all lines by own. */
#ifndef PYFLARE_REPORT_LINES_H
#define PYFLARE_REPORT_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

typedef struct rp_line {
    uint32_t file;     /* index into rp_lines.files */
    int32_t line;
    uint64_t self, total;
    pf_frame_id frame; /* one frame showing this line (a function's, for labels) */
} rp_line;

typedef struct rp_file {
    pf_str_id name;    /* the file as shown */
    uint64_t self;     /* the sum of its lines' own weight */
    uint64_t total;    /* weight of stacks with any of its lines (recursion counted once) */
    size_t first, n;   /* its lines: lines[first .. first + n), by line number */
} rp_file;

typedef struct rp_lines {
    rp_file *files;
    size_t nfiles;
    rp_line *lines;
    size_t nlines;
    uint64_t grand_total; /* the root's total */
} rp_lines;

/* Fills l from p (finished). Returns 0, or -1 when out of memory (l is then empty). */
int rp_lines_build(const pf_profile *p, rp_lines *l);
/* Indexes into l->lines of the n hottest lines by own weight (ties: total, then
 * file order, then line); returns how many were written (at most max, only lines
 * with own weight), or -1 when out of memory. */
long rp_lines_hottest(const rp_lines *l, uint32_t *out, size_t max);
void rp_lines_free(rp_lines *l);

#endif
