/* callgrind.c — the callgrind writer (not written yet). */
#include "output/writer.h"

int out_write_callgrind(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    (void)p, (void)f, (void)o;
    return pf_fail(err, PF_ERR_USAGE, "the callgrind format is not available yet");
}
