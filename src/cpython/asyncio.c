/* asyncio.c — asyncio tasks read through _asyncio's own debug offsets (see asyncio.h).
 *
 * The table (Modules/_asynciomodule.c, struct _Py_AsyncioModuleDebugOffsets)
 * has no cookie and no version: it is known by the interpreter's version
 * (3.14 and 3.15 share its shape) and by its section's exact size. Its rows
 * below are the header's sections and fields in order; each offset is checked
 * against the size its section declares, as debug_offsets.c does for the
 * interpreter's table.
 *
 * What the table does not say comes from the interpreter's _Py_DebugOffsets
 * (py_layout: coroutine frame, frame state, value stack, set table) or, for
 * the frame-state values, which are an enum, from the headers (per minor
 * version, below). */
#include "cpython/asyncio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/u64map.h"
#include "cpython/code.h"
#include "cpython/objects.h"
#include "target/elf.h"

/* ---- the table ---- */

/* One offset: where it goes, its name for messages, its word in the table,
 * the word holding its section's size, and the bytes read there. */
typedef struct row {
    size_t at; /* offsetof(py_asyncio_offsets, ...) */
    const char *name;
    int word, size_word;
    uint64_t width;
} row;
#define ROW(member, name, word, size_word, width) {offsetof(py_asyncio_offsets, member), name, word, size_word, width}

/* Words 0-6 asyncio_task_object, 7-8 asyncio_interpreter_state, 9-12 asyncio_thread_state. */
static const row rows[] = {
    ROW(task_size, "asyncio_task_object.size", 0, 0, 0),
    ROW(task_name, "asyncio_task_object.task_name", 1, 0, 8),
    ROW(task_awaited_by, "asyncio_task_object.task_awaited_by", 2, 0, 8),
    ROW(task_is_task, "asyncio_task_object.task_is_task", 3, 0, 1),
    ROW(task_awaited_by_is_set, "asyncio_task_object.task_awaited_by_is_set", 4, 0, 1),
    ROW(task_coro, "asyncio_task_object.task_coro", 5, 0, 8),
    ROW(task_node, "asyncio_task_object.task_node", 6, 0, 16), /* llist_node {next, prev} */
    ROW(interp_tasks_head, "asyncio_interpreter_state.asyncio_tasks_head", 8, 7, 16),
    ROW(tstate_running_loop, "asyncio_thread_state.asyncio_running_loop", 10, 9, 8),
    ROW(tstate_running_task, "asyncio_thread_state.asyncio_running_task", 11, 9, 8),
    ROW(tstate_tasks_head, "asyncio_thread_state.asyncio_tasks_head", 12, 9, 16),
};

#define MAX_TASK_SIZE 4096        /* a TaskObj is read whole: 168 bytes in 3.14 and 3.15 */
#define MAX_STATE_SIZE (1 << 20)  /* interpreter and thread states */

int py_asyncio_offsets_parse(const uint8_t *bytes, size_t len, py_asyncio_offsets *out, pf_error *err) {
    if (len != PY_ASYNCIO_OFFSETS_BYTES)
        return pf_fail(err, PF_ERR_CORRUPT,
                       "the _asyncio module's debug offsets are %zu bytes, not the %d of the shape pyflare "
                       "knows (3.14, 3.15): refusing to read tasks with them", len, PY_ASYNCIO_OFFSETS_BYTES);
    uint64_t w[PY_ASYNCIO_OFFSETS_BYTES / 8];
    memcpy(w, bytes, sizeof w);
    py_asyncio_offsets o;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        uint64_t size = w[r->size_word], v = w[r->word];
        uint64_t max = r->size_word == 0 ? MAX_TASK_SIZE : MAX_STATE_SIZE;
        char what[160] = "";
        int section = (int)strcspn(r->name, ".");
        if (size == 0 || size > max)
            snprintf(what, sizeof what, "the size of %.*s is %llu", section, r->name, (unsigned long long)size);
        else if (r->word != r->size_word && (v > size || r->width > size - v))
            snprintf(what, sizeof what, "%s at %llu lies outside the %llu bytes declared", r->name,
                     (unsigned long long)v, (unsigned long long)size);
        if (what[0])
            return pf_fail(err, PF_ERR_CORRUPT,
                           "the _asyncio module's debug offsets do not hold together (%s): refusing to read "
                           "tasks with them", what);
        int64_t value = (int64_t)(r->word == r->size_word ? size : v);
        memcpy((char *)&o + r->at, &value, sizeof value);
    }
    *out = o;
    return 0;
}

/* ---- per-version facts the table leaves out ---- */

/* PyFrameState values (Include/internal/pycore_frame.h) and where a frame
 * suspended in `await` keeps the awaited object (_PyGen_yf: the value stack's
 * top in 3.14, one below it in 3.15). */
typedef struct frame_states {
    int minor;
    int created, yield_from_lo, yield_from_hi, executing;
    int awaited_depth;
} frame_states;

static const frame_states states[] = {
    {14, -3, -1, -1, 0, 1}, /* CREATED -3, SUSPENDED -2, YIELD_FROM -1, EXECUTING 0, COMPLETED 1, CLEARED 4 */
    {15, 0, 2, 3, 4, 2},    /* CREATED 0, SUSPENDED 1, YIELD_FROM 2, YIELD_FROM_LOCKED 3, EXECUTING 4, CLEARED 5 */
};

const char *py_task_state_name(py_task_state s) {
    switch (s) {
    case PY_TASK_RUNNING: return "running";
    case PY_TASK_WAITING: return "waiting";
    case PY_TASK_PENDING: return "pending";
    case PY_TASK_DONE: return "done";
    }
    return "?";
}

/* ---- the reader ---- */

#define MAX_TASKS (1 << 16)     /* per read; more is taken for a corrupt list */
#define MAX_FRAMES (1 << 18)    /* coroutine frames per read, all tasks together: a bound on memory */
#define MAX_INTERPRETERS 256
#define MAX_THREADS 65536
#define MAX_SET_SLOTS 4096      /* a task awaited by more tasks than this is read in part */
#define FIND_EVERY 256          /* running_chain looks for the section again every this many calls */
#define NAME_CACHE 256

typedef struct name_memo {
    uint64_t task, name_obj;
    char name[PY_TASK_NAME_CAP];
} name_memo;

struct py_asyncio {
    py_proc *proc;
    const frame_states *fs;
    py_code_cache *codes;
    uint64_t table_addr;        /* 0 until the section is found */
    py_asyncio_offsets off;
    unsigned find_countdown;
    uint64_t generation;        /* reads so far: a cached code object is confirmed once per read */

    py_task *tasks;
    size_t ntasks, tasks_cap;
    py_frame *frames;
    size_t nframes, frames_cap;
    uint64_t *awaiters;
    size_t nawaiters, awaiters_cap;
    u64map index;               /* task address -> index in tasks */
    u64map seen;                /* interpreter and thread states met in this read: their lists may loop */
    name_memo names[NAME_CACHE];
};

int py_asyncio_new(py_proc *p, py_asyncio **out, pf_error *err) {
    const frame_states *fs = NULL;
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (p->major == 3 && p->minor == states[i].minor)
            fs = &states[i];
    if (!fs || !p->debug_offsets_version || p->layout.gen.gi_iframe == PY_NO_FIELD ||
        p->layout.iframe.stackpointer == PY_NO_FIELD || p->layout.set.table == PY_NO_FIELD)
        return pf_fail(err, PF_ERR_UNSUPPORTED,
                       "--async reads asyncio tasks of CPython 3.14 and 3.15 only (through the _asyncio "
                       "module's debug offsets); process %d runs CPython %s",
                       (int)target_pid(p->target), p->version);
    py_asyncio *a = calloc(1, sizeof *a);
    if (!a || !(a->codes = py_code_cache_new())) {
        free(a);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    a->proc = p;
    a->fs = fs;
    *out = a;
    return 0;
}

void py_asyncio_free(py_asyncio *a) {
    if (!a)
        return;
    py_code_cache_free(a->codes);
    free(a->tasks);
    free(a->frames);
    free(a->awaiters);
    u64map_free(&a->index);
    u64map_free(&a->seen);
    free(a);
}

void py_asyncio_use_offsets(py_asyncio *a, const py_asyncio_offsets *off) {
    a->off = *off;
    a->table_addr = 1; /* "found" */
}

static int read_u64(py_asyncio *a, uint64_t addr, uint64_t *v, pf_error *err) {
    return target_read(a->proc->target, addr, v, sizeof *v, err);
}

static uint64_t word_at(const uint8_t *b, int64_t off) {
    uint64_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

/* The load bias of the mapped file holding mapping i: where its mapping of
 * a file offset lies minus the address the file asks for it. */
static int bias_of(const target_mapping *m, const elf_image *img, uint64_t *bias) {
    uint64_t vaddr;
    if (elf_is_executable(img)) {
        *bias = 0;
        return 0;
    }
    if (elf_vaddr_for_offset(img, m->offset, &vaddr) != 0)
        return -1;
    *bias = m->start - vaddr;
    return 0;
}

/* Looks for the AsyncioDebug section in the images that can hold the
 * module: the interpreter's own file, and any mapped _asyncio*.so. */
static int find_table(py_asyncio *a, pf_error *err) {
    const target_mapping *maps;
    size_t n;
    if (target_maps(a->proc->target, &maps, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *path = maps[i].path, *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (path[0] != '/' || (strcmp(path, a->proc->binary) != 0 && strncmp(base, "_asyncio", 8) != 0))
            continue;
        if (i > 0 && !strcmp(maps[i - 1].path, path))
            continue; /* one look per file, at its first mapping */
        char real[4096 + 64];
        elf_image *img;
        pf_error ignored;
        target_path(a->proc->target, path, real, sizeof real);
        if (elf_open(real, &img, &ignored) != 0) {
            target_mapping_file(a->proc->target, &maps[i], real, sizeof real);
            if (elf_open(real, &img, &ignored) != 0)
                continue;
        }
        uint64_t addr, size, bias;
        int found = (elf_section(img, ".AsyncioDebug", &addr, &size) == 0 ||
                     elf_section(img, "AsyncioDebug", &addr, &size) == 0) &&
                    bias_of(&maps[i], img, &bias) == 0;
        elf_close(img);
        if (!found)
            continue;
        uint8_t bytes[PY_ASYNCIO_OFFSETS_BYTES];
        if (size != sizeof bytes)
            return pf_fail(err, PF_ERR_CORRUPT,
                           "%s's AsyncioDebug section is %llu bytes, not the %zu of the shape pyflare knows: "
                           "refusing to read tasks with it", path, (unsigned long long)size, sizeof bytes);
        if (target_read(a->proc->target, addr + bias, bytes, sizeof bytes, err) != 0 ||
            py_asyncio_offsets_parse(bytes, sizeof bytes, &a->off, err) != 0)
            return -1;
        a->table_addr = addr + bias;
        return 0;
    }
    return 0;
}

/* The task's name: a str, or an int n that asyncio shows as "Task-n". */
static void task_name(py_asyncio *a, uint64_t task, uint64_t name_obj, char *out) {
    name_memo *m = &a->names[u64map_hash(task) & (NAME_CACHE - 1)];
    if (m->task == task && m->name_obj == name_obj && name_obj) {
        memcpy(out, m->name, PY_TASK_NAME_CAP);
        return;
    }
    int kind;
    int64_t number;
    snprintf(out, PY_TASK_NAME_CAP, "?");
    if (!name_obj || py_object_kind(a->proc, name_obj, &kind, NULL) != 0)
        return;
    if (kind == PY_TYPE_LONG && py_read_int(a->proc, name_obj, &number, NULL) == 0)
        snprintf(out, PY_TASK_NAME_CAP, "Task-%lld", (long long)number);
    else if (kind == PY_TYPE_STR && py_read_text(a->proc, name_obj, out, PY_TASK_NAME_CAP, NULL) != 0)
        snprintf(out, PY_TASK_NAME_CAP, "?");
    m->task = task;
    m->name_obj = name_obj;
    memcpy(m->name, out, PY_TASK_NAME_CAP);
}

/* One coroutine's frame: its state, code object, instruction and value stack top. */
typedef struct coro_frame {
    int state;
    uint64_t code, instr, stackpointer;
} coro_frame;

static int read_coro(py_asyncio *a, uint64_t coro, coro_frame *out, pf_error *err) {
    const py_layout *L = &a->proc->layout;
    int kind;
    if (py_object_kind(a->proc, coro, &kind, err) != 0)
        return -1;
    if (kind != PY_TYPE_COROUTINE)
        return pf_fail(err, PF_ERR_CORRUPT, "not a coroutine at 0x%llx", (unsigned long long)coro);
    int8_t state;
    uint8_t frame[512];
    size_t fsize = (size_t)L->iframe.size;
    if (fsize > sizeof frame || fsize < 8)
        return pf_fail(err, PF_ERR_CORRUPT, "implausible frame size");
    if (target_read(a->proc->target, coro + (uint64_t)L->gen.gi_frame_state, &state, 1, err) != 0 ||
        target_read(a->proc->target, coro + (uint64_t)L->gen.gi_iframe, frame, fsize, err) != 0)
        return -1;
    out->state = state;
    out->code = word_at(frame, L->iframe.code) & ~(uint64_t)7; /* a tagged _PyStackRef */
    out->instr = word_at(frame, L->iframe.instr);
    out->stackpointer = word_at(frame, L->iframe.stackpointer);
    return 0;
}

static int suspended_in_await(const py_asyncio *a, int state) {
    return state >= a->fs->yield_from_lo && state <= a->fs->yield_from_hi;
}

/* The object a frame suspended in `await` is waiting on (0 if unreadable). */
static uint64_t awaited_object(py_asyncio *a, const coro_frame *f) {
    uint64_t obj;
    uint64_t at = f->stackpointer - 8 * (uint64_t)a->fs->awaited_depth;
    if (f->stackpointer < 8 * (uint64_t)a->fs->awaited_depth || read_u64(a, at, &obj, NULL) != 0)
        return 0;
    return obj & ~(uint64_t)3;
}

static py_code *code_of(py_asyncio *a, uint64_t addr) {
    py_code *code = py_code_get(a->codes, a->proc, addr, NULL);
    if (code && code->checked && code->checked != a->generation && py_code_recheck(a->proc, code, NULL) != 0)
        return NULL;
    if (code)
        code->checked = a->generation;
    return code;
}

/* The coroutine stack of a task from its coroutine, outermost first, into
 * the frame pool. Returns the state of its outermost frame. */
static int coro_stack(py_asyncio *a, uint64_t coro, size_t *count) {
    int first_state = a->fs->executing + 1; /* done, until read */
    *count = 0;
    for (int depth = 0; coro && depth < PY_TASK_MAX_FRAMES; depth++) {
        coro_frame f = {0};
        if (read_coro(a, coro, &f, NULL) != 0)
            break;
        if (depth == 0)
            first_state = f.state;
        if (f.state > a->fs->executing)
            break; /* finished: its frame is gone */
        py_code *code = code_of(a, f.code);
        if (!code || a->nframes >= MAX_FRAMES || PF_GROW(a->frames, a->frames_cap, a->nframes + 1, 256) != 0)
            break;
        int64_t offset = (int64_t)(f.instr - (f.code + (uint64_t)a->proc->layout.code.code_adaptive));
        a->frames[a->nframes++] = (py_frame){.code = code, .line = py_code_line(a->proc, code, offset)};
        (*count)++;
        if (!suspended_in_await(a, f.state))
            break;
        coro = awaited_object(a, &f);
    }
    return first_state;
}

/* Adds every task on the circular list at head (not yet seen) to a->tasks. */
static int collect(py_asyncio *a, uint64_t head, uint64_t thread_id, int64_t native_id, pf_error *err) {
    uint64_t node;
    if (read_u64(a, head, &node, err) != 0)
        return -1;
    while (node && node != head) {
        if (a->ntasks >= MAX_TASKS)
            return 0;
        uint64_t task = node - (uint64_t)a->off.task_node;
        if (u64map_get(&a->index, task) != U64MAP_NONE)
            return 0; /* a loop that misses the head: the rest was seen */
        if (PF_GROW(a->tasks, a->tasks_cap, a->ntasks + 1, 64) != 0 ||
            u64map_put(&a->index, task, (uint32_t)a->ntasks) != 0)
            return pf_fail(err, PF_ERR_NOMEM, "out of memory");
        a->tasks[a->ntasks++] = (py_task){.addr = task, .thread_id = thread_id, .native_id = native_id};
        if (read_u64(a, node, &node, err) != 0)
            return -1;
    }
    return 0;
}

/* The tasks awaiting task (from its bytes), each one a listed task. */
static void awaiters_of(py_asyncio *a, const uint8_t *tb, size_t *count) {
    const py_layout *L = &a->proc->layout;
    *count = 0;
    uint64_t by = word_at(tb, a->off.task_awaited_by) & ~(uint64_t)3;
    if (!by)
        return;
    uint64_t keys[MAX_SET_SLOTS];
    size_t nkeys = 0;
    if (tb[a->off.task_awaited_by_is_set]) {
        uint64_t table, mask;
        if (read_u64(a, by + (uint64_t)L->set.table, &table, NULL) != 0 ||
            read_u64(a, by + (uint64_t)L->set.mask, &mask, NULL) != 0)
            return;
        if (mask >= MAX_SET_SLOTS)
            mask = MAX_SET_SLOTS - 1;
        static uint64_t entries[MAX_SET_SLOTS * 2]; /* {key, hash} */
        if (target_read(a->proc->target, table, entries, (mask + 1) * 16, NULL) != 0)
            return;
        for (uint64_t i = 0; i <= mask; i++)
            keys[nkeys++] = entries[2 * i];
    } else {
        keys[nkeys++] = by;
    }
    for (size_t i = 0; i < nkeys; i++) {
        if (!keys[i] || u64map_get(&a->index, keys[i]) == U64MAP_NONE)
            continue; /* an empty or dummy slot, or not a listed task */
        if (a->nawaiters >= MAX_TASKS * 4 || PF_GROW(a->awaiters, a->awaiters_cap, a->nawaiters + 1, 64) != 0)
            return;
        a->awaiters[a->nawaiters++] = keys[i];
        (*count)++;
    }
}

/* 1 the first time addr is met in this read, 0 after (a list that loops), -1 out of memory. */
static int first_visit(py_asyncio *a, uint64_t addr) {
    if (u64map_get(&a->seen, addr) != U64MAP_NONE)
        return 0;
    return u64map_put(&a->seen, addr, 0) == 0 ? 1 : -1;
}

/* Every thread state of every interpreter: its tasks, and its running task. */
static int collect_all(py_asyncio *a, pf_error *err) {
    const py_layout *L = &a->proc->layout;
    uint64_t interp;
    u64map_clear(&a->seen);
    if (py_proc_interp_head(a->proc, &interp, err) != 0)
        return -1;
    for (int ni = 0; interp && ni < MAX_INTERPRETERS && first_visit(a, interp) == 1; ni++) {
        uint64_t tstate;
        if (read_u64(a, interp + (uint64_t)L->interp.tstate_head, &tstate, err) != 0)
            return -1;
        for (int nt = 0; tstate && nt < MAX_THREADS && first_visit(a, tstate) == 1; nt++) {
            uint64_t thread_id, native, running;
            if (read_u64(a, tstate + (uint64_t)L->tstate.thread_id, &thread_id, err) != 0 ||
                read_u64(a, tstate + (uint64_t)L->tstate.native_thread_id, &native, err) != 0 ||
                read_u64(a, tstate + (uint64_t)a->off.tstate_running_task, &running, err) != 0)
                return -1;
            size_t first = a->ntasks;
            if (collect(a, tstate + (uint64_t)a->off.tstate_tasks_head, thread_id, (int64_t)native, err) != 0)
                return -1;
            uint32_t at = running ? u64map_get(&a->index, running) : U64MAP_NONE;
            if (at != U64MAP_NONE && at >= first)
                a->tasks[at].state = PY_TASK_RUNNING;
            if (read_u64(a, tstate + (uint64_t)L->tstate.next, &tstate, err) != 0)
                return -1;
        }
        if (collect(a, interp + (uint64_t)a->off.interp_tasks_head, 0, -1, err) != 0 ||
            read_u64(a, interp + (uint64_t)L->interp.next, &interp, err) != 0)
            return -1;
    }
    return 0;
}

int py_asyncio_tasks(py_asyncio *a, const py_task **tasks, size_t *n, pf_error *err) {
    a->ntasks = a->nframes = a->nawaiters = 0;
    a->generation++;
    u64map_clear(&a->index);
    *tasks = NULL;
    *n = 0;
    if (!a->table_addr && find_table(a, err) != 0)
        return -1;
    if (!a->table_addr)
        return 0; /* asyncio is not imported */
    if (collect_all(a, err) != 0)
        return -1;
    size_t *frame_at = calloc(a->ntasks + 1, sizeof *frame_at), *awaiter_at = calloc(a->ntasks + 1, sizeof *awaiter_at);
    if (!frame_at || !awaiter_at) {
        free(frame_at);
        free(awaiter_at);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    uint8_t tb[MAX_TASK_SIZE];
    size_t tsize = (size_t)a->off.task_size;
    for (size_t i = 0; i < a->ntasks; i++) {
        py_task *t = &a->tasks[i];
        frame_at[i] = a->nframes;
        awaiter_at[i] = a->nawaiters;
        if (target_read(a->proc->target, t->addr, tb, tsize, NULL) != 0) {
            snprintf(t->name, sizeof t->name, "?");
            t->state = PY_TASK_DONE;
            continue;
        }
        task_name(a, t->addr, word_at(tb, a->off.task_name), t->name);
        size_t count;
        int state = coro_stack(a, word_at(tb, a->off.task_coro), &count);
        t->nframes = count;
        /* Frames were pushed outermost first: innermost first, as threads show them. */
        for (size_t lo = frame_at[i], hi = a->nframes; hi > lo + 1; lo++, hi--) {
            py_frame f = a->frames[lo];
            a->frames[lo] = a->frames[hi - 1];
            a->frames[hi - 1] = f;
        }
        if (t->state != PY_TASK_RUNNING)
            t->state = state == a->fs->created ? PY_TASK_PENDING
                       : state > a->fs->executing ? PY_TASK_DONE : PY_TASK_WAITING;
        awaiters_of(a, tb, &t->nawaited_by);
    }
    for (size_t i = 0; i < a->ntasks; i++) { /* the pools have stopped moving (and may be empty: NULL) */
        a->tasks[i].frames = a->frames ? a->frames + frame_at[i] : NULL;
        a->tasks[i].awaited_by = a->awaiters ? a->awaiters + awaiter_at[i] : NULL;
    }
    free(frame_at);
    free(awaiter_at);
    *tasks = a->tasks;
    *n = a->ntasks;
    return 0;
}

/* Whether addr is a task on some list: its node's successor points back at
 * it. A pointer that is not a task (stale, hostile) fails this. */
static int on_a_list(py_asyncio *a, uint64_t task) {
    uint64_t node = task + (uint64_t)a->off.task_node, next, back;
    return read_u64(a, node, &next, NULL) == 0 && next && read_u64(a, next + 8, &back, NULL) == 0 && back == node;
}

int py_asyncio_running_chain(py_asyncio *a, uint64_t tstate, char (*names)[PY_TASK_NAME_CAP], size_t cap,
                             size_t *n, uint64_t *coro_code, pf_error *err) {
    *n = 0;
    *coro_code = 0;
    if (!a->table_addr) {
        if (a->find_countdown--)
            return 0;
        a->find_countdown = FIND_EVERY;
        if (find_table(a, err) != 0)
            return -1;
        if (!a->table_addr)
            return 0;
    }
    uint64_t task;
    if (read_u64(a, tstate + (uint64_t)a->off.tstate_running_task, &task, err) != 0)
        return -1;
    uint64_t chain[64];
    uint8_t tb[MAX_TASK_SIZE];
    size_t tsize = (size_t)a->off.task_size;
    while (task && *n < cap && *n < sizeof chain / sizeof chain[0]) {
        for (size_t i = 0; i < *n; i++)
            if (chain[i] == task)
                return 0; /* a cycle in the await graph: the chain so far stands */
        if (target_read(a->proc->target, task, tb, tsize, NULL) != 0 || (*n > 0 && !on_a_list(a, task)))
            return 0;
        chain[*n] = task;
        task_name(a, task, word_at(tb, a->off.task_name), names[*n]);
        if (*n == 0) { /* only compared with the stack's code addresses: its frame's one word is enough */
            const py_layout *L = &a->proc->layout;
            uint64_t code, coro = word_at(tb, a->off.task_coro);
            if (coro && read_u64(a, coro + (uint64_t)L->gen.gi_iframe + (uint64_t)L->iframe.code, &code, NULL) == 0)
                *coro_code = code & ~(uint64_t)7;
        }
        (*n)++;
        /* The awaiter: the one task, or the lowest address in the set (a
         * stable choice when several tasks await this one). */
        uint64_t by = word_at(tb, a->off.task_awaited_by) & ~(uint64_t)3, next = 0;
        if (by && tb[a->off.task_awaited_by_is_set]) {
            const py_layout *L = &a->proc->layout;
            uint64_t table, mask, entries[2 * 64];
            if (read_u64(a, by + (uint64_t)L->set.table, &table, NULL) != 0 ||
                read_u64(a, by + (uint64_t)L->set.mask, &mask, NULL) != 0 || mask >= 64 ||
                target_read(a->proc->target, table, entries, (mask + 1) * 16, NULL) != 0)
                return 0;
            for (uint64_t i = 0; i <= mask; i++)
                if (entries[2 * i] > 64 && (!next || entries[2 * i] < next) && on_a_list(a, entries[2 * i]))
                    next = entries[2 * i];
        } else {
            next = by;
        }
        task = next;
    }
    return 0;
}
