/* top_source.c — the one place that tells `pyflare top`'s two sample sources
 * apart (see top_source.h). */
#include "cli/top_source.h"

int top_source_run(top_source *s, volatile sig_atomic_t *stop, sampler_progress_fn progress, void *arg,
                   pf_error *err) {
    if (s->replay)
        return top_replay_run(s->replay, s->profile, stop, progress, arg);
    return sampler_run(s->live, stop, progress, arg, err);
}

const sampler_stats *top_source_stats(const top_source *s) {
    return s->replay ? top_replay_stats(s->replay) : sampler_get_stats(s->live);
}
