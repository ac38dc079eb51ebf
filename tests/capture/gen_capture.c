/* gen_capture.c — a synthetic recording the size of a long real one, for the
 * capture's size figure (tests/capture/run.py): SECONDS at 1 kHz of THREADS
 * threads, every thread sampled at each tick (the sampler's way), each sample
 * stamped with its tick's slot, 1 ms apart (as the sampler stamps them), CPU weights mostly
 * 1 and now and then 2 (a step of CPU time shared late). Stacks as
 * tests/formats_visual/gen_profile.c draws them (its function set and
 * walk, rate and timing changed): a pool of 4000 stacks grown from each
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/writer.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

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
    if (nsamples < 0 || nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "gen_capture: bad arguments\n");
        return 2;
    }
    pf_profile *p = pf_profile_new();
    if (!p)
        return 1;
    pf_meta meta = *pf_profile_meta_const(p);
    meta.mode = PF_MODE_SAMPLED;
    meta.rate_hz = 1000;
    meta.period_ns = 1000000;
    meta.cpu_weighted = 1;
    pf_profile_log_samples(p, 1);

    static const char *const files[] = {
        "app/main.py", "app/models/user.py", "app/views.py", "/usr/lib/python3.11/json/decoder.py",
        "/usr/lib/python3.11/threading.py", "/srv/venv/lib/python3.11/site-packages/requests/sessions.py",
        "/srv/venv/lib/python3.11/site-packages/numpy/core/fromnumeric.py", "/usr/lib/python3.11/socket.py",
    };
    static const char *const names[] = {
        "main", "User.save", "handle_request", "JSONDecoder.decode", "Thread.run", "Session.request", "sum",
        "socket.recv_into", "render", "validate", "parse_args", "Model.__init__", "compute", "<listcomp>",
        "_bootstrap_inner", "loop",
    };
    static const char *const evil[] = {
        "<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>", "&amp;", "]]>", "ctl\x01\x1b[31m",
        "bad\xff\xfeutf8", "</script><script>alert(2)</script>", "\xe2\x80\xa8sep", "<!--", "{{7*7}}",
    };
    enum { NF = 64 };
    pf_frame_id frames[NF];
    for (int i = 0; i < NF; i++) {
        const char *name = names[i % 16];
        char buf[128];
        if (hostile && i % 3 == 0)
            name = evil[(i / 3) % 10];
        snprintf(buf, sizeof buf, "%s%s", name, i >= 16 ? (i >= 32 ? "_b" : "_a") : "");
        const char *file = hostile && i % 5 == 0 ? "<img src=x onerror=alert(3)>.py" : files[i % 8];
        pf_func_kind kind = i % 16 == 6 ? PF_FUNC_NATIVE : PF_FUNC_PYTHON;
        pf_func_id fn = pf_func_intern(p, pf_intern(p, buf), pf_intern(p, kind == PF_FUNC_NATIVE ? "" : file), 1, kind);
        frames[i] = pf_frame_intern(p, fn, 10 + i);
    }
    uint32_t th[64];
    for (long t = 0; t < nthreads; t++) {
        char name[64];
        if (hostile && t == 1)
            snprintf(name, sizeof name, "<b onmouseover=alert(4)>worker</b>");
        else
            snprintf(name, sizeof name, t ? "worker-%ld" : "MainThread", t);
        th[t] = pf_thread_add(p, 0, 0x7f0000001000ull + (uint64_t)t * 0x1000, 1000 + t, name);
    }
    pf_process_add(p, 1000, "python app.py");

    /* A pool of distinct stacks, each grown from an earlier one's prefix (as a
     * program's call tree is), drawn with a skewed (Zipf-like) frequency; a
     * thread stays in one stack for a few samples, as real threads do. */
    enum { POOL = 4000, MAXD = 48 };
    static pf_node_id pool[POOL];
    static uint8_t pdepth[POOL];
    static uint8_t pframes[POOL][MAXD];
    for (int k = 0; k < POOL; k++) {
        int d;
        if (k == 0) {
            d = 4;
            for (int i = 0; i < d; i++)
                pframes[k][i] = (uint8_t)(next_rand() % NF);
        } else {
            int from = (int)(next_rand() % (uint32_t)k), keep = 1 + (int)(next_rand() % pdepth[from]);
            d = keep + 1 + (int)(next_rand() % 6);
            if (d > MAXD)
                d = MAXD;
            memcpy(pframes[k], pframes[from], (size_t)keep);
            for (int i = keep; i < d; i++)
                pframes[k][i] = (uint8_t)(next_rand() % NF);
        }
        pdepth[k] = (uint8_t)d;
        pf_frame_id fr[MAXD];
        for (int i = 0; i < d; i++)
            fr[i] = frames[pframes[k][i]];
        pool[k] = pf_node_path(p, PF_ROOT, fr, (size_t)d);
    }
    enum { HOT = 64 };
    static uint32_t hot[64][HOT];
    for (long t = 0; t < nthreads; t++)
        for (int i = 0; i < HOT; i++) {
            double u = (next_rand() % 1000000 + 1) / 1000000.0;
            hot[t][i] = (uint32_t)(POOL * u * u * u) % POOL;
        }
    uint32_t cur[64], left[64] = {0};
    FILE *folded = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%.*s.folded", (int)(strlen(out) - strlen(".pyflare")), out);
    folded = fopen(path, "w");
    uint64_t time_ns = 0;
    for (long s = 0; s < nsamples; s++) {
        long t = s % nthreads;
        if (!left[t] && hop) {
            /* Zipf-like: small indexes far more often */
            double u = (next_rand() % 1000000 + 1) / 1000000.0;
            cur[t] = (uint32_t)(POOL * u * u * u) % POOL;
            left[t] = 1 + next_rand() % 10;
        } else if (!left[t]) {
            double u = (next_rand() % 1000000 + 1) / 1000000.0;
            cur[t] = next_rand() % 50 ? hot[t][(uint32_t)(HOT * u * u) % HOT] : next_rand() % POOL;
            left[t] = t == 0 ? 200 + next_rand() % 1801 : 1 + next_rand() % 20;
        }
        left[t]--;
        pf_node_id node = pool[cur[t]];
        if (t == 0) /* a tick: every thread is sampled at its time */
            time_ns = (uint64_t)(s / nthreads + 1) * 1000000; /* each sample stamped with its slot, as the sampler does */
        pf_sample_add(p, node, th[t], time_ns, next_rand() % 50 ? 1 : 2);
    }
    meta.duration_ns = time_ns;
    pf_profile_set_meta(p, &meta);
    pf_profile_finish(p);
    meta.cpu_ns = pf_total_weight(p) * meta.period_ns;
    pf_profile_set_meta(p, &meta);
    pf_error err = {0};
    out_options o = {.minwidth = 0.1, .title = hostile ? "<script>alert(5)</script> title" : "synthetic",
                     .subtitle = hostile ? "\"'><img src=x onerror=alert(6)>" : NULL};
    const out_format *fmt = out_format_for_path(out);
    if (!fmt || out_write_file(p, fmt, out, &o, &err) != 0) {
        fprintf(stderr, "gen_capture: %s\n", fmt ? err.msg : "unknown format");
        return 1;
    }
    if (folded) {
        out_write_folded(p, folded, &o, &err);
        fclose(folded);
    }
    pf_profile_free(p);
    return 0;
}
