/* test_report.c — what every output reads below the writers: a file's origin
 * (profile/origin.c, and sampler/paths.c which shortens by it), the one
 * sibling order (report/order.c), the display tree (report/tree.c), and a
 * function's origin kept through folded stacks written and read back. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "input/folded_read.h"
#include "output/writer.h"
#include "profile/origin.h"
#include "profile/profile.h"
#include "report/legend.h"
#include "report/lines.h"
#include "report/order.h"
#include "report/tree.h"
#include "sampler/paths.h"

static const struct {
    const char *path;
    pf_origin origin;
    const char *rest;
} paths[] = {
    {"/usr/lib/python3.12/threading.py", PF_ORIGIN_STDLIB, "threading.py"},
    {"/usr/lib/python3.12/json/encoder.py", PF_ORIGIN_STDLIB, "json/encoder.py"},
    {"/var/lib/pyflare/py313t/lib/python3.13t/threading.py", PF_ORIGIN_STDLIB, "threading.py"},
    {"/opt/py/lib/python3.14td/threading.py", PF_ORIGIN_STDLIB, "threading.py"},
    {"/usr/lib/python2.7/threading.py", PF_ORIGIN_STDLIB, "threading.py"},
    {"/usr/lib64/python3.12/lib-dynload/x.py", PF_ORIGIN_STDLIB, "lib-dynload/x.py"},
    {"/usr/lib/python3/dist-packages/apt/cache.py", PF_ORIGIN_THIRD_PARTY, "apt/cache.py"},
    {"/v/lib/python3.13t/site-packages/numpy/core.py", PF_ORIGIN_THIRD_PARTY, "numpy/core.py"},
    {"/a/site-packages/b/site-packages/c.py", PF_ORIGIN_THIRD_PARTY, "c.py"},
    {"<frozen importlib._bootstrap>", PF_ORIGIN_STDLIB, "<frozen importlib._bootstrap>"},
    {"/home/u/app/main.py", PF_ORIGIN_OWN, "/home/u/app/main.py"},
    {"/home/u/lib/pythonic/x.py", PF_ORIGIN_OWN, "/home/u/lib/pythonic/x.py"},
    {"/home/u/mylib/python3.12/x.py", PF_ORIGIN_OWN, "/home/u/mylib/python3.12/x.py"},
    {"/home/u/my-site-packages/x.py", PF_ORIGIN_OWN, "/home/u/my-site-packages/x.py"},
    /* Shortened names: the bare ones cannot say; those that keep their root (folded output) do. */
    {"threading.py", PF_ORIGIN_OWN, "threading.py"},
    {"lib/python3.12/threading.py", PF_ORIGIN_STDLIB, "threading.py"},
    {"lib/python3.13t/threading.py", PF_ORIGIN_STDLIB, "threading.py"},
    {"lib/python3/json/encoder.py", PF_ORIGIN_STDLIB, "json/encoder.py"},
    {"site-packages/django/db/models/query.py", PF_ORIGIN_THIRD_PARTY, "django/db/models/query.py"},
    {"dist-packages/apt/cache.py", PF_ORIGIN_THIRD_PARTY, "apt/cache.py"},
    {"", PF_ORIGIN_OWN, ""},
};

static void test_origin_of_path(void) {
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *rest = NULL;
        pf_origin o = pf_origin_of_path(paths[i].path, &rest);
        if (o != paths[i].origin)
            fprintf(stderr, "origin of %s\n", paths[i].path);
        CHECK_EQ_INT(o, paths[i].origin);
        CHECK_EQ_STR(rest, paths[i].rest);
    }
    /* The sampler shortens by the same rule, and the script's own directory. */
    char out[256];
    CHECK_EQ_INT(sampler_shorten_path("/p/lib/python3.13t/threading.py", "/home/u", out, sizeof out), PF_ORIGIN_STDLIB);
    CHECK_EQ_STR(out, "threading.py");
    CHECK_EQ_INT(sampler_shorten_path("/home/u/app/x.py", "/home/u", out, sizeof out), PF_ORIGIN_OWN);
    CHECK_EQ_STR(out, "app/x.py");
    CHECK_EQ_INT(sampler_shorten_path("/home/u/site-packages/p/m.py", "/home/u", out, sizeof out),
                 PF_ORIGIN_THIRD_PARTY);
    CHECK_EQ_STR(out, "p/m.py");
    /* The root a shortened name needs to say its origin again. */
    char root[64];
    pf_origin_root_for("threading.py", PF_ORIGIN_STDLIB, "3.13.5", root, sizeof root);
    CHECK_EQ_STR(root, "lib/python3.13/");
    pf_origin_root_for("threading.py", PF_ORIGIN_STDLIB, "", root, sizeof root);
    CHECK_EQ_STR(root, "lib/python3/");
    pf_origin_root_for("django/db.py", PF_ORIGIN_THIRD_PARTY, "3.12.1", root, sizeof root);
    CHECK_EQ_STR(root, "site-packages/");
    pf_origin_root_for("/usr/lib/python3.12/threading.py", PF_ORIGIN_STDLIB, "3.12.1", root, sizeof root);
    CHECK_EQ_STR(root, "");
    pf_origin_root_for("app.py", PF_ORIGIN_OWN, "3.12.1", root, sizeof root);
    CHECK_EQ_STR(root, "");
}

static pf_frame_id frame(pf_profile *p, const char *name, const char *file, int line) {
    pf_func_id f = pf_func_intern(p, pf_intern(p, name), pf_intern(p, file), 0, PF_FUNC_PYTHON);
    return pf_frame_intern(p, f, line);
}

static const char *label(const pf_profile *p, pf_frame_id fr) {
    static char buf[256];
    out_frame_label(p, fr, buf, sizeof buf);
    return buf;
}

/* Siblings seen in an order unlike the one order, each with weight w[i]. */
static const char *const want_order[] = {"f (app.py:9)", "f (app.py:10)", "f (b.py:2)", "f_x (app.py:1)", "g (a.py:5)"};

static pf_profile *sibling_profile(void) {
    pf_profile *p = pf_profile_new();
    pf_frame_id main_ = frame(p, "main", "app.py", 1);
    pf_frame_id kids[] = {frame(p, "g", "a.py", 5), frame(p, "f", "app.py", 10), frame(p, "f_x", "app.py", 1),
                          frame(p, "f", "b.py", 2), frame(p, "f", "app.py", 9)};
    for (size_t i = 0; i < 5; i++) {
        pf_frame_id stack[] = {main_, kids[i]};
        pf_sample_add(p, pf_node_path(p, PF_ROOT, stack, 2), 0, 0, 10 + i);
    }
    pf_profile_finish(p);
    return p;
}

static void test_order_and_tree(void) {
    pf_profile *p = sibling_profile();
    uint32_t *rank = rp_frame_ranks(p);
    CHECK(rank != NULL);
    size_t nframes;
    pf_frames(p, &nframes);
    CHECK_EQ_INT(rank[0], 0);
    for (size_t i = 1; i < nframes; i++)
        for (size_t j = 1; j < nframes; j++)
            CHECK_EQ_INT(rank[i] < rank[j], rp_frame_cmp(p, (pf_frame_id)i, p, (pf_frame_id)j) < 0);

    rp_tree t;
    CHECK_EQ_INT(rp_tree_build(p, 0, 0, 1, rank, &t), 0);
    CHECK_EQ_INT(t.len, 7);
    CHECK_EQ_INT(t.n[0].total, 10 + 11 + 12 + 13 + 14);
    uint32_t m = t.n[0].first_child;
    CHECK_EQ_STR(label(p, t.n[m].frame), "main (app.py:1)");
    CHECK_EQ_INT(t.n[m].total, t.n[0].total);
    size_t k = 0;
    for (uint32_t c = t.n[m].first_child; c; c = t.n[c].next_sibling, k++)
        CHECK_EQ_STR(label(p, t.n[c].frame), want_order[k]);
    CHECK_EQ_INT(k, 5);
    uint32_t order[7];
    CHECK_EQ_INT(rp_tree_preorder(&t, order), 7);
    CHECK_EQ_INT(order[1], m);
    CHECK_EQ_STR(label(p, t.n[order[2]].frame), "f (app.py:9)");
    CHECK_EQ_INT(t.src[order[1]] != 0, 1);
    rp_tree_free(&t);

    /* Pruned: min 12 of 60 units of width keeps weights >= 12 * total / 60 = 12. */
    CHECK_EQ_INT(rp_tree_build(p, 0, 12, 60, NULL, &t), 0);
    m = t.n[0].first_child;
    CHECK_EQ_INT(t.n[m].narrow_n, 2); /* g (10) and f app.py:10 (11) */
    CHECK_EQ_INT(t.n[m].narrow_w, 21);
    k = 0;
    for (uint32_t c = t.n[m].first_child; c; c = t.n[c].next_sibling)
        k++;
    CHECK_EQ_INT(k, 3);
    rp_tree_free(&t);

    /* Leaf first: the leaves are the root's children, in the same order; main under each. */
    CHECK_EQ_INT(rp_tree_build(p, 1, 0, 1, rank, &t), 0);
    k = 0;
    for (uint32_t c = t.n[0].first_child; c; c = t.n[c].next_sibling, k++) {
        CHECK_EQ_STR(label(p, t.n[c].frame), want_order[k]);
        CHECK_EQ_STR(label(p, t.n[t.n[c].first_child].frame), "main (app.py:1)");
    }
    CHECK_EQ_INT(k, 5);
    CHECK(t.src == NULL);
    rp_tree_free(&t);
    free(rank);
    pf_profile_free(p);
}

/* As the sampler records them: shortened names, the origin set from the whole path. */
static void test_origin_through_folded(void) {
    static const struct {
        const char *name, *path;
        rp_legend want;
    } funcs[] = {
        {"Thread.run", "/usr/lib/python3.13t/threading.py", RP_STDLIB},
        {"encode", "/usr/lib/python3.12/json/encoder.py", RP_STDLIB},
        {"query", "/v/lib/python3.12/site-packages/django/db/query.py", RP_THIRD_PARTY},
        {"apt", "/usr/lib/python3/dist-packages/apt/cache.py", RP_THIRD_PARTY},
        {"main", "/home/u/app.py", RP_OWN},
        {"boot", "<frozen importlib._bootstrap>", RP_STDLIB},
    };
    enum { N = sizeof funcs / sizeof funcs[0] };
    for (int full = 0; full < 2; full++) {
        pf_profile *p = pf_profile_new();
        pf_meta meta = *pf_profile_meta_const(p);
        meta.python = pf_intern(p, "3.13.5");
        pf_profile_set_meta(p, &meta);
        pf_frame_id stack[N];
        for (size_t i = 0; i < N; i++) {
            char shown[256];
            pf_origin o = sampler_shorten_path(funcs[i].path, "/home/u", shown, sizeof shown);
            pf_func_id f = pf_func_intern(p, pf_intern(p, funcs[i].name), pf_intern(p, full ? funcs[i].path : shown),
                                          1, PF_FUNC_PYTHON);
            pf_func_set_origin(p, f, o);
            stack[i] = pf_frame_intern(p, f, 3);
        }
        pf_sample_add(p, pf_node_path(p, PF_ROOT, stack, N), 0, 0, 1);
        pf_profile_finish(p);
        size_t n;
        const pf_func *fn = pf_funcs(p, &n);
        for (size_t i = 1; i < n; i++)
            CHECK_EQ_INT(rp_legend_of(&fn[i]), funcs[i - 1].want);

        FILE *tmp = tmpfile();
        pf_error err = {0};
        CHECK_EQ_INT(out_write_folded(p, tmp, NULL, &err), 0);
        rewind(tmp);
        pf_profile *back = pf_profile_new();
        CHECK_EQ_INT(in_read_folded(tmp, "tmp", back, 0, NULL, &err), 0);
        pf_profile_finish(back);
        fclose(tmp);
        fn = pf_funcs(back, &n);
        CHECK_EQ_INT(n, N + 1);
        for (size_t i = 1; i < n; i++) {
            size_t j = 0;
            while (j < N && strcmp(funcs[j].name, pf_str(back, fn[i].name)))
                j++;
            CHECK(j < N);
            if (j < N)
                CHECK_EQ_INT(rp_legend_of(&fn[i]), funcs[j].want);
        }
        pf_profile_free(back);
        pf_profile_free(p);
    }
}

int main(void) {
    test_origin_of_path();
    test_order_and_tree();
    test_origin_through_folded();
    return check_report("test_report");
}
