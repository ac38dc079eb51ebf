/* order.h — the one order of sibling frames, in every tree any output draws.
 *
 * Siblings are ordered by what they show, never by the order stacks were
 * seen, so the same profile draws the same way every time and in every
 * format (SVG, HTML, text, and the baseline of a differential graph):
 * function name, then file (both byte-wise), then line as a number (line 9
 * before line 10), then kind and first line, which tell apart the rare
 * functions that show alike. That key names a frame uniquely within a
 * profile (strings are interned), so frames of two profiles compare too. */
#ifndef PYFLARE_REPORT_ORDER_H
#define PYFLARE_REPORT_ORDER_H

#include <stdint.h>

#include "profile/profile.h"

/* Each frame's position in the order: a permutation of 0 .. nframes-1, frame
 * 0 (the root, "all") first. malloc'd (at least one entry); NULL when out of memory. */
uint32_t *rp_frame_ranks(const pf_profile *p);

/* <0, 0 or >0 as frame x of profile a comes before, is the same as, or comes
 * after frame y of profile b in the order. */
int rp_frame_cmp(const pf_profile *a, pf_frame_id x, const pf_profile *b, pf_frame_id y);

#endif
