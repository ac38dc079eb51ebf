/* tasks.h — `--async`: where a sampled stack goes when asyncio tasks are read.
 *
 * The one rule: a thread running an asyncio task has its stack put under the
 * chain of tasks awaiting that task, outermost first, each a synthetic frame
 * "Task NAME" (kind PF_FUNC_OTHER), and only the task's own frames (from its
 * coroutine's frame inward) go below them: the event loop's frames above the
 * task are left out, as every task runs under them. A thread running no task
 * keeps its stack as it is. A waiting task (counted only with --idle) goes
 * under the same chain, with its coroutine stack below it. */
#ifndef PYFLARE_SAMPLER_TASKS_H
#define PYFLARE_SAMPLER_TASKS_H

#include <stddef.h>

#include "cpython/asyncio.h"
#include "profile/profile.h"

/* For a thread (pt) about to be recorded under `root`: *base, the node its
 * frames go under, and *nframes, how many of its innermost frames are kept.
 * Without a running task (or when the tasks cannot be read now) *base is
 * root and every frame is kept; with one whose coroutine is not on the
 * stack (read a moment apart), every frame is kept under its chain. */
void sampler_task_base(pf_profile *p, py_asyncio *a, pf_node_id root, const py_thread *pt, pf_node_id *base,
                       size_t *nframes);

/* The node of waiting task tasks[i]'s chain (it and the tasks awaiting it,
 * following the lowest awaiter's id, cycles cut) under root. */
pf_node_id sampler_waiting_task_base(pf_profile *p, const py_task *tasks, size_t n, size_t i, pf_node_id root);

#endif
