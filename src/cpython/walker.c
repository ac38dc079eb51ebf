/* walker.c — interpreters, thread states and frames (see walker.h).
 *
 * All three frame models are here (frame objects <=3.10, interpreter frames
 * reached through cframe in 3.11/3.12 or directly from 3.13); which one runs
 * is chosen by the layout, not by version checks. Every pointer is checked:
 * bounded depth, a seen-set against cycles, code objects type-checked once. */
#include "cpython/walker.h"

#include <stdlib.h>
#include <string.h>

#include "cpython/objects.h"

#define FRAME_OWNED_BY_CSTACK 3 /* 3.12+: a shim frame on the C stack, not Python code */
#define PTHREAD_SCAN_BYTES 2048 /* where glibc keeps a thread's TID inside struct pthread */

struct py_walker {
    py_proc *proc;
    py_code_cache *codes;
    py_thread *threads;
    size_t nthreads, threads_cap;
    py_frame *frame_pool;   /* all threads' frames, back to back */
    size_t frames_used, frames_cap;
    uint64_t *seen;         /* open-addressing set of frame addresses, one thread at a time */
    size_t seen_cap;
    int64_t pthread_tid_offset; /* <3.8: offset of the TID in struct pthread, -1 unknown, -2 not found */
};

int py_walker_new(py_proc *p, py_walker **out, pf_error *err) {
    py_walker *w = calloc(1, sizeof *w);
    if (!w)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    w->proc = p;
    w->codes = py_code_cache_new();
    w->seen_cap = PY_MAX_DEPTH * 2;
    w->seen = calloc(w->seen_cap, sizeof *w->seen);
    w->pthread_tid_offset = -1;
    if (!w->codes || !w->seen) {
        py_walker_free(w);
        return pf_fail(err, PF_ERR_IO, "out of memory");
    }
    *out = w;
    return 0;
}

void py_walker_free(py_walker *w) {
    if (!w)
        return;
    py_code_cache_free(w->codes);
    free(w->threads);
    free(w->frame_pool);
    free(w->seen);
    free(w);
}

/* Returns 1 if addr was already seen in this stack (a cycle). */
static int seen_before(py_walker *w, uint64_t addr) {
    size_t i = (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 32) & (w->seen_cap - 1);
    while (w->seen[i]) {
        if (w->seen[i] == addr)
            return 1;
        i = (i + 1) & (w->seen_cap - 1);
    }
    w->seen[i] = addr;
    return 0;
}

static py_frame *push_frame(py_walker *w, py_thread *t) {
    if (w->frames_used == w->frames_cap) {
        size_t cap = w->frames_cap ? w->frames_cap * 2 : 4096;
        py_frame *bigger = realloc(w->frame_pool, cap * sizeof *bigger);
        if (!bigger)
            return NULL;
        w->frame_pool = bigger;
        w->frames_cap = cap;
    }
    t->nframes++;
    return &w->frame_pool[w->frames_used++];
}

static int read_u64(py_walker *w, uint64_t addr, uint64_t *v, pf_error *err) {
    return target_read(w->proc->target, addr, v, sizeof *v, err);
}

/* Appends one frame executing `code_addr` at byte offset `offset` of its bytecode. */
static int add_frame(py_walker *w, py_thread *t, uint64_t code_addr, int64_t offset, int offset_is_pointer,
                     pf_error *err) {
    const py_code *code = py_code_get(w->codes, w->proc, code_addr, err);
    if (!code)
        return -1;
    py_frame *f = push_frame(w, t);
    if (!f)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    if (offset_is_pointer)
        offset = (int64_t)((uint64_t)offset - (code_addr + (uint64_t)w->proc->layout.code.code_adaptive));
    f->code = code;
    f->line = py_code_line(w->proc, code, offset);
    return 0;
}

static int walk_frame_objects(py_walker *w, py_thread *t, uint64_t frame, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    while (frame) {
        if (t->nframes >= PY_MAX_DEPTH) {
            t->truncated = 1;
            return 0;
        }
        if (seen_before(w, frame))
            return pf_fail(err, PF_ERR_CORRUPT, "frame chain loops back to 0x%llx", (unsigned long long)frame);
        uint64_t back, code;
        int32_t lasti;
        if (read_u64(w, frame + L->frame_object.back, &back, err) != 0 ||
            read_u64(w, frame + L->frame_object.code, &code, err) != 0 ||
            target_read(w->proc->target, frame + L->frame_object.lasti, &lasti, sizeof lasti, err) != 0)
            return -1;
        int64_t offset = L->instr == PY_INSTR_LASTI_UNITS && lasti >= 0 ? (int64_t)lasti * 2 : lasti;
        if (add_frame(w, t, code, offset, 0, err) != 0)
            return -1;
        frame = back;
    }
    return 0;
}

static int walk_interpreter_frames(py_walker *w, py_thread *t, uint64_t frame, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    uint8_t buf[256];
    size_t need = (size_t)L->iframe.owner + 1;
    if (need > sizeof buf)
        return pf_fail(err, PF_ERR_CORRUPT, "interpreter frame layout too large");
    while (frame) {
        if (t->nframes >= PY_MAX_DEPTH) {
            t->truncated = 1;
            return 0;
        }
        if (seen_before(w, frame))
            return pf_fail(err, PF_ERR_CORRUPT, "frame chain loops back to 0x%llx", (unsigned long long)frame);
        if (target_read(w->proc->target, frame, buf, need, err) != 0)
            return -1;
        uint64_t previous, code, instr;
        memcpy(&previous, buf + L->iframe.previous, 8);
        memcpy(&code, buf + L->iframe.code, 8);
        memcpy(&instr, buf + L->iframe.instr, 8);
        int owner = buf[L->iframe.owner];
        /* 3.14 tags f_executable's low bits; a code object is 8-byte aligned anyway. */
        code &= ~(uint64_t)7;
        if (owner != FRAME_OWNED_BY_CSTACK && code && add_frame(w, t, code, (int64_t)instr, 1, err) != 0)
            return -1;
        frame = previous;
    }
    return 0;
}

static int first_frame(py_walker *w, uint64_t tstate, uint64_t *frame, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    switch (L->frames) {
    case PY_FRAMES_OBJECTS:
        return read_u64(w, tstate + L->tstate.frame, frame, err);
    case PY_FRAMES_CFRAME: {
        uint64_t cframe;
        if (read_u64(w, tstate + L->tstate.cframe, &cframe, err) != 0)
            return -1;
        *frame = 0;
        return cframe ? read_u64(w, cframe + L->tstate.cframe_current_frame, frame, err) : 0;
    }
    case PY_FRAMES_DIRECT:
        return read_u64(w, tstate + L->tstate.current_frame, frame, err);
    }
    return pf_fail(err, PF_ERR_UNSUPPORTED, "unknown frame model");
}

static int walk_stack(py_walker *w, py_thread *t, pf_error *err) {
    uint64_t frame;
    memset(w->seen, 0, w->seen_cap * sizeof *w->seen);
    if (first_frame(w, t->tstate, &frame, err) != 0)
        return -1;
    if (w->proc->layout.frames == PY_FRAMES_OBJECTS)
        return walk_frame_objects(w, t, frame, err);
    return walk_interpreter_frames(w, t, frame, err);
}

/* The thread state holding the GIL in interp, 0 if none, or -1 if unknowable. */
static int gil_holder(py_walker *w, uint64_t interp, uint64_t *holder) {
    const py_layout *L = &w->proc->layout;
    py_proc *p = w->proc;
    *holder = 0;
    if (p->tstate_current_var)
        return read_u64(w, p->tstate_current_var, holder, NULL);
    if (L->runtime.tstate_current != PY_NO_FIELD && p->runtime)
        return read_u64(w, p->runtime + (uint64_t)L->runtime.tstate_current, holder, NULL);
    if (L->interp.gil == PY_NO_FIELD)
        return -1;
    uint64_t gil;
    int32_t locked;
    if (read_u64(w, interp + (uint64_t)L->interp.gil, &gil, NULL) != 0)
        return -1;
    if (!gil && L->interp.gil_embedded != PY_NO_FIELD)
        gil = interp + (uint64_t)L->interp.gil_embedded;
    if (!gil || target_read(p->target, gil + (uint64_t)L->interp.gil_locked, &locked, sizeof locked, NULL) != 0)
        return -1;
    if (locked != 1)
        return 0;
    return read_u64(w, gil + (uint64_t)L->interp.gil_last_holder, holder, NULL);
}

/* Before 3.8 a thread state has no TID, but its thread_id is glibc's pthread_t,
 * the address of struct pthread, which holds the TID at a fixed offset. Find
 * the one offset at which every thread's struct holds a distinct TID of this
 * process: it is specific to the glibc build, so it is learned, not assumed. */
static void learn_pthread_tid_offset(py_walker *w) {
    const target_thread *tasks;
    size_t ntasks;
    if (target_threads(w->proc->target, &tasks, &ntasks, NULL) != 0 || w->nthreads == 0)
        return;
    size_t n = w->nthreads < 16 ? w->nthreads : 16;
    uint8_t (*blocks)[PTHREAD_SCAN_BYTES] = calloc(n, PTHREAD_SCAN_BYTES);
    if (!blocks)
        return;
    for (size_t i = 0; i < n; i++)
        if (target_read(w->proc->target, w->threads[i].thread_id, blocks[i], PTHREAD_SCAN_BYTES, NULL) != 0)
            goto done;
    for (size_t off = 0; off + 4 <= PTHREAD_SCAN_BYTES; off += 4) {
        int all = 1;
        for (size_t i = 0; i < n && all; i++) {
            int32_t tid;
            memcpy(&tid, blocks[i] + off, 4);
            int found = 0;
            for (size_t k = 0; k < ntasks && !found; k++)
                found = tasks[k].tid == tid;
            for (size_t j = 0; j < i && found; j++)
                found = memcmp(blocks[j] + off, blocks[i] + off, 4) != 0;
            all = found;
        }
        if (all) {
            w->pthread_tid_offset = (int64_t)off;
            break;
        }
    }
done:
    free(blocks);
    if (w->pthread_tid_offset < 0)
        w->pthread_tid_offset = -2;
}

static void fill_native_ids(py_walker *w) {
    const py_layout *L = &w->proc->layout;
    for (size_t i = 0; i < w->nthreads; i++) {
        py_thread *t = &w->threads[i];
        uint64_t tid = 0;
        t->native_id = -1;
        if (L->tstate.native_thread_id != PY_NO_FIELD) {
            if (read_u64(w, t->tstate + (uint64_t)L->tstate.native_thread_id, &tid, NULL) == 0 && tid)
                t->native_id = (int64_t)tid;
            continue;
        }
        if (w->pthread_tid_offset == -1)
            learn_pthread_tid_offset(w);
        int32_t tid32;
        if (w->pthread_tid_offset >= 0 &&
            target_read(w->proc->target, t->thread_id + (uint64_t)w->pthread_tid_offset, &tid32, 4, NULL) == 0)
            t->native_id = tid32;
    }
}

static py_thread *new_thread(py_walker *w) {
    if (w->nthreads == w->threads_cap) {
        size_t cap = w->threads_cap ? w->threads_cap * 2 : 16;
        py_thread *bigger = realloc(w->threads, cap * sizeof *bigger);
        if (!bigger)
            return NULL;
        w->threads = bigger;
        w->threads_cap = cap;
    }
    py_thread *t = &w->threads[w->nthreads++];
    memset(t, 0, sizeof *t);
    return t;
}

int py_walker_sample(py_walker *w, const py_thread **threads, size_t *n, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    uint64_t interp;
    w->nthreads = 0;
    w->frames_used = 0;
    if (py_proc_interp_head(w->proc, &interp, err) != 0)
        return -1;
    size_t interps = 0;
    for (; interp; interps++) {
        if (interps > 64)
            return pf_fail(err, PF_ERR_CORRUPT, "interpreter list does not end");
        uint64_t tstate, holder = 0;
        int gil_known = gil_holder(w, interp, &holder) == 0;
        if (read_u64(w, interp + L->interp.tstate_head, &tstate, err) != 0)
            return -1;
        while (tstate) {
            if (w->nthreads >= PY_MAX_THREADS)
                return pf_fail(err, PF_ERR_CORRUPT, "thread list does not end");
            py_thread *t = new_thread(w);
            if (!t)
                return pf_fail(err, PF_ERR_IO, "out of memory");
            t->tstate = tstate;
            t->interp = interp;
            t->holds_gil = gil_known ? holder == tstate : -1;
            if (read_u64(w, tstate + L->tstate.thread_id, &t->thread_id, err) != 0)
                return -1;
            /* Frames go into the shared pool: remember where this thread's begin. */
            size_t first = w->frames_used;
            pf_error frame_err;
            if (walk_stack(w, t, &frame_err) != 0) {
                t->error = frame_err.kind;
                if (frame_err.kind == PF_ERR_EXITED) {
                    *err = frame_err;
                    return -1;
                }
            }
            t->frames = (py_frame *)(uintptr_t)first; /* fixed up below: the pool may move */
            if (read_u64(w, tstate + L->tstate.next, &tstate, err) != 0)
                return -1;
        }
        if (read_u64(w, interp + L->interp.next, &interp, err) != 0)
            return -1;
    }
    for (size_t i = 0; i < w->nthreads; i++)
        w->threads[i].frames = w->frame_pool ? w->frame_pool + (uintptr_t)w->threads[i].frames : NULL;
    fill_native_ids(w);
    *threads = w->threads;
    *n = w->nthreads;
    return 0;
}
