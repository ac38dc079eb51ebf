/* test_profile.c — the profile model: interning, the trie's totals, and the
 * packed sample log read back exactly (including every escape case). */
#include <stdlib.h>

#include "check.h"
#include "profile/profile.h"

static void test_interning_and_totals(void) {
    pf_profile *p = pf_profile_new();
    pf_str_id a = pf_intern(p, "main"), b = pf_intern(p, "main");
    CHECK_EQ_INT(a, b);
    CHECK_EQ_STR(pf_str(p, a), "main");
    pf_func_id fmain = pf_func_intern(p, a, pf_intern(p, "app.py"), 1, PF_FUNC_PYTHON);
    pf_func_id fwork = pf_func_intern(p, pf_intern(p, "work"), pf_intern(p, "app.py"), 10, PF_FUNC_PYTHON);
    CHECK_EQ_INT(fmain, pf_func_intern(p, a, pf_intern(p, "app.py"), 1, PF_FUNC_PYTHON));
    pf_frame_id stack1[] = {pf_frame_intern(p, fmain, 2), pf_frame_intern(p, fwork, 11)};
    pf_frame_id stack2[] = {pf_frame_intern(p, fmain, 2)};
    pf_node_id leaf1 = pf_node_path(p, PF_ROOT, stack1, 2), leaf2 = pf_node_path(p, PF_ROOT, stack2, 1);
    CHECK_EQ_INT(pf_node_path(p, PF_ROOT, stack1, 2), leaf1);
    pf_sample_add(p, leaf1, 0, 0, 3);
    pf_sample_add(p, leaf2, 0, 0, 2);
    pf_profile_finish(p);
    size_t n;
    const pf_node *nodes = pf_nodes(p, &n);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(pf_total_weight(p), 5);
    CHECK_EQ_INT(nodes[leaf2].total, 5);
    CHECK_EQ_INT(nodes[leaf1].total, 3);
    CHECK_EQ_INT(nodes[leaf1].parent, leaf2);
    CHECK(!pf_profile_failed(p));
    pf_profile_free(p);
}

static void test_sample_log(void) {
    pf_profile *p = pf_profile_new();
    pf_profile_log_samples(p, 1);
    pf_func_id f = pf_func_intern(p, pf_intern(p, "f"), 0, 0, PF_FUNC_PYTHON);
    pf_node_id node = pf_node_child(p, PF_ROOT, pf_frame_intern(p, f, 0));
    /* time (us), thread: ordinary steps, a gap over 2^20 us, a thread past the
     * 12-bit field, time going backwards, a huge time, then ordinary again. */
    const struct { uint64_t us; uint32_t thread; } want[] = {
        {0, 0}, {1000, 1}, {1000, 2}, {2001, 4094}, {2001 + (1u << 20), 3}, {2002 + (1u << 20), 70000},
        {5, 1}, {6, 1}, {(uint64_t)1 << 40, 2}, {((uint64_t)1 << 40) + 999999, 0}, {((uint64_t)1 << 40) + 1000000, 4095},
    };
    size_t count = sizeof want / sizeof want[0];
    /* Weights other than 1 (CPU-weighted samples) take the escape form, the
     * largest one included; every third sample has one. */
    uint64_t weight_sum = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t w = i % 3 != 2 ? 1 : i == 8 ? UINT32_MAX : 7 * i;
        weight_sum += w;
        pf_sample_add(p, node, want[i].thread, want[i].us * 1000 + 999 /* sub-us part is dropped */, w);
    }
    size_t n;
    pf_samples(p, &n);
    CHECK_EQ_INT(n, 0); /* the log is expanded by finish, not behind a const read */
    pf_profile_finish(p);
    const pf_sample *got = pf_samples(p, &n);
    CHECK_EQ_INT(n, count);
    for (size_t i = 0; i < n && i < count; i++) {
        CHECK_EQ_INT(got[i].time_ns, want[i].us * 1000);
        CHECK_EQ_INT(got[i].thread, want[i].thread);
        CHECK_EQ_INT(got[i].node, node);
        CHECK_EQ_INT(got[i].weight, i % 3 != 2 ? 1 : i == 8 ? UINT32_MAX : 7 * i);
    }
    /* Samples added after a finish are seen after the next one. */
    pf_sample_add(p, node, 7, ((uint64_t)1 << 40) * 1000 + 2000000000ull, 1);
    pf_profile_finish(p);
    got = pf_samples(p, &n);
    CHECK_EQ_INT(n, count + 1);
    CHECK_EQ_INT(got[count].thread, 7);
    CHECK_EQ_INT(got[count].weight, 1);
    CHECK_EQ_INT(pf_nodes(p, &n)[node].self, weight_sum + 1);
    pf_profile_free(p);
}

/* The producer API: metadata set as a whole and read back; a traced
 * profile's weights are the producer's own (finish leaves totals alone); a
 * renamed function keeps its id, is found under its new name, and is not
 * found under its old one. */
static void test_producer_api(void) {
    pf_profile *p = pf_profile_new();
    CHECK_EQ_STR(pf_profile_meta_const(p)->weight_unit, "samples");
    pf_meta m = *pf_profile_meta_const(p);
    m.mode = PF_MODE_TRACED;
    m.weight_unit = "nanoseconds";
    m.command = pf_intern(p, "app.py --fast");
    m.duration_ns = 12345;
    pf_profile_set_meta(p, &m);
    const pf_meta *got = pf_profile_meta_const(p);
    CHECK_EQ_INT(got->mode, PF_MODE_TRACED);
    CHECK_EQ_STR(got->weight_unit, "nanoseconds");
    CHECK_EQ_STR(pf_str(p, got->command), "app.py --fast");
    CHECK_EQ_INT(got->duration_ns, 12345);

    pf_func_id thread = pf_func_intern(p, pf_intern(p, "Thread 140"), 0, 1, PF_FUNC_THREAD);
    pf_func_id work = pf_func_intern(p, pf_intern(p, "work"), pf_intern(p, "app.py"), 3, PF_FUNC_PYTHON);
    pf_node_id root = pf_node_child(p, PF_ROOT, pf_frame_intern(p, thread, 0));
    pf_node_id leaf = pf_node_child(p, root, pf_frame_intern(p, work, 3));
    /* recursion: the tracer's total is less than self + children would say */
    pf_node_set_weights(p, leaf, 70, 90, 4);
    pf_node_set_weights(p, root, 0, 90, 0);
    pf_node_set_weights(p, PF_ROOT, 0, 90, 0);
    pf_node_set_weights(p, 999, 1, 1, 1); /* no such node: ignored */
    pf_profile_finish(p);
    size_t n;
    const pf_node *nodes = pf_nodes(p, &n);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(nodes[leaf].self, 70);
    CHECK_EQ_INT(nodes[leaf].total, 90);
    CHECK_EQ_INT(nodes[leaf].calls, 4);
    CHECK_EQ_INT(pf_total_weight(p), 90);

    pf_func_set_name(p, thread, pf_intern(p, "worker-1"));
    size_t nf;
    CHECK_EQ_STR(pf_str(p, pf_funcs(p, &nf)[thread].name), "worker-1");
    CHECK_EQ_INT(pf_func_intern(p, pf_intern(p, "worker-1"), 0, 1, PF_FUNC_THREAD), thread);
    pf_func_id old = pf_func_intern(p, pf_intern(p, "Thread 140"), 0, 1, PF_FUNC_THREAD);
    CHECK(old != thread && old != 0);
    CHECK_EQ_STR(pf_str(p, pf_funcs(p, &nf)[old].name), "Thread 140");
    /* renamed onto a name an equal function already has: that one stays the one found */
    pf_func_set_name(p, old, pf_intern(p, "worker-1"));
    CHECK_EQ_INT(pf_func_intern(p, pf_intern(p, "worker-1"), 0, 1, PF_FUNC_THREAD), thread);
    CHECK(!pf_profile_failed(p));
    pf_profile_free(p);
}

int main(void) {
    test_interning_and_totals();
    test_producer_api();
    test_sample_log();
    return check_report("test_profile");
}
