/* html.c — the html writer (not written yet). */
#include "output/writer.h"

int out_write_html(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    (void)p, (void)f, (void)o;
    return pf_fail(err, PF_ERR_USAGE, "the html format is not available yet");
}
