/* tasks.c — the --async attribution rule (see tasks.h). */
#include "sampler/tasks.h"

#include <stdio.h>

#define MAX_CHAIN 64 /* tasks awaiting tasks: deeper chains are cut at the outermost */

/* "Task NAME" frames for names[n-1] (outermost) down to names[0], under root. */
static pf_node_id chain_node(pf_profile *p, pf_node_id root, const char *const *names, size_t n) {
    pf_node_id node = root;
    for (size_t k = n; k-- > 0;) {
        char label[PY_TASK_NAME_CAP + 8];
        snprintf(label, sizeof label, "Task %s", names[k]);
        pf_func_id fn = pf_func_intern(p, pf_intern(p, label), 0, 0, PF_FUNC_OTHER);
        node = pf_node_child(p, node, pf_frame_intern(p, fn, 0));
    }
    return node;
}

void sampler_task_base(pf_profile *p, py_asyncio *a, pf_node_id root, const py_thread *pt, pf_node_id *base,
                       size_t *nframes) {
    char names[MAX_CHAIN][PY_TASK_NAME_CAP];
    const char *ptrs[MAX_CHAIN];
    size_t n;
    uint64_t coro_code;
    *base = root;
    *nframes = pt->nframes;
    if (py_asyncio_running_chain(a, pt->tstate, names, MAX_CHAIN, &n, &coro_code, NULL) != 0 || n == 0)
        return;
    /* The task's own part: from the outermost frame running its coroutine's code inward. */
    for (size_t k = pt->nframes; coro_code && k-- > 0;)
        if (pt->frames[k].code->addr == coro_code) {
            *nframes = k + 1;
            break;
        }
    for (size_t k = 0; k < n; k++)
        ptrs[k] = names[k];
    *base = chain_node(p, root, ptrs, n);
}

pf_node_id sampler_waiting_task_base(pf_profile *p, const py_task *tasks, size_t n, size_t i, pf_node_id root) {
    const char *names[MAX_CHAIN];
    size_t depth = 0, at = i;
    for (;;) {
        for (size_t k = 0; k < depth; k++)
            if (names[k] == tasks[at].name)
                return chain_node(p, root, names, depth); /* an await cycle: the chain so far */
        names[depth++] = tasks[at].name;
        if (depth == MAX_CHAIN || !tasks[at].nawaited_by)
            break;
        uint64_t by = tasks[at].awaited_by[0];
        for (size_t k = 1; k < tasks[at].nawaited_by; k++)
            if (tasks[at].awaited_by[k] < by)
                by = tasks[at].awaited_by[k];
        size_t next = n;
        for (size_t k = 0; k < n && next == n; k++)
            if (tasks[k].addr == by)
                next = k;
        if (next == n)
            break;
        at = next;
    }
    return chain_node(p, root, names, depth);
}
