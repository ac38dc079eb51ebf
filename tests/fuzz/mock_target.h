/* mock_target.h — the mock target the remote-memory fuzzers share
 * (fuzz_walker.c, fuzz_asyncio.c): the fuzz input as the target's memory
 * image, mapped at BASE, standing in for src/target/'s process. Each fuzzer
 * defines its own target_read (what lies outside the image differs: the
 * walker's is unmapped, the asyncio one's repeats the image) and whatever
 * else of target.h its code calls; what follows from target_read alone is
 * here. Each fuzzer is one binary, so this header defines functions. */
#ifndef PYFLARE_TESTS_FUZZ_MOCK_TARGET_H
#define PYFLARE_TESTS_FUZZ_MOCK_TARGET_H

#include <stdint.h>
#include <stdlib.h>

#include "target/target.h"

#define BASE 0x100000ull

struct target {
    const uint8_t *mem;
    size_t size;
};

/* A C string read byte by byte, so one ending just before an unmapped
 * address is still read. */
int target_read_cstring(target *t, uint64_t addr, char *out, size_t cap, pf_error *err) {
    size_t i = 0;
    for (; i + 1 < cap; i++) {
        if (target_read(t, addr + i, out + i, 1, err) != 0) {
            out[i] = 0;
            return -1;
        }
        if (!out[i])
            return 0;
    }
    out[i] = 0;
    return 0;
}

pid_t target_pid(const target *t) { (void)t; return 100; }

#endif
