/* legend.h — what a frame is coloured as, the same in every output: the
 * program's own code, the standard library, third-party code (the function's
 * pf_func.origin, decided once in profile/origin.c), native code, a thread
 * or process root, or something else ("<idle>"). The SVG writer picks colours
 * from it; the HTML writer hands it to its script as data. */
#ifndef PYFLARE_REPORT_LEGEND_H
#define PYFLARE_REPORT_LEGEND_H

#include "profile/profile.h"

/* The values are data in the HTML page: keep them in step with its script's ORIGINS. */
typedef enum {
    RP_OWN = 0,
    RP_STDLIB,
    RP_THIRD_PARTY,
    RP_NATIVE,
    RP_ROOT,
    RP_OTHER,
    RP_NLEGEND
} rp_legend;

/* How each entry reads in a legend: "own code", "standard library", ... */
extern const char *const rp_legend_names[RP_NLEGEND];

rp_legend rp_legend_of(const pf_func *fn);

#endif
