/* fuzz_asyncio.c — libFuzzer target: asyncio tasks read from hostile remote memory.
 *
 * A mock target like fuzz_walker.c's (mock_target.h; reads served from the input, mapped at
 * a fixed base and repeating above it; below it unmapped) under a real 3.14 or 3.15 layout (from the
 * interpreters' own debug-offsets tables, tests/unit's fixtures) and the real
 * _asyncio offsets of that version. The first byte picks the version and
 * where the thread state read by the running-task chain lies; the rest is the
 * memory image, whose start is _PyRuntime. Task lists, coroutine chains, await
 * sets and cycles in the await graph must all end, bounded: any crash, hang,
 * leak or sanitizer report is a bug in how pyflare trusts remote bytes.
 *
 * Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -Isrc -Itests/unit \
 *     tests/fuzz/fuzz_asyncio.c src/cpython/{asyncio,debug_offsets,code,objects,linetable,pystr,layouts_generated}.c \
 *     src/target/elf.c src/base/{error,grow,u64map}.c -o build/fuzz_asyncio
 *   build/fuzz_asyncio -max_total_time=120 build/fuzz_asyncio_corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/asyncio.h"
#include "cpython/debug_offsets.h"
#include "debug_offsets_fixtures.h"
#include "target/target.h"

#include "mock_target.h" /* struct target, BASE, target_read_cstring, target_pid */

/* Below BASE is unmapped; every address above it lands in the image, which
 * repeats (so the fuzzer's pointers lead somewhere without being exact). */
int target_read(target *t, uint64_t addr, void *buf, size_t len, pf_error *err) {
    if (addr < BASE || !t->size || len > (1u << 20))
        return pf_fail(err, PF_ERR_READ, "unmapped");
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = t->mem[(addr - BASE + i) % t->size];
    return 0;
}

int target_maps(target *t, const target_mapping **maps, size_t *n, pf_error *err) {
    (void)t, (void)err;
    *maps = NULL;
    *n = 0;
    return 0;
}

void target_path(const target *t, const char *path, char *out, size_t cap) { (void)t, (void)path, out[0] = 0, (void)cap; }
void target_mapping_file(const target *t, const target_mapping *m, char *out, size_t cap) {
    (void)t, (void)m, out[0] = 0, (void)cap;
}

/* proc.c's, without the rest of proc.c (which finds the interpreter in real files). */
int py_proc_interp_head(py_proc *p, uint64_t *interp, pf_error *err) {
    return target_read(p->target, p->runtime + (uint64_t)p->layout.runtime.interpreters_head, interp, sizeof *interp,
                       err);
}

static const uint64_t asyncio_314[13] = {168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880};
static const uint64_t asyncio_315[13] = {168, 136, 96, 108, 109, 128, 152, 226240, 10856, 1104, 1024, 1032, 1048};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    /* The 3.14/3.15 fixtures, in the order the generator lists them. */
    size_t nfix = sizeof debug_offsets_fixtures / sizeof debug_offsets_fixtures[0];
    const debug_offsets_fixture *f = &debug_offsets_fixtures[data[0] % nfix];
    target t = {data + 1, size - 1};
    py_proc proc;
    memset(&proc, 0, sizeof proc);
    proc.target = &t;
    proc.runtime = BASE;
    if (py_layout_from_debug_offsets(f->bytes, sizeof f->bytes, &py_layouts[py_layouts_count - 1], &proc.layout,
                                     NULL) != 0)
        return 0;
    proc.major = 3;
    proc.minor = (int)(proc.layout.version_hex >> 16) & 0xff;
    proc.debug_offsets_version = 300 + proc.minor;
    py_asyncio_offsets off;
    const uint64_t *words = proc.minor == 14 ? asyncio_314 : asyncio_315;
    if (py_asyncio_offsets_parse((const uint8_t *)words, PY_ASYNCIO_OFFSETS_BYTES, &off, NULL) != 0)
        abort(); /* the real tables are accepted */
    py_asyncio *a;
    if (py_asyncio_new(&proc, &a, NULL) != 0)
        return 0;
    py_asyncio_use_offsets(a, &off);
    const py_task *tasks;
    size_t n;
    for (int round = 0; round < 2; round++) /* the second round meets cached code and names */
        if (py_asyncio_tasks(a, &tasks, &n, NULL) == 0)
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < tasks[i].nframes; k++)
                    if (!tasks[i].frames[k].code->function || tasks[i].nawaited_by > n)
                        abort();
    char names[8][PY_TASK_NAME_CAP];
    uint64_t code;
    py_asyncio_running_chain(a, BASE + (uint64_t)(data[0] >> 4) * 64, names, 8, &n, &code, NULL);
    if (n > 8)
        abort();
    py_asyncio_free(a);
    return 0;
}
