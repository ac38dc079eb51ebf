/* gen_profile.c — builds a synthetic sampled profile with a time-ordered
 * sample log and writes it in any format, for the visual format tests (folded
 * input carries no timeline, so the html timeline needs this).
 *
 *   gen_profile SAMPLES THREADS OUT [hostile]
 *
 * Stacks come from a fixed random walk over a realistic set of Python
 * functions (own code, standard library, third-party, native: the set
 * tests/synthetic_profile.h makes, shared with tests/capture), so the same
 * arguments always give the same profile. With "hostile", function, file and
 * thread names carry markup, quotes, control characters and invalid UTF-8.
 * Also writes OUT.folded beside it (the same stacks) for expectations. */
#include "../synthetic_profile.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: gen_profile SAMPLES THREADS OUT [hostile]\n");
        return 2;
    }
    long nsamples = atol(argv[1]), nthreads = atol(argv[2]);
    const char *out = argv[3];
    int hostile = argc > 4 && !strcmp(argv[4], "hostile");
    int status;
    pf_profile *p = synth_new(nsamples, nthreads, 100, "gen_profile", &status);
    if (!p)
        return status;

    pf_frame_id frames[SYNTH_NF];
    uint32_t th[SYNTH_MAX_THREADS];
    synth_names(p, hostile, nthreads, frames, th);
    static pf_node_id pool[SYNTH_POOL];
    synth_pool(p, frames, pool);
    uint32_t cur[SYNTH_MAX_THREADS], left[SYNTH_MAX_THREADS] = {0};
    uint64_t time_ns = 0;
    for (long s = 0; s < nsamples; s++) {
        long t = s % nthreads;
        if (!left[t]) {
            cur[t] = synth_zipf3(SYNTH_POOL);
            left[t] = 1 + next_rand() % 10;
        }
        left[t]--;
        time_ns += 10000000 / (uint64_t)nthreads;
        pf_sample_add(p, pool[cur[t]], th[t], time_ns, 1);
    }
    pf_meta m = *pf_profile_meta_const(p);
    m.duration_ns = time_ns;
    pf_profile_set_meta(p, &m);
    pf_profile_finish(p);
    char folded[4096];
    snprintf(folded, sizeof folded, "%s.folded", out);
    return synth_write(p, hostile, out, folded, "gen_profile");
}
