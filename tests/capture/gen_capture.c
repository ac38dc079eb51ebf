/* gen_capture.c — a synthetic recording the size of a long real one, for the
 * capture's size figure (tests/capture/run.py): SECONDS at 1 kHz of THREADS
 * threads, every thread sampled at each tick (the sampler's way), each sample
 * stamped with its tick's slot, 1 ms apart (as the sampler stamps them), CPU weights mostly
 * 1 and now and then 2 (a step of CPU time shared late). Functions, threads
 * and stacks are tests/synthetic_profile.h's (shared with
 * tests/formats_visual/gen_profile.c): a pool of 4000 stacks grown from each
 * other. Two ways to move among them (MODEL):
 *   hop   (adversarial) every thread hops at random over the whole pool,
 *         Zipf-like, staying 1-10 samples in a stack: each sample is nearly
 *         a fresh draw from 4000, which no per-thread context predicts, so
 *         the capture grows about a byte per stack change while the folded
 *         text stays the pool's size;
 *   real  (default) like a program: each thread has its own hot set of 64
 *         stacks it loops over (Zipf-like within it), staying 1-20 samples
 *         in one, leaving it for any stack of the pool 1 time in 50; thread
 *         0 mostly waits (runs of 200-2000 samples in one stack).
 *
 *   gen_capture SECONDS THREADS OUT.pyflare [hostile] [hop|real]
 *                                               (also writes OUT.folded)
 */
#include "../synthetic_profile.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: gen_capture SECONDS THREADS OUT\n");
        return 2;
    }
    long nsamples = atol(argv[1]) * 1000 * atol(argv[2]), nthreads = atol(argv[2]);
    const char *out = argv[3];
    int hostile = 0, hop = 0;
    for (int i = 4; i < argc; i++) {
        hostile |= !strcmp(argv[i], "hostile");
        hop |= !strcmp(argv[i], "hop");
    }
    int status;
    pf_profile *p = synth_new(nsamples, nthreads, 1000, "gen_capture", &status);
    if (!p)
        return status;
    pf_meta meta = *pf_profile_meta_const(p);
    meta.cpu_weighted = 1;

    pf_frame_id frames[SYNTH_NF];
    uint32_t th[SYNTH_MAX_THREADS];
    synth_names(p, hostile, nthreads, frames, th);
    static pf_node_id pool[SYNTH_POOL];
    synth_pool(p, frames, pool);
    enum { HOT = 64 };
    static uint32_t hot[SYNTH_MAX_THREADS][HOT];
    for (long t = 0; t < nthreads; t++)
        for (int i = 0; i < HOT; i++)
            hot[t][i] = synth_zipf3(SYNTH_POOL);
    uint32_t cur[SYNTH_MAX_THREADS], left[SYNTH_MAX_THREADS] = {0};
    uint64_t time_ns = 0;
    for (long s = 0; s < nsamples; s++) {
        long t = s % nthreads;
        if (!left[t] && hop) {
            cur[t] = synth_zipf3(SYNTH_POOL);
            left[t] = 1 + next_rand() % 10;
        } else if (!left[t]) {
            double u = (next_rand() % 1000000 + 1) / 1000000.0;
            cur[t] = next_rand() % 50 ? hot[t][(uint32_t)(HOT * u * u) % HOT] : next_rand() % SYNTH_POOL;
            left[t] = t == 0 ? 200 + next_rand() % 1801 : 1 + next_rand() % 20;
        }
        left[t]--;
        if (t == 0) /* a tick: every thread is sampled at its time */
            time_ns = (uint64_t)(s / nthreads + 1) * 1000000; /* each sample stamped with its slot, as the sampler does */
        pf_sample_add(p, pool[cur[t]], th[t], time_ns, next_rand() % 50 ? 1 : 2);
    }
    meta.duration_ns = time_ns;
    pf_profile_set_meta(p, &meta);
    pf_profile_finish(p);
    meta.cpu_ns = pf_total_weight(p) * meta.period_ns;
    pf_profile_set_meta(p, &meta);
    char folded[4096];
    snprintf(folded, sizeof folded, "%.*s.folded", (int)(strlen(out) - strlen(".pyflare")), out);
    return synth_write(p, hostile, out, folded, "gen_capture");
}
