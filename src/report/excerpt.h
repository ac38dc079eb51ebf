/* excerpt.h — how much of a source file the reports keep.
 *
 * The html report's Source tab and a capture's source text keep the whole of
 * the program's own files, but of a standard-library or third-party file only
 * what the profile points into: the whole of each function with samples (from
 * its first line, decorators included, to where its indentation ends, or to
 * its last line seen if that is further), and around every line seen
 * (a module's top-level code, a lambda) only that line; each with EXCERPT_CONTEXT
 * lines either side. The rest of such a file is text a user rarely reads, and
 * it was most of the bytes: a 60 s capture of a small HTTP service
 * (tests/capture/service.py) held 1 MB of library source beside 6 KB of samples.
 *
 * Left-out lines are emptied, their newlines kept, so a line's number stays
 * its number in the file, and an excerpt's excerpt is itself: a capture keeps
 * the excerpt, and a report written from the capture keeps exactly what the
 * report written directly keeps. */
#ifndef PYFLARE_REPORT_EXCERPT_H
#define PYFLARE_REPORT_EXCERPT_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

#define EXCERPT_CONTEXT 2

typedef struct rp_span {
    int32_t first, last; /* lines first..last (1-based, inclusive) */
} rp_span;

typedef struct rp_excerpt rp_excerpt;

/* What p's frames point into, file by file (p finished). NULL when out of memory. */
rp_excerpt *rp_excerpt_new(const pf_profile *p);
void rp_excerpt_free(rp_excerpt *e);

/* Empties, in place, the lines of file's text (len bytes) that its excerpt
 * leaves out, and sets *len to the new length. When spans is not NULL,
 * *spans (malloc'd, for the caller to free) and *nspans are the lines kept,
 * ascending and apart; a file kept whole gives NULL and 0. Returns 0, or -1
 * when out of memory (text then unchanged). */
int rp_excerpt_apply(const rp_excerpt *e, pf_str_id file, char *text, size_t *len, rp_span **spans, size_t *nspans);

#endif
