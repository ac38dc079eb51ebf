/* fuzz_walker.c — libFuzzer target: the walker reading hostile remote memory.
 *
 * A mock target (the target_* functions, replacing src/target/) serves reads
 * from the fuzz input, mapped at a fixed base address; everything else reads
 * as unmapped. The first byte picks the layout (every generated table), the
 * rest is the memory image, whose start is _PyRuntime / interp_head. Then
 * py_walker_sample, thread names and code decoding run on it: any crash,
 * leak, hang or sanitizer report is a bug in how pyflare trusts remote bytes.
 *
 * Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz_walker.c src/cpython/{walker,code,objects,linetable,pystr,layouts_generated,threadnames}.c \
 *     src/base/{error,grow,u64map}.c -o build/fuzz_walker
 *   build/fuzz_walker -max_total_time=120 build/fuzz_walker_corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/proc.h"
#include "cpython/threadnames.h"
#include "cpython/walker.h"
#include "target/target.h"

#include "mock_target.h" /* struct target, BASE, target_read_cstring, target_pid */

static int in_image(const target *t, uint64_t addr, size_t len) {
    return addr >= BASE && len <= t->size && addr - BASE <= t->size - len;
}

int target_read(target *t, uint64_t addr, void *buf, size_t len, pf_error *err) {
    if (!in_image(t, addr, len))
        return pf_fail(err, PF_ERR_READ, "unmapped");
    memcpy(buf, t->mem + (addr - BASE), len);
    return 0;
}

size_t target_readv_partial(target *t, const target_iov *iov, size_t n) {
    size_t done = 0;
    while (done < n && target_read(t, iov[done].addr, iov[done].buf, iov[done].len, NULL) == 0)
        done++;
    return done;
}

int target_readv(target *t, const target_iov *iov, size_t n, pf_error *err) {
    return target_readv_partial(t, iov, n) == n ? 0 : pf_fail(err, PF_ERR_READ, "unmapped");
}

int target_threads(target *t, const target_thread **threads, size_t *n, pf_error *err) {
    static const target_thread one[] = {{100, 100, 'R'}, {101, 101, 'S'}};
    (void)t, (void)err;
    *threads = one;
    *n = 2;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    target t = {data + 1, size - 1};
    py_proc proc;
    memset(&proc, 0, sizeof proc);
    proc.target = &t;
    proc.layout = py_layouts[data[0] % py_layouts_count];
    proc.major = (int)(proc.layout.version_hex >> 24);
    proc.minor = (int)(proc.layout.version_hex >> 16) & 0xff;
    if (proc.layout.runtime.interpreters_head != PY_NO_FIELD)
        proc.runtime = BASE;
    else
        proc.interp_head_var = BASE;
    py_walker *w;
    if (py_walker_new(&proc, &w, NULL) != 0)
        return 0;
    const py_thread *threads;
    size_t n;
    py_name_book *names = py_name_book_new(&proc);
    for (int round = 0; round < 2; round++) { /* the second round exercises the prefetch */
        if (py_walker_sample(w, &threads, &n, NULL) != 0)
            break;
        if (names)
            py_name_book_new_sample(names);
        for (size_t i = 0; i < n && i < 4; i++) {
            char name[64];
            if (names)
                py_name_book_lookup(names, threads[i].interp, threads[i].thread_id, name, sizeof name, NULL);
            for (size_t k = 0; k < threads[i].nframes; k++)
                if (!threads[i].frames[k].code->function || !threads[i].frames[k].code->file)
                    abort();
        }
    }
    py_name_book_free(names);
    py_walker_free(w);
    return 0;
}
