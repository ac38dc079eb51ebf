/* asyncio.h — a CPython 3.14+ process's asyncio tasks, read from outside.
 *
 * From 3.14 the _asyncio module describes its own task objects in a table,
 * _Py_AsyncioModuleDebugOffsets, kept in an ELF section named AsyncioDebug of
 * the image that holds the module (lib-dynload's _asyncio*.so when it is a
 * shared module, as in Debian's 3.14; the interpreter itself when it is built
 * in, as in Debian's 3.15). Every native Task hangs on a circular list per
 * thread (the interpreter keeps those of exited threads), a thread names its
 * running task, and each task names the task or set of tasks awaiting it:
 * that is all `pyflare dump --async` and `record --async` need.
 *
 * Everything read is untrusted: the table is checked against its own section
 * sizes before use, lists and coroutine chains are bounded, and an awaiter
 * is believed only when it is itself one of the listed tasks (so a cycle or a
 * stale pointer in the await graph can neither loop nor lead anywhere). */
#ifndef PYFLARE_CPYTHON_ASYNCIO_H
#define PYFLARE_CPYTHON_ASYNCIO_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "cpython/proc.h"
#include "cpython/walker.h"

/* The section's size: 13 uint64 words, the same shape in 3.14 and 3.15. */
#define PY_ASYNCIO_OFFSETS_BYTES 104

/* Offsets in a TaskObj, in PyInterpreterState and in _PyThreadStateImpl. */
typedef struct py_asyncio_offsets {
    int64_t task_size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set, task_coro, task_node;
    int64_t interp_tasks_head;
    int64_t tstate_running_loop, tstate_running_task, tstate_tasks_head;
} py_asyncio_offsets;

/* Checks and decodes the section's bytes. Fails (PF_ERR_CORRUPT, one line)
 * when any offset does not fit in the size its struct declares or a size is
 * implausible: the table is then not used at all. */
int py_asyncio_offsets_parse(const uint8_t *bytes, size_t len, py_asyncio_offsets *out, pf_error *err);

/* What a task is doing, from its thread's running task and its coroutine's frame state. */
typedef enum {
    PY_TASK_RUNNING = 1, /* its thread's running task */
    PY_TASK_WAITING,     /* suspended at an await */
    PY_TASK_PENDING,     /* created, never started */
    PY_TASK_DONE,        /* its coroutine has finished (about to leave the list) */
} py_task_state;

const char *py_task_state_name(py_task_state s);

#define PY_TASK_NAME_CAP 128
#define PY_TASK_MAX_FRAMES 256 /* deeper coroutine chains are cut */

typedef struct py_task {
    uint64_t addr;             /* the Task object: its id */
    char name[PY_TASK_NAME_CAP];
    uint64_t thread_id;        /* the thread whose list holds it; 0: the interpreter's (its thread ended) */
    int64_t native_id;         /* that thread's TID, -1 unknown */
    py_task_state state;
    py_frame *frames;          /* its coroutine stack, innermost first (into the reader's pool) */
    size_t nframes;
    uint64_t *awaited_by;      /* the listed tasks awaiting it (into the reader's pool) */
    size_t nawaited_by;
} py_task;

typedef struct py_asyncio py_asyncio;

/* A reader for p. Fails with PF_ERR_UNSUPPORTED, naming the version, before
 * 3.14 (no table to read). The section itself is looked for at each read
 * until found, since the module may be imported later. */
int py_asyncio_new(py_proc *p, py_asyncio **out, pf_error *err);
void py_asyncio_free(py_asyncio *a);

/* Reads with these offsets instead of looking for the section (tests/fuzz). */
void py_asyncio_use_offsets(py_asyncio *a, const py_asyncio_offsets *off);

/* Every task of every thread, valid until the next call. A process that
 * has not imported asyncio has none (not an error). */
int py_asyncio_tasks(py_asyncio *a, const py_task **tasks, size_t *n, pf_error *err);

/* The running task of one thread (tstate as py_thread has it) and the tasks
 * awaiting it, outward: names[0] is the running task's, names[n-1] the
 * outermost awaiter's (at most cap). *coro_code is the code object address of
 * the running task's coroutine (0 unknown): the thread's stack from that
 * frame inward is the task's own. *n = 0 when no task runs. Names are cached
 * by task, so a steady sample costs a few small reads. */
int py_asyncio_running_chain(py_asyncio *a, uint64_t tstate, char (*names)[PY_TASK_NAME_CAP], size_t cap,
                             size_t *n, uint64_t *coro_code, pf_error *err);

#endif
