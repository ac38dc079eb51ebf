/* mkprofile.c — builds a pf_profile from a small text description and writes
 * it in every format, so tests/formats/run.py can read each file back with its
 * real consumer and compare against truth it computed itself.
 *
 * Usage: mkprofile SPEC OUTDIR
 * SPEC lines (strings are "x" followed by hex bytes, so names can hold anything):
 *   mode sampled|traced
 *   meta PERIOD_NS RATE_HZ DURATION_NS START_UNIX_NS COMMAND PYTHON
 *   log 0|1                      sampled mode: keep the time-ordered sample log
 *   process PID COMMAND
 *   thread PROCESS THREAD_ID NATIVE_ID NAME
 *   func KIND FIRSTLINE NAME FILE   (KIND: python native thread process other; ids 1, 2, ... in order)
 *   sample THREAD TIME_NS WEIGHT FUNC:LINE...          root-first stack
 *   node SELF CALLS TOTAL FUNC:LINE...                 traced: sets the node's weights
 * Writes OUTDIR/out.{speedscope.json,callgrind,pprof,pstats,txt} and out.color.txt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/writer.h"
#include "profile/profile.h"

static char *unhex(const char *tok) {
    if (tok[0] != 'x') {
        fprintf(stderr, "mkprofile: bad string token %s\n", tok);
        exit(2);
    }
    size_t n = strlen(tok + 1) / 2;
    char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(tok + 1 + 2 * i, "%2x", &v);
        out[i] = (char)v;
    }
    out[n] = 0;
    return out;
}

static int kind_of(const char *s) {
    if (!strcmp(s, "native"))
        return PF_FUNC_NATIVE;
    if (!strcmp(s, "thread"))
        return PF_FUNC_THREAD;
    if (!strcmp(s, "process"))
        return PF_FUNC_PROCESS;
    if (!strcmp(s, "other"))
        return PF_FUNC_OTHER;
    return PF_FUNC_PYTHON;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: mkprofile SPEC OUTDIR\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 2;
    }
    pf_profile *p = pf_profile_new();
    pf_meta meta = *pf_profile_meta_const(p);
    pf_func_id funcs[4096];
    size_t nfuncs = 0;
    static char line[1 << 20];
    while (fgets(line, sizeof line, in)) {
        static char *tok[1 << 16];
        size_t n = 0;
        for (char *t = strtok(line, " \n"); t && n < sizeof tok / sizeof tok[0]; t = strtok(NULL, " \n"))
            tok[n++] = t;
        if (!n)
            continue;
        if (!strcmp(tok[0], "mode")) {
            meta.mode = !strcmp(tok[1], "traced") ? PF_MODE_TRACED : PF_MODE_SAMPLED;
            meta.weight_unit = meta.mode == PF_MODE_TRACED ? "nanoseconds" : "samples";
        } else if (!strcmp(tok[0], "meta")) {
            meta.period_ns = strtoull(tok[1], NULL, 10);
            meta.rate_hz = strtod(tok[2], NULL);
            meta.duration_ns = strtoull(tok[3], NULL, 10);
            meta.start_unix_ns = strtoull(tok[4], NULL, 10);
            char *cmd = unhex(tok[5]), *py = unhex(tok[6]);
            meta.command = pf_intern(p, cmd);
            meta.python = pf_intern(p, py);
            free(cmd);
            free(py);
        } else if (!strcmp(tok[0], "log")) {
            pf_profile_log_samples(p, atoi(tok[1]));
        } else if (!strcmp(tok[0], "process")) {
            char *cmd = unhex(tok[2]);
            pf_process_add(p, atoi(tok[1]), cmd);
            free(cmd);
        } else if (!strcmp(tok[0], "thread")) {
            char *name = unhex(tok[4]);
            pf_thread_add(p, (uint32_t)atoi(tok[1]), strtoull(tok[2], NULL, 10), strtoll(tok[3], NULL, 10),
                          *name ? name : NULL);
            free(name);
        } else if (!strcmp(tok[0], "func")) {
            char *name = unhex(tok[3]), *file = unhex(tok[4]);
            if (nfuncs + 1 >= sizeof funcs / sizeof funcs[0]) {
                fprintf(stderr, "mkprofile: too many functions\n");
                return 2;
            }
            funcs[++nfuncs] = pf_func_intern(p, pf_intern(p, name), pf_intern(p, file), atoi(tok[2]), kind_of(tok[1]));
            free(name);
            free(file);
        } else if (!strcmp(tok[0], "sample") || !strcmp(tok[0], "node")) {
            size_t first = 4;
            static pf_frame_id frames[1 << 16];
            size_t depth = 0;
            for (size_t i = first; i < n; i++) {
                int fn = 0, ln = 0;
                sscanf(tok[i], "%d:%d", &fn, &ln);
                frames[depth++] = pf_frame_intern(p, funcs[fn], ln);
            }
            pf_node_id node = pf_node_path(p, PF_ROOT, frames, depth);
            if (!strcmp(tok[0], "sample")) {
                pf_sample_add(p, node, (uint32_t)atoi(tok[1]), strtoull(tok[2], NULL, 10), strtoull(tok[3], NULL, 10));
            } else {
                /* What a tracer measures, set as a tracer sets it. */
                pf_node_set_weights(p, node, strtoull(tok[1], NULL, 10), strtoull(tok[3], NULL, 10),
                                    strtoull(tok[2], NULL, 10));
            }
        } else {
            fprintf(stderr, "mkprofile: unknown line %s\n", tok[0]);
            return 2;
        }
    }
    fclose(in);
    pf_profile_set_meta(p, &meta);
    if (meta.mode == PF_MODE_TRACED) {
        /* The root's total, as a tracer would leave it: everything below it. */
        size_t nn;
        const pf_node *nodes = pf_nodes(p, &nn);
        uint64_t sum = 0;
        for (pf_node_id c = nodes[0].first_child; c; c = nodes[c].next_sibling)
            sum += nodes[c].total;
        pf_node_set_weights(p, PF_ROOT, nodes[0].self, sum, nodes[0].calls);
    }
    pf_profile_finish(p);
    if (pf_profile_failed(p)) {
        fprintf(stderr, "mkprofile: out of memory\n");
        return 1;
    }
    static const char *const outs[][2] = {
        {"speedscope", "out.speedscope.json"}, {"callgrind", "out.callgrind"}, {"pprof", "out.pprof"},
        {"pstats", "out.pstats"}, {"text", "out.txt"}, {"folded", "out.folded"},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[2], outs[i][1]);
        out_options o = {.top = 50};
        pf_error err = {0};
        if (out_write_file(p, out_format_named(outs[i][0]), path, &o, &err) != 0) {
            fprintf(stderr, "mkprofile: %s: %s\n", outs[i][0], err.msg);
            rc = 1;
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/out.color.txt", argv[2]);
    out_options o = {.top = 5, .color = 1};
    pf_error err = {0};
    if (out_write_file(p, out_format_named("text"), path, &o, &err) != 0) {
        fprintf(stderr, "mkprofile: text: %s\n", err.msg);
        rc = 1;
    }
    pf_profile_free(p);
    return rc;
}
