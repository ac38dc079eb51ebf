/* legend.c — a function's legend entry (see legend.h). */
#include "report/legend.h"

const char *const rp_legend_names[RP_NLEGEND] = {"own code",   "standard library", "third-party",
                                                 "native",     "thread / process", "other"};

rp_legend rp_legend_of(const pf_func *fn) {
    switch (fn->kind) {
    case PF_FUNC_NATIVE: return RP_NATIVE;
    case PF_FUNC_THREAD:
    case PF_FUNC_PROCESS: return RP_ROOT;
    case PF_FUNC_OTHER: return RP_OTHER;
    default: break;
    }
    switch (fn->origin) {
    case PF_ORIGIN_STDLIB: return RP_STDLIB;
    case PF_ORIGIN_THIRD_PARTY: return RP_THIRD_PARTY;
    default: return RP_OWN;
    }
}
