/* order.c — the sibling order (see order.h). */
#include "report/order.h"

#include <stdlib.h>
#include <string.h>

int rp_frame_cmp(const pf_profile *a, pf_frame_id x, const pf_profile *b, pf_frame_id y) {
    size_t n;
    const pf_frame *fa = &pf_frames(a, &n)[x], *fb = &pf_frames(b, &n)[y];
    const pf_func *ga = &pf_funcs(a, &n)[fa->func], *gb = &pf_funcs(b, &n)[fb->func];
    int c = strcmp(pf_str(a, ga->name), pf_str(b, gb->name));
    if (!c)
        c = strcmp(pf_str(a, ga->file), pf_str(b, gb->file));
    if (!c)
        c = (fa->line > fb->line) - (fa->line < fb->line);
    if (!c)
        c = (ga->kind > gb->kind) - (ga->kind < gb->kind);
    if (!c)
        c = (ga->firstline > gb->firstline) - (ga->firstline < gb->firstline);
    return c;
}

static int cmp_ids(const void *x, const void *y, void *ctx) {
    pf_frame_id a = *(const pf_frame_id *)x, b = *(const pf_frame_id *)y;
    int c = rp_frame_cmp(ctx, a, ctx, b);
    return c ? c : (a > b) - (a < b);
}

uint32_t *rp_frame_ranks(const pf_profile *p) {
    size_t n;
    pf_frames(p, &n);
    if (!n)
        n = 1;
    uint32_t *rank = malloc(n * sizeof *rank), *byrank = malloc(n * sizeof *byrank);
    if (!rank || !byrank) {
        free(rank);
        free(byrank);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        byrank[i] = (uint32_t)i;
    if (n > 1)
        qsort_r(byrank + 1, n - 1, sizeof *byrank, cmp_ids, (void *)p);
    for (size_t i = 0; i < n; i++)
        rank[byrank[i]] = (uint32_t)i;
    free(byrank);
    return rank;
}
