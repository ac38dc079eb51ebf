/* svg.c — the svg writer (not written yet). */
#include "output/writer.h"

int out_write_svg(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    (void)p, (void)f, (void)o;
    return pf_fail(err, PF_ERR_USAGE, "the svg format is not available yet");
}
