/* elf.h — symbols and segments of an ELF file on disk (a binary or a shared
 * library mapped into the target).
 *
 * The file is untrusted input: every header, table and string is bounds-checked
 * against the file size, and a malformed file yields an error, never a crash.
 * Knows nothing of Python. */
#ifndef PYFLARE_TARGET_ELF_H
#define PYFLARE_TARGET_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct elf_image elf_image;

/* Opens and validates an ELF64 x86-64 file. On failure returns -1 and fills
 * err: PF_ERR_CORRUPT for a malformed file, PF_ERR_UNSUPPORTED for another
 * kind of ELF (32-bit, big-endian, another machine, not an executable or
 * shared library), PF_ERR_IO/PERMISSION/NOMEM for the system's refusals. */
int elf_open(const char *path, elf_image **out, pf_error *err);
/* Same, over bytes the caller owns (kept alive until elf_close): for tests and fuzzing. */
int elf_open_bytes(const uint8_t *data, size_t size, elf_image **out, pf_error *err);
void elf_close(elf_image *img);

/* 1 for ET_EXEC (addresses are absolute: no load bias), 0 for ET_DYN. */
int elf_is_executable(const elf_image *img);

/* Looks name up in .dynsym, then .symtab (which stripped files lack).
 * Returns 0 and the symbol's st_value (unrelocated) and st_size, -1 if absent. */
int elf_symbol(const elf_image *img, const char *name, uint64_t *value, uint64_t *size);

/* DT_SONAME of a shared library, or NULL. */
const char *elf_soname(const elf_image *img);

/* The virtual address at which file offset off is loaded (by the PT_LOAD
 * segment that contains it). Returns 0 on success, -1 if no segment does.
 * load bias = (mapping start) - (vaddr for the mapping's file offset). */
int elf_vaddr_for_offset(const elf_image *img, uint64_t off, uint64_t *vaddr);

/* A section's address and size (e.g. ".rodata", ".data"); -1 if absent. */
int elf_section(const elf_image *img, const char *name, uint64_t *addr, uint64_t *size);

#endif
