/* test_aggregate_under.c — report/aggregate.c over one subtree (a thread, for
 * `pyflare top`'s thread view) and with a class per frame (top's line rows).
 *
 * The truth is written by hand from the tree built here: per function or
 * line, own weight and the inclusive weight counting a stack once however
 * often the function (or line) recurs on it. */
#include <stdlib.h>

#include "check.h"
#include "profile/profile.h"
#include "report/aggregate.h"

static pf_profile *p;
static pf_frame_id a1, a2, b5, c7;
static pf_func_id fa, fb, fc;
static pf_node_id t1, t2;

static void add(pf_node_id from, const pf_frame_id *frames, size_t n, uint64_t w) {
    pf_sample_add(p, pf_node_path(p, from, frames, n), 0, 0, w);
}

static void build(void) {
    p = pf_profile_new();
    fa = pf_func_intern(p, pf_intern(p, "a"), pf_intern(p, "m.py"), 1, PF_FUNC_PYTHON);
    fb = pf_func_intern(p, pf_intern(p, "b"), pf_intern(p, "m.py"), 5, PF_FUNC_PYTHON);
    fc = pf_func_intern(p, pf_intern(p, "c"), pf_intern(p, "m.py"), 7, PF_FUNC_PYTHON);
    a1 = pf_frame_intern(p, fa, 1);
    a2 = pf_frame_intern(p, fa, 2);
    b5 = pf_frame_intern(p, fb, 5);
    c7 = pf_frame_intern(p, fc, 7);
    pf_func_id th1 = pf_func_intern(p, pf_intern(p, "thread one"), 0, 0, PF_FUNC_THREAD);
    pf_func_id th2 = pf_func_intern(p, pf_intern(p, "thread two"), 0, 0, PF_FUNC_THREAD);
    t1 = pf_node_child(p, PF_ROOT, pf_frame_intern(p, th1, 0));
    t2 = pf_node_child(p, PF_ROOT, pf_frame_intern(p, th2, 0));
    add(t1, (pf_frame_id[]){a1, a2, b5}, 3, 3);
    add(t1, (pf_frame_id[]){a1, a2}, 2, 2);
    add(t1, (pf_frame_id[]){a1, a1, b5}, 3, 4); /* the same line recurs */
    add(t2, (pf_frame_id[]){a1}, 1, 1);
    add(t2, (pf_frame_id[]){a1, c7}, 2, 5);
}

/* Classes: every function its own, the thread roots none. */
static uint32_t *by_function(size_t *n) {
    size_t nfn;
    const pf_func *funcs = pf_funcs(p, &nfn);
    uint32_t *cls = calloc(nfn, sizeof *cls);
    for (size_t f = 1; f < nfn; f++)
        cls[f] = funcs[f].kind == PF_FUNC_THREAD ? 0 : (uint32_t)f;
    *n = nfn;
    return cls;
}

static uint32_t *by_frame(size_t *n) {
    size_t nfr, nfn;
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_func *funcs = pf_funcs(p, &nfn);
    uint32_t *cls = calloc(nfr, sizeof *cls);
    for (size_t i = 1; i < nfr; i++)
        cls[i] = funcs[frames[i].func].kind == PF_FUNC_THREAD ? 0 : (uint32_t)i;
    *n = nfr;
    return cls;
}

static void test_functions(void) {
    size_t n;
    uint32_t *cls = by_function(&n);
    out_agg a;
    CHECK_EQ_INT(out_aggregate_under(p, t1, cls, n, 0, &a), 0);
    CHECK_EQ_INT(a.grand_total, 9);
    CHECK_EQ_INT(a.fns[fa].self, 2);
    CHECK_EQ_INT(a.fns[fa].total, 9); /* a a b counts once */
    CHECK_EQ_INT(a.fns[fb].self, 7);
    CHECK_EQ_INT(a.fns[fb].total, 7);
    CHECK_EQ_INT(a.fns[fc].total, 0); /* thread two's only */
    out_agg_free(&a);
    CHECK_EQ_INT(out_aggregate_under(p, t2, cls, n, 0, &a), 0);
    CHECK_EQ_INT(a.grand_total, 6);
    CHECK_EQ_INT(a.fns[fa].self, 1);
    CHECK_EQ_INT(a.fns[fa].total, 6);
    CHECK_EQ_INT(a.fns[fc].self, 5);
    CHECK_EQ_INT(a.fns[fb].total, 0);
    out_agg_free(&a);
    /* The whole tree: the same as out_aggregate, both threads. */
    CHECK_EQ_INT(out_aggregate_under(p, PF_ROOT, cls, n, 0, &a), 0);
    CHECK_EQ_INT(a.grand_total, 15);
    CHECK_EQ_INT(a.fns[fa].total, 15);
    CHECK_EQ_INT(a.fns[fa].self, 3);
    out_agg_free(&a);
    free(cls);
}

static void test_frames(void) {
    size_t n;
    uint32_t *cls = by_frame(&n);
    out_agg a;
    CHECK_EQ_INT(out_aggregate_under(p, t1, cls, n, OUT_AGG_BY_FRAME, &a), 0);
    CHECK_EQ_INT(a.nclasses, n);
    CHECK_EQ_INT(a.fns[a1].self, 0);
    CHECK_EQ_INT(a.fns[a1].total, 9); /* a:1 a:1 b counts once */
    CHECK_EQ_INT(a.fns[a2].self, 2);
    CHECK_EQ_INT(a.fns[a2].total, 5);
    CHECK_EQ_INT(a.fns[b5].self, 7);
    CHECK_EQ_INT(a.fns[b5].total, 7);
    CHECK_EQ_INT(a.fns[c7].total, 0);
    out_agg_free(&a);
    CHECK_EQ_INT(out_aggregate_under(p, PF_ROOT, cls, n, OUT_AGG_BY_FRAME, &a), 0);
    CHECK_EQ_INT(a.fns[a1].self, 1);
    CHECK_EQ_INT(a.fns[a1].total, 15);
    CHECK_EQ_INT(a.fns[c7].self, 5);
    out_agg_free(&a);
    free(cls);
}

int main(void) {
    build();
    test_functions();
    test_frames();
    pf_profile_free(p);
    return check_report("aggregate_under");
}
