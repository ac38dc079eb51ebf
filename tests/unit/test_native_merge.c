/* test_native_merge.c — sampler/native_merge.c's rule on built stacks: eval
 * frames known by name (3.x, 2.7's PyEval_EvalFrameEx, a ".cold" part), and
 * by holding their group's shim frame between their stack pointer and their
 * caller's (no symbol); Python frames left over go outermost; an eval frame
 * with no group left stays native. */
#include "check.h"
#include "sampler/native_merge.h"

#define N(name) {name, "obj.so", 1}

/* out as one string: Python frames by their code's function, native ones by name, innermost first. */
static const char *render(const merged_frame *out, size_t n) {
    static char buf[1024];
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", i ? " " : "",
                               out[i].py ? out[i].py->code->function : out[i].native->function);
    return buf;
}

int main(void) {
    py_code c_inner = {.function = "inner"}, c_cb = {.function = "cb"}, c_outer = {.function = "outer"},
            c_main = {.function = "main"};
    merged_frame out[32];

    /* 3.12-like: inner+cb run by one call of the loop (cb its entry), outer+main by another. */
    py_frame py[] = {{&c_inner, 1, 0, 0}, {&c_cb, 2, 1, 0x7000}, {&c_outer, 3, 0, 0}, {&c_main, 4, 1, 0x9000}};
    target_native_sym nat[] = {N("leaf"), N("_PyEval_EvalFrameDefault"), N("call_middle"), N("_PyEval_EvalFrameDefault"),
                               N("Py_RunMain")};
    size_t n = native_merge(nat, NULL, 5, py, 4, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "leaf inner cb call_middle outer main Py_RunMain");

    /* The same without symbols for the loop: found by the shim's address in its stack. */
    target_native_sym anon[] = {N("leaf"), N("python+0x10"), N("call_middle"), N("python+0x10"), N("Py_RunMain")};
    uint64_t sps[] = {0x6000, 0x6f00, 0x8000, 0x8f00, 0xa000};
    n = native_merge(anon, sps, 5, py, 4, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "leaf inner cb call_middle outer main Py_RunMain");
    /* ... and not when the shims lie elsewhere. */
    uint64_t far[] = {0x16000, 0x16f00, 0x18000, 0x18f00, 0x1a000};
    n = native_merge(anon, far, 5, py, 4, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "leaf python+0x10 call_middle python+0x10 Py_RunMain inner cb outer main");

    /* An unwind that stopped at its first frame: its caller's stack pointer is
     * unknown, so it holds no shim, and stays (it once stood for inner+cb). */
    n = native_merge(anon, sps, 1, py, 4, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "leaf inner cb outer main");

    /* <=3.10 / 2.7: one call per frame object; a ".cold" part counts; 2.7's name. */
    py_frame objs[] = {{&c_inner, 1, 1, 0}, {&c_cb, 2, 1, 0}};
    target_native_sym cold[] = {N("_PyEval_EvalFrameDefault.cold"), N("glue"), N("_PyEval_EvalFrameDefault")};
    n = native_merge(cold, NULL, 3, objs, 2, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "inner glue cb");
    target_native_sym py27[] = {N("PyEval_EvalFrameEx"), N("_PyEval_EvalFrameDefault"), N("PyEval_EvalFrameEx")};
    n = native_merge(py27, NULL, 3, objs, 2, 2, out, 32);
    CHECK_EQ_STR(render(out, n), "inner _PyEval_EvalFrameDefault cb");
    CHECK(!native_is_eval("_PyEval_EvalFrameDefaultX", 3));
    CHECK(!native_is_eval(NULL, 3));

    /* An unwind that stopped early: the Python frames left over go outermost. */
    n = native_merge(nat, NULL, 2, py, 4, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "leaf inner cb outer main");
    /* No native frames at all: the Python stack whole. */
    n = native_merge(nat, NULL, 0, py, 4, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "inner cb outer main");
    /* More eval frames than groups: the extra ones stay native. */
    n = native_merge(nat, NULL, 5, objs, 1, 3, out, 32);
    CHECK_EQ_STR(render(out, n), "leaf inner call_middle _PyEval_EvalFrameDefault Py_RunMain");
    /* The cap holds. */
    n = native_merge(nat, NULL, 5, py, 4, 3, out, 3);
    CHECK_EQ_INT(n, 3);
    return check_report("test_native_merge");
}
