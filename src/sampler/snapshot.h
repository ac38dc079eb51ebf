/* snapshot.h — every thread of a Python process read once: its stack, name,
 * and whether it is active (`pyflare dump`; a live `top` would take one per refresh).
 *
 * A snapshot source holds what reading a process needs (the target, the
 * interpreter found in it, a walker, a name book), so taking snapshot after
 * snapshot reuses the walker's caches. Taking one reads the threads' run
 * states, then every stack (with the process paused, if asked), and reads
 * again while a stack is torn by the running target (a frame freed between
 * two reads): a snapshot is whole or says which stack is not. The result is
 * the plain data `output/snapshot.h` writes (out_snapshot). */
#ifndef PYFLARE_SAMPLER_SNAPSHOT_H
#define PYFLARE_SAMPLER_SNAPSHOT_H

#include <sys/types.h>

#include "base/error.h"
#include "output/snapshot.h"

/* Times a torn snapshot is taken again before its torn stacks are reported as such. */
#define SNAPSHOT_RETRIES 20

typedef struct snapshot_options {
    int pause; /* stop the process while its stacks are read: consistent, costs it a pause */
    int tasks; /* also its asyncio tasks (3.14+; refused before) */
    int native; /* each stack merged with its native frames (sampler/native_merge.h); pauses */
} snapshot_options;

typedef struct snapshot_source snapshot_source;

/* Opens pid and finds its interpreter; errors as target_open and py_proc_open give them. */
int snapshot_open(pid_t pid, snapshot_source **out, pf_error *err);
void snapshot_close(snapshot_source *src);

/* Reads every thread once into *out, which stays valid until the next take or
 * snapshot_close. Fails only when the process as a whole cannot be read. */
int snapshot_take(snapshot_source *src, const snapshot_options *o, out_snapshot *out, pf_error *err);

/* The one rule for "is this thread active" (on a CPU or waiting for one),
 * shared by dump and the sampler: the kernel's state letter says so ('R');
 * when the kernel does not know the thread ('?', e.g. no native id), the GIL
 * holder is taken as running Python code. holds_gil: 1, 0, -1 unknown. */
static inline int snapshot_thread_active(char state, int holds_gil) {
    return state == 'R' || (state == '?' && holds_gil == 1);
}

#endif
