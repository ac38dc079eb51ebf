/* synthetic_profile.h — what the two synthetic-profile generators share
 * (tests/formats_visual/gen_profile.c, the visual format tests' profile with
 * a timeline; tests/capture/gen_capture.c, the capture's size figure): a
 * fixed pseudo-random sequence, a realistic set of Python functions (own
 * code, standard library, third-party, native) made hostile on request
 * (markup, quotes, control characters, invalid UTF-8 in function, file and
 * thread names), the threads and process, a pool of stacks grown from each
 * other, and writing the profile with its folded text beside it.
 *
 * Each generator is one C file built on its own against libpyflare.a (by its
 * suite's run.py), so this header holds static functions; the order of the
 * draws is the generators' own, and their output the same as before the two
 * shared it. Include it as "../synthetic_profile.h". */
#ifndef PYFLARE_TESTS_SYNTHETIC_PROFILE_H
#define PYFLARE_TESTS_SYNTHETIC_PROFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/writer.h"

enum {
    SYNTH_NF = 64,          /* distinct frames */
    SYNTH_POOL = 4000,      /* distinct stacks */
    SYNTH_MAXD = 48,        /* the deepest stack */
    SYNTH_MAX_THREADS = 64,
};

static uint64_t synth_rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {
    synth_rng ^= synth_rng << 13;
    synth_rng ^= synth_rng >> 7;
    synth_rng ^= synth_rng << 17;
    return (uint32_t)(synth_rng >> 11);
}

/* A draw in [0, n) that favours small values (Zipf-like): u^3 for u uniform
 * in (0, 1]. */
static uint32_t synth_zipf3(uint32_t n) {
    double u = (next_rand() % 1000000 + 1) / 1000000.0;
    return (uint32_t)(n * u * u * u) % n;
}

/* A new sampled profile at rate_hz that logs its samples, for nsamples
 * samples of nthreads threads; or NULL with *status the exit status (2: bad
 * arguments, said on stderr naming prog; 1: out of memory). */
static pf_profile *synth_new(long nsamples, long nthreads, uint32_t rate_hz, const char *prog, int *status) {
    *status = 2;
    if (nsamples < 0 || nthreads < 1 || nthreads > SYNTH_MAX_THREADS) {
        fprintf(stderr, "%s: bad arguments\n", prog);
        return NULL;
    }
    *status = 1;
    pf_profile *p = pf_profile_new();
    if (!p)
        return NULL;
    pf_meta m = *pf_profile_meta_const(p);
    m.mode = PF_MODE_SAMPLED;
    m.rate_hz = rate_hz;
    m.period_ns = 1000000000u / rate_hz;
    pf_profile_set_meta(p, &m);
    pf_profile_log_samples(p, 1);
    return p;
}

/* The frames (16 names under 8 files, three times over with suffixes; one
 * name in 16 native), then the threads ("MainThread", "worker-N") in th and
 * their process. */
static void synth_names(pf_profile *p, int hostile, long nthreads, pf_frame_id frames[SYNTH_NF], uint32_t *th) {
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
    for (int i = 0; i < SYNTH_NF; i++) {
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
    for (long t = 0; t < nthreads; t++) {
        char name[64];
        if (hostile && t == 1)
            snprintf(name, sizeof name, "<b onmouseover=alert(4)>worker</b>");
        else
            snprintf(name, sizeof name, t ? "worker-%ld" : "MainThread", t);
        th[t] = pf_thread_add(p, 0, 0x7f0000001000ull + (uint64_t)t * 0x1000, 1000 + t, name);
    }
    pf_process_add(p, 1000, "python app.py");
}

/* A pool of distinct stacks, each grown from an earlier one's prefix (as a
 * program's call tree is); the generators draw from it with a skewed
 * (Zipf-like) frequency, a thread staying in one stack for a few samples, as
 * real threads do. */
static void synth_pool(pf_profile *p, const pf_frame_id frames[SYNTH_NF], pf_node_id pool[SYNTH_POOL]) {
    static uint8_t pdepth[SYNTH_POOL];
    static uint8_t pframes[SYNTH_POOL][SYNTH_MAXD];
    for (int k = 0; k < SYNTH_POOL; k++) {
        int d;
        if (k == 0) {
            d = 4;
            for (int i = 0; i < d; i++)
                pframes[k][i] = (uint8_t)(next_rand() % SYNTH_NF);
        } else {
            int from = (int)(next_rand() % (uint32_t)k), keep = 1 + (int)(next_rand() % pdepth[from]);
            d = keep + 1 + (int)(next_rand() % 6);
            if (d > SYNTH_MAXD)
                d = SYNTH_MAXD;
            memcpy(pframes[k], pframes[from], (size_t)keep);
            for (int i = keep; i < d; i++)
                pframes[k][i] = (uint8_t)(next_rand() % SYNTH_NF);
        }
        pdepth[k] = (uint8_t)d;
        pf_frame_id fr[SYNTH_MAXD];
        for (int i = 0; i < d; i++)
            fr[i] = frames[pframes[k][i]];
        pool[k] = pf_node_path(p, PF_ROOT, fr, (size_t)d);
    }
}

/* The finished profile written to out (its format by its extension), with
 * its title and subtitle hostile on request, and as folded text to
 * folded_path (when it opens); then freed. 0, or 1 with a line on stderr
 * naming prog. */
static int synth_write(pf_profile *p, int hostile, const char *out, const char *folded_path, const char *prog) {
    pf_error err = {0};
    out_options o = {.minwidth = 0.1, .title = hostile ? "<script>alert(5)</script> title" : "synthetic",
                     .subtitle = hostile ? "\"'><img src=x onerror=alert(6)>" : NULL};
    const out_format *fmt = out_format_for_path(out);
    if (!fmt || out_write_file(p, fmt, out, &o, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, fmt ? err.msg : "unknown format");
        return 1;
    }
    FILE *folded = fopen(folded_path, "w");
    if (folded) {
        out_write_folded(p, folded, &o, &err);
        fclose(folded);
    }
    pf_profile_free(p);
    return 0;
}

#endif
