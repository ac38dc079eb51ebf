/* fuzz_elf.c — libFuzzer target for src/target/elf.c: any bytes must either
 * be rejected with a message or yield an image whose every accessor returns
 * without reading outside the input.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *         -Isrc tests/fuzz/fuzz_elf.c src/target/elf.c src/base/error.c -o build/fuzz_elf
 *   mkdir -p build/fuzz_elf_corpus && cp /bin/true build/fuzz_elf_corpus/
 *   # plus a small .so with a .symtab, e.g. a lib-dynload module of pyenv's 2.7
 *   build/fuzz_elf -max_total_time=180 -max_len=65536 build/fuzz_elf_corpus
 * Seeds with their section headers zeroed out (e_shoff = e_shnum = e_shstrndx
 * = 0) reach the PT_DYNAMIC fallback, which a mutation rarely finds alone. */

#include "target/elf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy of exactly size bytes, so ASan flags any read past the
     * end (libFuzzer's own buffer is exact too, but this keeps it explicit). */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);

    elf_image *img = NULL;
    pf_error err;
    if (elf_open_bytes(copy, size, &img, &err) == 0) {
        static const char *const names[] = {"_PyRuntime", "Py_Version", "interp_head", "main",
                                            "_start", "", "x"};
        uint64_t a, b;
        (void)elf_is_executable(img);
        const char *so = elf_soname(img);
        if (so)
            (void)strlen(so); /* must be terminated inside the input */
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            (void)elf_symbol(img, names[i], &a, &b);
        static const char *const sections[] = {".data", ".bss", ".text", ".rodata", ""};
        for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
            (void)elf_section(img, sections[i], &a, &b);
        static const uint64_t offs[] = {0, 1, 0x1000, 0x2000, 0x3000, UINT64_MAX, UINT64_MAX - 0xfff};
        for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++)
            (void)elf_vaddr_for_offset(img, offs[i], &a);
        (void)elf_vaddr_for_offset(img, size / 2, &a);
        elf_close(img);
    }
    free(copy);
    return 0;
}
