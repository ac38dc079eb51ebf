/* native.h — a stopped thread's native (C/C++) stack: unwound from its
 * registers and named from the ELF files mapped into its process.
 *
 * elfutils' libdwfl does the work: the CFI (.eh_frame, .debug_frame) of every
 * mapped object, frame pointers where there is none, and the symbol tables
 * (.symtab, else .gnu_debugdata or a separate debug file, else .dynsym). It
 * reaches the target only through target/: memory by process_vm_readv, the
 * registers by ptrace, the files through /proc/PID/root (a container's own
 * files). The thread must be stopped by target_pause() while it is unwound.
 * Knows nothing of Python. */
#ifndef PYFLARE_TARGET_NATIVE_H
#define PYFLARE_TARGET_NATIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "target/target.h"

/* More native frames than this are left out (the outermost ones). */
#define TARGET_NATIVE_MAX_FRAMES 1024

typedef struct target_native target_native;

/* Prepares unwinding t's threads (t must outlive it). Errors: PF_ERR_NOMEM,
 * PF_ERR_IO when the process's mappings cannot be read. */
int target_native_open(target *t, target_native **out, pf_error *err);
void target_native_close(target_native *n);

/* Unwinds thread tid (as pyflare's /proc knows it), which target_pause() has
 * stopped: up to cap addresses, innermost first, each a return address less
 * one (so it lies inside the calling instruction) except the innermost, and
 * (sps, may be NULL) each frame's stack pointer (0 when unknown): a frame's
 * locals lie from its own up to its caller's. Returns how many (at least 1),
 * or -1 with err when not even the registers could be read. A walk that stops
 * early returns what it found. */
int target_native_unwind(target_native *n, pid_t tid, uint64_t *pcs, uint64_t *sps, size_t cap, pf_error *err);

/* What pc is: its function's name (C++ names demangled), or when no symbol
 * covers it "OBJECT+0xOFFSET" (the offset from the object's lowest mapped
 * address) or "0xADDRESS" outside every object, and the basename of the
 * object ("" for none). The strings stay valid until target_native_close. */
typedef struct target_native_sym {
    const char *function;
    const char *object;
    int named;           /* function is a symbol's name */
} target_native_sym;
void target_native_symbol(target_native *n, uint64_t pc, target_native_sym *out);

#endif
