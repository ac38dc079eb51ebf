/* tracer.c — pyflare._tracer: the in-process deterministic profiler.
 *
 * Every Python call, and every call of a builtin (C) function, becomes one
 * visit of a node in pyflare's call tree (profile/profile.h), so all of
 * pyflare's writers work on the result. Two ways in, chosen at compile time:
 *   3.12+   sys.monitoring (PEP 669), tool id 2 (PROFILER_ID): PY_START,
 *           PY_RESUME, PY_THROW, PY_RETURN, PY_YIELD, PY_UNWIND, and CALL +
 *           C_RETURN + C_RAISE for builtins. The callbacks are vectorcall
 *           objects, so the interpreter calls the C functions directly. Events are
 *           global: every thread is profiled, including ones already running.
 *   <3.12   the C profile hook (PyEval_SetProfile), set on every existing
 *           thread state of the interpreter and, through threading.setprofile,
 *           on threads started while enabled.
 *
 * Per thread, a shadow stack (a C array) mirrors the frames that started while
 * enabled: (node, start time, time spent in callees). A call descends from the
 * top entry's node to the callee's child node; a return adds the elapsed time
 * to the node: self += elapsed - callees, and total += elapsed unless the node
 * is a recursive occurrence (its function is also one of its ancestors, which
 * in a call tree is exactly "already on the shadow stack below"), so summing
 * totals per function never counts recursion twice. Entries are keyed by the
 * running frame (C frame pointer) or, for builtins, by their PyMethodDef, so a
 * return that does not match the top (a frame that started before enable(), a
 * missed event) either unwinds to its entry or is ignored: the stack stays
 * balanced whatever happens.
 *
 * Threads share one tree (like cProfile) unless threads=True, which puts each
 * thread's calls under a PF_FUNC_THREAD root node; every thread seen is also
 * recorded in the profile's thread table. Each thread records into its own
 * structure (thread_ctx): its shadow stack, its own small call tree whose
 * nodes carry the weights and point at the profile's node for the same path,
 * and its own call-site cache. The profile's tree, strings and the thread
 * table are touched only on slow paths (a call path this thread has not seen,
 * a new thread) and when the threads' trees are merged into the profile
 * (publish(): write(), stats(), tree(); disable() closes open frames). With a
 * GIL, the GIL serializes all of it. On a free-threaded build (3.13t) those
 * rare paths take one mutex (model_lock, a PyMutex: it detaches the thread
 * state while it waits, so a stop-the-world pause never deadlocks on it), and
 * the common event takes none: a thread marks itself busy in its own slot,
 * checks that no reader has begun since it last held the lock (an epoch), and
 * works on its own structure; a reader, holding the lock, bumps the epoch and
 * waits for every busy mark to clear (quiesce()), so events that follow wait
 * for the lock instead. Threads calling in parallel share no cache line on
 * the hot path. A thread that has ended is folded into the profile's sums
 * (retire()) and its structure freed, so thread churn does not pile up.
 *
 * Generators and coroutines count one call per start (3.12+: PY_START; before:
 * the first entry of the frame). Resumptions re-enter the node without counting
 * a call, and suspended time is not counted. cProfile counts every resumption
 * as a call instead.
 *
 * Speed: no Python object is created on the hot path. A direct-mapped cache of
 * (parent node, code) -> child node skips both the code -> frame lookup and the
 * tree's hash lookup on repeated calls; code objects are kept alive (strong
 * references) so their addresses stay valid keys. The wall clock is the TSC
 * where the CPU has an invariant one (calibrated against CLOCK_MONOTONIC),
 * since in VMs clock_gettime() costs several times more. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#elif PY_VERSION_HEX < 0x030C0000
#include <opcode.h> /* RESUME: tells a generator's start from its resumption */
#endif

#include <pythread.h>
#include <pthread.h>
#include <sched.h>

#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030E0000
#error "pyflare._tracer supports free-threaded CPython 3.13 only"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#include "output/writer.h"
#include "profile/profile.h"
#include "base/u64map.h"
#include "cli/options.h"
#include "write.h"

#if PY_VERSION_HEX >= 0x030C0000
#define USE_MONITORING 1
#else
#define USE_MONITORING 0
#endif

#define PROFILER_ID 2            /* sys.monitoring.PROFILER_ID */
#define SITE_BITS 12             /* call-site cache: 4096 slots */
#define GEN_FLAGS (CO_GENERATOR | GEN_FLAGS_PY3)
#if PY_MAJOR_VERSION >= 3
#define GEN_FLAGS_PY3 (CO_COROUTINE | CO_ASYNC_GENERATOR)
#else
#define GEN_FLAGS_PY3 0
#endif

/* ---------------------------------------------------------------- clocks */

typedef enum { TIMER_TSC, TIMER_MONO, TIMER_CPU, TIMER_NONE } timer_kind;

static uint64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if HAVE_TSC
/* The TSC is only a clock when it ticks at a constant rate through frequency
 * changes and idle states; Linux says so with these two cpuinfo flags. */
static int tsc_usable(void) {
    const char *env = getenv("PYFLARE_TSC");
    if (env && *env == '0')
        return 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char line[8192];
    int ok = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
        break;
    }
    fclose(f);
    return ok;
}
#endif

/* TSC -> nanoseconds: one (CLOCK_MONOTONIC, TSC) pair taken at import and one
 * taken when converting. Over a real run the interval is long, so the ratio is
 * precise with no calibration spin; only a very short one waits out 20 ms. */
static int tsc_ok;
static uint64_t tsc_base_ns, tsc_base_ticks;

static double tsc_ns_per_tick(void) {
#if HAVE_TSC
    uint64_t ns = clock_ns(CLOCK_MONOTONIC), ticks = __rdtsc();
    while (ns - tsc_base_ns < 20000000u) {
        ns = clock_ns(CLOCK_MONOTONIC);
        ticks = __rdtsc();
    }
    if (ticks <= tsc_base_ticks)
        return 1.0;
    return (double)(ns - tsc_base_ns) / (double)(ticks - tsc_base_ticks);
#else
    return 1.0;
#endif
}

/* ----------------------------------------------------------- the profiler */

typedef struct node_stat {
    uint64_t self, total, calls;  /* in timer ticks */
    uint32_t recursive;           /* the node's function is also an ancestor */
} node_stat;

/* A node of one thread's own tree: local id 0 is the sink of unrecorded
 * entries (out of memory), 1 the thread's root; `global` is the profile's
 * node for the same call path. */
typedef struct local_node {
    uint64_t self, total, calls;  /* in timer ticks */
    pf_node_id global;
    uint32_t recursive;
} local_node;
#define LOCAL_ROOT 1u

/* Per OS thread, never freed (a thread's memory may be looked at after it
 * ended): whether it is inside an event's lock-free part, and a generation
 * bumped when the thread exits (a destructor of slot_key), which is how a
 * profile learns that one of its threads has ended. Slots of ended threads
 * are reused by new ones. */
typedef struct thread_slot {
    int busy;
    unsigned gen;
    int in_use;
    struct thread_slot *next;
} thread_slot;

typedef struct shadow_entry {
    const void *key;              /* running frame, or PyMethodDef for a builtin */
    uint64_t start;               /* timer at entry (or resumption) */
    uint64_t callees;             /* time spent in entries above this one */
    uint32_t node;                /* in the thread's own tree; 0: not recorded (out of memory) */
} shadow_entry;

typedef struct site_slot site_slot;

typedef struct thread_ctx {
    PyThreadState *ts;
    uint64_t ts_id;               /* survives the thread state's address being reused */
    uint32_t thread;              /* index in the profile's thread table */
    uint64_t ident;
    pf_node_id root;              /* PF_ROOT, or the thread's node (threads=True) */
    shadow_entry *stack;
    size_t depth, cap;
    uint64_t last;                /* timer at the last event: closes its stack on disable */
    int named;                    /* the threading module's name is known */
    int failed;                   /* out of memory on its own structure */
    /* Its own tree (NULL once retired): nodes by local id, and the local id
     * of each profile node it has reached. */
    local_node *nodes;
    size_t nnodes, nodes_cap;
    u64map local_of;
    site_slot *sites;             /* (code, parent) -> child, local ids */
    thread_slot *slot;            /* its OS thread's slot, and that slot's */
    unsigned slot_gen;            /* generation when the thread was met */
} thread_ctx;

struct site_slot {
    const void *code;             /* code object or PyMethodDef */
    uint32_t parent, child;       /* local ids */
};

typedef struct Profiler {
    PyObject_HEAD
    pf_profile *prof;
    timer_kind timer;
    int clock_cpu;                /* clock='cpu' */
    int builtins, threads;
    int noop;                     /* bench: callbacks return at once */
    int all_threads;              /* 0: only the thread that called enable() */
    int disable_py_calls;         /* 3.12+: CALL events off at sites calling Python functions */
    PyThreadState *only_ts;       /* that thread (all_threads=0) */
    uint64_t only_ts_id;
    int enabled;
    node_stat *stats;             /* per profile node: recursion flag, and the sums of retired threads */
    size_t nstats, stats_cap;
    u64map keys;                  /* code / PyMethodDef address -> frame id */
    PyObject **owned;             /* code objects kept alive while keys */
    size_t nowned, owned_cap;
    thread_ctx **threads_v;
    size_t nthreads, threads_cap;
    size_t nlive, retire_mark;    /* threads not retired; when to look for ended ones */
    u64map thread_map;            /* thread state id -> index in threads_v */
    PyThreadState *last_ts;       /* one-entry cache: the thread of the last event */
    uint64_t last_ts_id;
    thread_ctx *last_ctx;
    uint64_t enabled_at_ns, duration_ns, start_unix_ns;
    long pid;                     /* the process it belongs to: a fork()ed copy neither runs nor writes */
    int failed;                   /* out of memory: the profile is incomplete */
} Profiler;

static PyTypeObject ProfilerType;
/* The enabled profiler (one at a time): set under model_lock, read anywhere
 * (atomically: free-threaded callbacks look at it without the lock). */
static Profiler *active;
static int py_sites_off;          /* the enabled profiler's disable_py_calls (bench) */
static inline Profiler *active_now(void) { return __atomic_load_n(&active, __ATOMIC_ACQUIRE); }
static inline void set_active(Profiler *p) {
    __atomic_store_n(&py_sites_off, p ? p->disable_py_calls : 0, __ATOMIC_RELAXED);
    __atomic_store_n(&active, p, __ATOMIC_RELEASE);
}

/* Thread slots (see thread_slot): one per OS thread that has met a profile,
 * found through a pthread key whose destructor marks the thread ended. The
 * list only grows (a slot of an ended thread is taken again), so walking it
 * needs no lock. */
static pthread_key_t slot_key;
static int slots_ok;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static thread_slot *slots_head;

static void slot_release(void *v) {
    thread_slot *s = v;
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&s->gen, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&s->in_use, 0, __ATOMIC_RELEASE);
}

/* A fork()ed child has one thread: the others' slots are ended there (one
 * of them may have been inside an event, its busy mark never to clear). */
static void slots_after_fork(void) {
    thread_slot *mine = slots_ok ? pthread_getspecific(slot_key) : NULL;
    for (thread_slot *s = __atomic_load_n(&slots_head, __ATOMIC_ACQUIRE); s; s = s->next)
        if (s != mine && __atomic_load_n(&s->in_use, __ATOMIC_ACQUIRE))
            slot_release(s);
}

static void slots_init(void) {
    slots_ok = pthread_key_create(&slot_key, slot_release) == 0 && pthread_atfork(NULL, NULL, slots_after_fork) == 0;
}

/* This thread's slot; NULL when out of memory (its events then always take
 * the slow path, and its context is never retired). */
static thread_slot *my_slot(void) {
    pthread_once(&slots_once, slots_init);
    if (!slots_ok)
        return NULL;
    thread_slot *s = pthread_getspecific(slot_key);
    if (s)
        return s;
    for (s = __atomic_load_n(&slots_head, __ATOMIC_ACQUIRE); s; s = s->next) {
        int unused = 0;
        if (__atomic_compare_exchange_n(&s->in_use, &unused, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            break;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        s->in_use = 1;
        s->next = __atomic_load_n(&slots_head, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&slots_head, &s->next, s, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            ;
    }
    if (pthread_setspecific(slot_key, s)) {
        __atomic_store_n(&s->in_use, 0, __ATOMIC_RELEASE);
        return NULL;
    }
    return s;
}

/* Free-threaded builds: the lock around `active`, the profile and the
 * threads' structures (see the top), taken on slow paths only.
 * model_enter() returns 0, taking nothing, when this thread already holds it:
 * an event raised by our own work (a finalizer run by a collection while a
 * method builds its result) is not profiled, and a method called from there
 * runs under the lock already held. With a GIL both are free no-ops. */
#ifdef Py_GIL_DISABLED
/* A ThreadSanitizer build of the module (tests/tracer/tsan.sh) runs inside an
 * uninstrumented interpreter, whose PyMutex it cannot see: tell it. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) /* clang's way of saying it */
#define PYFLARE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(PYFLARE_TSAN)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_ACQUIRE(a) __tsan_acquire(a)
#define TSAN_RELEASE(a) __tsan_release(a)
#else
#define TSAN_ACQUIRE(a) ((void)0)
#define TSAN_RELEASE(a) ((void)0)
#endif
#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#endif
static PyMutex model_lock;
/* Bumped (under the lock) by every reader, and whenever `active` changes. */
static uint64_t epoch = 1;
/* membarrier(2) works here: a reader makes every CPU order its memory
 * accesses, so the hot path needs no fence of its own (else it exchanges). */
static int membarrier_ok;
/* This thread's view, valid while `epoch` is what it was when taken under
 * the lock: its slot, the enabled profile and its context in it. Initial
 * exec: a plain %fs-relative access on the hot path. */
static _Thread_local __attribute__((tls_model("initial-exec"))) struct {
    thread_slot *slot;
    Profiler *p;
    thread_ctx *t;
    uint64_t epoch;
    int held;                     /* this thread holds model_lock */
} tls;

static inline int model_enter(void) {
    if (tls.held)
        return 0;
    PyMutex_Lock(&model_lock);
    TSAN_ACQUIRE(&model_lock);
    tls.held = 1;
    return 1;
}
static inline void model_leave(void) {
    tls.held = 0;
    TSAN_RELEASE(&model_lock);
    PyMutex_Unlock(&model_lock);
}

/* An event's lock-free part begins: 1 with this thread's profile and
 * context (NULL: a thread the profile leaves out), or 0 when it must take
 * the lock (a reader has come since it last did, or it never did, or it
 * holds the lock already). */
static inline int fast_enter(Profiler **pp, thread_ctx **tp) {
    thread_slot *s = tls.slot;
    if (__builtin_expect(!s || tls.held, 0))
        return 0;
    if (__builtin_expect(membarrier_ok, 1)) {
        __atomic_store_n(&s->busy, 1, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST); /* store before load; membarrier() orders them across CPUs */
    } else {
        __atomic_exchange_n(&s->busy, 1, __ATOMIC_SEQ_CST);
    }
    if (__builtin_expect(__atomic_load_n(&epoch, __ATOMIC_SEQ_CST) != tls.epoch, 0)) {
        __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
        return 0;
    }
    *pp = tls.p;
    *tp = tls.t;
    return 1;
}

static inline void fast_leave(void) { __atomic_store_n(&tls.slot->busy, 0, __ATOMIC_RELEASE); }

/* Under the lock: this thread's next events may go lock-free with (p, t). */
static inline void fast_allow(Profiler *p, thread_ctx *t) {
    if (!tls.slot)
        tls.slot = my_slot();
    tls.p = p;
    tls.t = t;
    tls.epoch = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST);
}

/* Under the lock: from here until the lock is released, no thread is inside
 * an event's lock-free part (each sees the new epoch and waits for the lock),
 * so every thread's structure may be read or changed. Also what makes a
 * thread's view (tls) stale when `active` or the contexts change. */
static void quiesce(void) {
    __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST);
    if (membarrier_ok)
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (thread_slot *s = __atomic_load_n(&slots_head, __ATOMIC_ACQUIRE); s; s = s->next)
        for (unsigned spins = 0; s != tls.slot && __atomic_load_n(&s->busy, __ATOMIC_SEQ_CST); spins++)
            if (spins > 100)
                sched_yield(); /* it is between two instructions of an event, or descheduled there */
}

static void quiesce_setup(void) {
    membarrier_ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
                    getenv("PYFLARE_NO_MEMBARRIER") == NULL;
}
#else
static inline int model_enter(void) { return 1; }
static inline void model_leave(void) {}
static inline void quiesce(void) {}
#endif
/* enable() and disable() run Python code (sys.monitoring, threading), during
 * which another thread may take the GIL and call them too: one switch at a
 * time, across all profiles. The lock belongs to the process that made it
 * (a fork()ed child makes its own: the parent's may be held by a thread the
 * child does not have). */
static PyThread_type_lock switch_lock;
static long switch_lock_pid;
static unsigned long switch_owner; /* thread inside a switch (a re-entry is refused, not a deadlock) */
/* The type of list.append: 2.7 does not export it as PyMethodDescr_Type. */
static PyTypeObject *method_descr_type;
static uintptr_t own_lo, own_hi; /* profiler_methods[]: our own calls are not profiled */

static inline uint64_t timer_now(const Profiler *p) {
#if HAVE_TSC
    if (__builtin_expect(p->timer == TIMER_TSC, 1))
        return __rdtsc();
#endif
    switch (p->timer) {
#if HAVE_TSC
    case TIMER_TSC:
        return __rdtsc();
#endif
    case TIMER_CPU:
        return clock_ns(CLOCK_THREAD_CPUTIME_ID);
    case TIMER_NONE:
        return 0;
    default:
        return clock_ns(CLOCK_MONOTONIC);
    }
}

/* Saves and restores the pending exception around slow paths that may call
 * into the C API: a callback must neither lose an exception in flight (a
 * 'return' event while unwinding) nor leave one of its own behind. */
#if PY_VERSION_HEX >= 0x030C0000
#define SAVE_ERR() PyObject *saved_exc_ = PyErr_GetRaisedException()
#define RESTORE_ERR() (PyErr_Clear(), PyErr_SetRaisedException(saved_exc_))
#else
#define SAVE_ERR()                                                                                 \
    PyObject *saved_t_, *saved_v_, *saved_tb_;                                                     \
    PyErr_Fetch(&saved_t_, &saved_v_, &saved_tb_)
#define RESTORE_ERR() (PyErr_Clear(), PyErr_Restore(saved_t_, saved_v_, saved_tb_))
#endif

/* UTF-8 of a str (bytes str on 2.7), or "?" for anything else. */
static const char *text_of(PyObject *o, Py_ssize_t *len) {
#if PY_MAJOR_VERSION >= 3
    if (o && PyUnicode_Check(o)) {
        const char *s = PyUnicode_AsUTF8AndSize(o, len);
        if (s)
            return s;
        PyErr_Clear();
    }
#else
    if (o && PyString_Check(o)) {
        *len = PyString_GET_SIZE(o);
        return PyString_AS_STRING(o);
    }
#endif
    *len = 1;
    return "?";
}

static int grow(void **array, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *bigger = realloc(*array, n * elem);
    if (!bigger)
        return -1;
    *array = bigger;
    *cap = n;
    return 0;
}

/* Makes stats[] cover every node of the tree. New nodes get their recursion
 * flag here, once: walking the ancestors is O(depth) but happens only when a
 * call path is first seen. */
static int stats_sync(Profiler *p) {
    size_t n;
    const pf_node *nodes = pf_nodes(p->prof, &n);
    if (n <= p->nstats)
        return 0;
    if (grow((void **)&p->stats, &p->stats_cap, n, sizeof *p->stats))
        return -1;
    size_t nf;
    const pf_frame *frames = pf_frames(p->prof, &nf);
    for (size_t i = p->nstats; i < n; i++) {
        node_stat *st = &p->stats[i];
        memset(st, 0, sizeof *st);
        pf_func_id func = frames[nodes[i].frame].func;
        for (pf_node_id a = nodes[i].parent; a != PF_ROOT; a = nodes[a].parent)
            if (frames[nodes[a].frame].func == func) {
                st->recursive = 1;
                break;
            }
    }
    p->nstats = n;
    return 0;
}

/* Remembers an address -> frame mapping; code objects are kept alive so the
 * address cannot be reused by another code object while it is a key. A frame
 * of a Python function carries the function's first line (as pstats keys do):
 * callgrind positions and source annotation then point at the def. */
static pf_frame_id remember(Profiler *p, const void *addr, PyObject *keep, pf_func_id func, int line) {
    pf_frame_id frame = func ? pf_frame_intern(p->prof, func, line) : 0;
    if (!frame)
        return 0;
    if (keep) {
        if (grow((void **)&p->owned, &p->owned_cap, p->nowned + 1, sizeof *p->owned))
            return 0;
        Py_INCREF(keep);
        p->owned[p->nowned++] = keep;
    }
    if (u64map_put(&p->keys, (uint64_t)(uintptr_t)addr, frame))
        return 0;
    return frame;
}

static pf_frame_id frame_for_code(Profiler *p, PyCodeObject *co) {
    uint32_t known = u64map_get(&p->keys, (uint64_t)(uintptr_t)co);
    if (known != U64MAP_NONE)
        return known;
    Py_ssize_t nlen, flen;
#if PY_VERSION_HEX >= 0x030B0000
    const char *name = text_of(co->co_qualname, &nlen);
#else
    const char *name = text_of(co->co_name, &nlen);
#endif
    const char *file = text_of(co->co_filename, &flen);
    pf_func_id func = pf_func_intern(p->prof, pf_intern_len(p->prof, name, (size_t)nlen),
                                     pf_intern_len(p->prof, file, (size_t)flen), co->co_firstlineno,
                                     PF_FUNC_PYTHON);
    return remember(p, co, (PyObject *)co, func, co->co_firstlineno);
}

static const char *type_name(PyTypeObject *t) { return t && t->tp_name ? t->tp_name : "?"; }

/* The type that defines ml among tp's bases, so a method called on an
 * instance of a subclass is named after its owner, as its descriptor is. Each
 * base's own dict is searched: the subclass may override the name in Python
 * and call the builtin through super(). */
static PyTypeObject *method_owner(PyTypeObject *tp, PyMethodDef *ml) {
    PyObject *mro = tp->tp_mro;
    if (!mro || !PyTuple_Check(mro))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
#if PY_VERSION_HEX >= 0x030C0000
        PyObject *dict = PyType_GetDict(base); /* static builtin types have no tp_dict */
#else
        PyObject *dict = base->tp_dict;
        Py_XINCREF(dict);
#endif
        PyObject *attr = dict ? PyDict_GetItemString(dict, ml->ml_name) : NULL; /* borrowed */
        int match = attr && Py_TYPE(attr) == method_descr_type && ((PyMethodDescrObject *)attr)->d_method == ml;
        Py_XDECREF(dict);
        if (match)
            return base;
    }
    return NULL;
}

/* Builtins are named the way cProfile names them, so pstats users find what
 * they know: "<built-in method builtins.len>", "<method 'append' of 'list'
 * objects>"; file "~", line 0. */
static pf_frame_id frame_for_builtin(Profiler *p, PyMethodDef *ml, PyObject *callable) {
    uint32_t known = u64map_get(&p->keys, (uint64_t)(uintptr_t)ml);
    if (known != U64MAP_NONE)
        return known;
    char buf[512];
    const char *meth = ml->ml_name ? ml->ml_name : "?";
    if (Py_TYPE(callable) == method_descr_type) {
        snprintf(buf, sizeof buf, "<method '%s' of '%s' objects>", meth,
                 type_name(((PyDescrObject *)callable)->d_type));
    } else {
        PyCFunctionObject *fn = (PyCFunctionObject *)callable;
        PyObject *self = fn->m_self;
        PyTypeObject *owner;
        if (self && PyType_Check(self)) {
            snprintf(buf, sizeof buf, "<built-in method %s.%s>", type_name((PyTypeObject *)self), meth);
        } else if (self && !PyModule_Check(self) && (owner = method_owner(Py_TYPE(self), ml))) {
            snprintf(buf, sizeof buf, "<method '%s' of '%s' objects>", meth, type_name(owner));
        } else {
            Py_ssize_t len = 0;
            const char *mod = NULL;
            PyObject *modobj = fn->m_module;
#if PY_MAJOR_VERSION >= 3
            if (modobj && PyUnicode_Check(modobj))
#else
            if (modobj && PyString_Check(modobj))
#endif
                mod = text_of(modobj, &len);
            else if (self && PyModule_Check(self))
                mod = PyModule_GetName(self);
            if (!mod)
                PyErr_Clear();
            if (mod && *mod)
                snprintf(buf, sizeof buf, "<built-in method %s.%s>", mod, meth);
            else
                snprintf(buf, sizeof buf, "<built-in method %s>", meth);
        }
    }
    pf_func_id func = pf_func_intern(p->prof, pf_intern(p->prof, buf), pf_intern(p->prof, "~"), 0,
                                     PF_FUNC_NATIVE);
    return remember(p, ml, NULL, func, 0);
}

/* The slow path of a call: the callee's node under parent, created on first
 * sight. obj is the code object (Python) or the callable (builtin). */
static void ctx_try_name(Profiler *p, thread_ctx *t);

/* The local id of profile node `global` in t's tree, added on first sight
 * (0 when out of memory). Under the lock: the tree grows only here. */
static uint32_t local_for(Profiler *p, thread_ctx *t, pf_node_id global) {
    uint32_t known = u64map_get(&t->local_of, global);
    if (known != U64MAP_NONE)
        return known;
    if (grow((void **)&t->nodes, &t->nodes_cap, t->nnodes + 1, sizeof *t->nodes) ||
        u64map_put(&t->local_of, global, (uint32_t)t->nnodes))
        return 0;
    local_node *n = &t->nodes[t->nnodes];
    memset(n, 0, sizeof *n);
    n->global = global;
    n->recursive = p->stats[global].recursive;
    return (uint32_t)t->nnodes++;
}

static pf_node_id child_slow(Profiler *p, thread_ctx *t, uint32_t parent, const void *code, PyObject *obj,
                             int native) {
    SAVE_ERR();
    if (!t->named)
        ctx_try_name(p, t);
    pf_frame_id frame = native ? frame_for_builtin(p, (PyMethodDef *)(uintptr_t)code, obj)
                               : frame_for_code(p, (PyCodeObject *)obj);
    pf_node_id child = frame ? pf_node_child(p->prof, t->nodes[parent].global, frame) : 0;
    if (child && stats_sync(p))
        child = 0;
    uint32_t local = child ? local_for(p, t, child) : 0;
    RESTORE_ERR();
    if (!local)
        p->failed = 1;
    return local;
}

static inline size_t site_hash(const void *code, uint32_t parent) {
    uint64_t h = ((uint64_t)(uintptr_t)code ^ ((uint64_t)parent << 40)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> (64 - SITE_BITS));
}

/* The hot path is push() and pop() inlined into each callback, with what is
 * rare (first sight of a call path, a full shadow stack, a return that is not
 * the top entry's) out of line, so the common case is a few loads and stores
 * around the clock read and keeps its registers. */
#define HOT static inline __attribute__((always_inline))
#define COLD static __attribute__((noinline, cold))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The callee's node when the call-site cache missed (under the lock); fills
 * the slot. */
COLD uint32_t site_miss(Profiler *p, thread_ctx *t, uint32_t parent, const void *code, PyObject *obj, int native) {
    uint32_t child = child_slow(p, t, parent, code, obj, native);
    if (child) {
        site_slot *s = &t->sites[site_hash(code, parent)];
        s->code = code;
        s->parent = parent;
        s->child = child;
    }
    return child;
}

/* Room for one more shadow entry; -1 when out of memory. */
COLD int stack_grow(thread_ctx *t) {
    if (grow((void **)&t->stack, &t->cap, t->depth + 1, sizeof *t->stack)) {
        t->failed = 1;
        return -1;
    }
    return 0;
}

/* A call (or a resumption, count == 0): descend to the callee's node.
 * Without the lock (locked 0) a call path this thread has not seen yet is
 * left for the caller to retry under the lock: returns -1, having changed
 * nothing. */
HOT int push(Profiler *p, thread_ctx *t, const void *key, const void *code, PyObject *obj, int native, int count,
             int locked) {
    size_t d = t->depth;
    uint32_t parent = d ? t->stack[d - 1].node : LOCAL_ROOT;
    const site_slot *s = &t->sites[site_hash(code, parent)];
    uint32_t child;
    if (LIKELY(s->code == code && s->parent == parent))
        child = s->child;
    else if (!parent)
        child = 0; /* under an unrecorded entry (out of memory): stay unrecorded */
    else if (!locked)
        return -1;
    else
        child = site_miss(p, t, parent, code, obj, native);
    if (UNLIKELY(d == t->cap) && stack_grow(t) < 0)
        return 0; /* the matching return will find no entry and be ignored */
    shadow_entry *e = &t->stack[d];
    t->depth = d + 1;
    e->key = key;
    e->node = child;
    e->callees = 0;
    if (count)
        t->nodes[child].calls++;
    /* Read last, so this bookkeeping is not charged to the callee. */
    e->start = t->last = timer_now(p);
    return 0;
}

/* Adds one closed entry's time to its node. */
static inline void close_entry(thread_ctx *t, shadow_entry *e, size_t below, uint64_t now) {
    /* A clock read on another CPU may be a hair behind: never go negative. */
    uint64_t elapsed = now > e->start ? now - e->start : 0;
    uint64_t callees = e->callees < elapsed ? e->callees : elapsed;
    local_node *n = &t->nodes[e->node];
    n->self += elapsed - callees;
    if (!n->recursive)
        n->total += elapsed;
    if (below)
        e[-1].callees += elapsed;
}

/* Closes entries down to (and including) index `to`, all ending at `now`. */
static inline void pop_to(thread_ctx *t, size_t to, uint64_t now) {
    while (t->depth > to) {
        shadow_entry *e = &t->stack[--t->depth];
        close_entry(t, e, t->depth, now);
    }
}

/* A return that is not the top entry's: deeper means returns were missed
 * (unwind to it); absent means the frame started before enable() (ignore). */
COLD void pop_deep(thread_ctx *t, const void *key, uint64_t now) {
    size_t d = t->depth;
    while (d-- > 0)
        if (t->stack[d].key == key) {
            pop_to(t, d, now);
            return;
        }
}

/* A return (or yield, unwind): pops the entry keyed `key`, the top one in
 * all but odd cases. */
HOT void pop(Profiler *p, thread_ctx *t, const void *key) {
    uint64_t now = t->last = timer_now(p);
    size_t d = t->depth;
    if (UNLIKELY(!d || t->stack[d - 1].key != key)) {
        pop_deep(t, key, now);
        return;
    }
    t->depth = d - 1;
    close_entry(t, &t->stack[d - 1], d - 1, now);
}

static inline uint64_t ts_unique_id(PyThreadState *ts) {
#if PY_VERSION_HEX >= 0x03070000
    return ts->id;
#else
    return (uint64_t)ts->thread_id;
#endif
}

/* The threading module's name for thread `ident`, read from threading._active
 * without running Python code (Thread._name is a plain attribute). */
static int thread_name(uint64_t ident, char *buf, size_t cap) {
    snprintf(buf, cap, "Thread %llu", (unsigned long long)ident);
    PyObject *modules = PySys_GetObject("modules"); /* borrowed */
    PyObject *threading = modules ? PyDict_GetItemString(modules, "threading") : NULL;
    if (!threading)
        return 0;
    PyObject *act = PyObject_GetAttrString(threading, "_active");
    PyObject *key = act ? PyLong_FromUnsignedLongLong((unsigned long long)ident) : NULL;
    PyObject *th = key && PyDict_Check(act) ? PyDict_GetItem(act, key) : NULL; /* borrowed */
    PyObject *name = th ? PyObject_GetAttrString(th, "_name") : NULL;
    if (th && !name) { /* Python 2: a private, mangled attribute */
        PyErr_Clear();
        name = PyObject_GetAttrString(th, "_Thread__name");
    }
    Py_ssize_t len;
    int found = 0;
    if (name) {
        const char *s = text_of(name, &len);
        if (strcmp(s, "?")) {
            snprintf(buf, cap, "%s", s);
            found = 1;
        }
    }
    Py_XDECREF(name);
    Py_XDECREF(key);
    Py_XDECREF(act);
    PyErr_Clear();
    return found;
}

/* Names a thread whose first event came before the threading module knew it
 * (3.12+ sees Thread._bootstrap first): in the thread table, and in its root
 * node's function. That function is this thread's alone (its firstline is the
 * thread's index; it is never interned again), so renaming it in place cannot
 * confuse the model's interning. Tried on slow paths only, until it works. */
static void ctx_try_name(Profiler *p, thread_ctx *t) {
    char name[256];
    if (!thread_name(t->ident, name, sizeof name))
        return;
    t->named = 1;
    pf_thread_set_name(p->prof, t->thread, name);
    if (t->root != PF_ROOT) {
        size_t n;
        const pf_node *nodes = pf_nodes(p->prof, &n);
        const pf_frame *frames = pf_frames(p->prof, &n);
        pf_func_set_name(p->prof, frames[nodes[t->root].frame].func, pf_intern(p->prof, name));
    }
}

/* Gives t its own tree (the sink and its root), call-site cache and its OS
 * thread's slot. 0, or -1 when out of memory. */
static int ctx_locals(Profiler *p, thread_ctx *t) {
    t->sites = calloc((size_t)1 << SITE_BITS, sizeof *t->sites);
    if (!t->sites || grow((void **)&t->nodes, &t->nodes_cap, 2, sizeof *t->nodes) ||
        u64map_put(&t->local_of, t->root, LOCAL_ROOT))
        return -1;
    memset(t->nodes, 0, 2 * sizeof *t->nodes);
    t->nodes[LOCAL_ROOT].global = t->root;
    t->nnodes = 2;
    t->slot = my_slot();
    t->slot_gen = t->slot ? __atomic_load_n(&t->slot->gen, __ATOMIC_ACQUIRE) : 0;
    p->nlive++;
    return 0;
}

/* Whether t's OS thread has ended (then none of its events can be running). */
static int ctx_ended(const thread_ctx *t) {
    return t->sites && t->slot && __atomic_load_n(&t->slot->gen, __ATOMIC_ACQUIRE) != t->slot_gen;
}

static void ctx_free_locals(thread_ctx *t) {
    free(t->stack);
    free(t->nodes);
    free(t->sites);
    u64map_free(&t->local_of);
    t->stack = NULL;
    t->nodes = NULL;
    t->sites = NULL;
    t->depth = t->cap = t->nnodes = t->nodes_cap = 0;
}

/* Folds an ended thread's tree into the profile's sums (p->stats) and frees
 * it; frames it left open close at its last event. Under the lock. */
static void ctx_retire(Profiler *p, thread_ctx *t) {
    pop_to(t, 0, t->last);
    for (size_t i = LOCAL_ROOT; i < t->nnodes; i++) {
        node_stat *st = &p->stats[t->nodes[i].global];
        st->self += t->nodes[i].self;
        st->total += t->nodes[i].total;
        st->calls += t->nodes[i].calls;
    }
    if (t->failed)
        p->failed = 1;
    ctx_free_locals(t);
    p->nlive--;
    if (p->last_ctx == t) {
        p->last_ts = NULL;
        p->last_ctx = NULL;
    }
}

static void retire_ended(Profiler *p) {
    for (size_t i = 0; i < p->nthreads; i++)
        if (ctx_ended(p->threads_v[i]))
            ctx_retire(p, p->threads_v[i]);
    p->retire_mark = 2 * p->nlive + 16; /* looked for again when twice as many live */
}

/* First event of a thread: its context, thread table entry and root. */
static thread_ctx *ctx_new(Profiler *p, PyThreadState *ts, uint64_t id) {
    SAVE_ERR();
    if (p->nlive >= p->retire_mark)
        retire_ended(p);
    thread_ctx *t = calloc(1, sizeof *t);
    /* An id seen before belonged to a thread that has ended (before 3.7 ids
     * are reused): the new thread gets a context, thread entry and root of
     * its own. */
    u64map_slot *known = u64map_slot_for(&p->thread_map, id);
    if (known && known->value != U64MAP_NONE && t &&
        !grow((void **)&p->threads_v, &p->threads_cap, p->nthreads + 1, sizeof *p->threads_v))
        known->value = (uint32_t)p->nthreads;
    else if (!t || grow((void **)&p->threads_v, &p->threads_cap, p->nthreads + 1, sizeof *p->threads_v) ||
             u64map_put(&p->thread_map, id, (uint32_t)p->nthreads)) {
        free(t);
        RESTORE_ERR();
        p->failed = 1;
        return NULL;
    }
    t->ts = ts;
    t->ts_id = id;
    t->ident = (uint64_t)PyThread_get_thread_ident();
#if PY_VERSION_HEX >= 0x03080000
    int64_t native = (int64_t)PyThread_get_thread_native_id();
#else
    int64_t native = (int64_t)syscall(SYS_gettid);
#endif
    char name[256];
    t->named = thread_name(t->ident, name, sizeof name);
    t->thread = pf_thread_add(p->prof, 0, t->ident, native, name);
    t->root = PF_ROOT;
    if (p->threads) {
        /* firstline = thread index keeps two threads of the same name apart. */
        pf_func_id func = pf_func_intern(p->prof, pf_intern(p->prof, name), 0, (int)t->thread, PF_FUNC_THREAD);
        pf_frame_id frame = func ? pf_frame_intern(p->prof, func, 0) : 0;
        t->root = frame ? pf_node_child(p->prof, PF_ROOT, frame) : 0;
        if (!t->root || stats_sync(p))
            p->failed = 1;
    }
    p->threads_v[p->nthreads++] = t;
    if (ctx_locals(p, t) < 0) {
        ctx_free_locals(t);
        p->failed = 1;
        t = NULL;
    }
    RESTORE_ERR();
    return t;
}

/* The context of the thread running ts, or NULL (not profiled, or out of
 * memory). Under the lock; on a free-threaded build its next events then
 * go lock-free. */
static inline thread_ctx *ctx_get(Profiler *p, PyThreadState *ts) {
    uint64_t id = ts_unique_id(ts);
    thread_ctx *t = NULL;
    if (ts == p->last_ts && id == p->last_ts_id) {
        t = p->last_ctx;
    } else if (p->all_threads || (ts == p->only_ts && id == p->only_ts_id)) { /* 3.12+: events are global */
        uint32_t i = u64map_get(&p->thread_map, id);
        t = i != U64MAP_NONE ? p->threads_v[i] : NULL;
        if (t && (!t->sites || ctx_ended(t))) { /* the id of an ended thread, come back (before 3.7) */
            if (t->sites)
                ctx_retire(p, t);
            t = NULL;
        }
        if (!t)
            t = ctx_new(p, ts, id);
        if (t) {
            t->ts = ts;
            p->last_ts = ts;
            p->last_ts_id = id;
            p->last_ctx = t;
        }
    }
#ifdef Py_GIL_DISABLED
    fast_allow(p, t);
#endif
    return t;
}

static inline int own_method(const PyMethodDef *ml) {
    uintptr_t a = (uintptr_t)ml;
    return a >= own_lo && a < own_hi;
}

/* ------------------------------------------------------- the 3.12+ events */
#if USE_MONITORING

static PyObject *mon_disable; /* sys.monitoring.DISABLE */

static inline const void *current_frame(PyThreadState *ts) {
#if PY_VERSION_HEX >= 0x030D0000
    return ts->current_frame;
#else
    return ts->cframe->current_frame;
#endif
}

/* The PyMethodDef of a builtin callable (function, bound or unbound method), or NULL. */
static inline PyMethodDef *builtin_def(PyObject *callable) {
    if (PyCFunction_Check(callable))
        return ((PyCFunctionObject *)callable)->m_ml;
    if (Py_TYPE(callable) == method_descr_type)
        return ((PyMethodDescrObject *)callable)->d_method;
    return NULL;
}

/* One event on this thread's context: a call (push) or a return (pop).
 * Free-threaded: lock-free when it can be (fast_enter), else, and for a call
 * path this thread meets first, under the lock. ts may be NULL (found here). */
HOT void run_event(int is_push, PyThreadState *ts, const void *key, const void *code, PyObject *obj, int native,
                   int count) {
    Profiler *p;
    thread_ctx *t;
#ifdef Py_GIL_DISABLED
    if (fast_enter(&p, &t)) {
        int again = 0;
        if (t && !p->noop) {
            if (is_push)
                again = push(p, t, key, code, obj, native, count, 0);
            else
                pop(p, t, key);
        }
        fast_leave();
        if (!again)
            return;
    }
#endif
    if (!model_enter())
        return;
    p = active_now();
    /* A no-op profile (bench) still registers the thread: its next events go lock-free. */
    t = p ? ctx_get(p, ts ? ts : PyThreadState_Get()) : NULL;
    if (t && !p->noop) {
        if (is_push)
            push(p, t, key, code, obj, native, count, 1);
        else
            pop(p, t, key);
    }
    model_leave();
}

static inline void mon_enter(PyObject *const *args, Py_ssize_t nargs, int count) {
    if (nargs < 1)
        return;
    PyThreadState *ts = PyThreadState_Get();
    run_event(1, ts, current_frame(ts), args[0], args[0], 0, count);
}

static PyObject *mon_start(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    mon_enter(args, nargs, 1);
    Py_RETURN_NONE;
}

static PyObject *mon_resume(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    mon_enter(args, nargs, 0);
    Py_RETURN_NONE;
}

static PyObject *mon_leave(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    PyThreadState *ts = PyThreadState_Get();
    run_event(0, ts, current_frame(ts), NULL, NULL, 0, 0);
    Py_RETURN_NONE;
}

static PyObject *mon_call(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 3)
        Py_RETURN_NONE;
    /* Most calls are of Python functions, whose PY_START is what counts:
     * out at once, without the subtype checks of builtin_def. */
    PyTypeObject *tp = Py_TYPE(args[2]);
    int sites_off = __atomic_load_n(&py_sites_off, __ATOMIC_RELAXED);
    if ((tp == &PyFunction_Type || tp == &PyMethod_Type) && !sites_off)
        Py_RETURN_NONE;
    PyMethodDef *ml = builtin_def(args[2]);
    if (ml) {
        if (!own_method(ml))
            run_event(1, NULL, ml, ml, args[2], 1, 1);
    } else if (sites_off && PyFunction_Check(args[2]) && mon_disable && active_now()) {
        Py_INCREF(mon_disable);
        return mon_disable;
    }
    Py_RETURN_NONE;
}

static PyObject *mon_c_return(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyMethodDef *ml = nargs >= 3 ? builtin_def(args[2]) : NULL;
    if (ml && !own_method(ml))
        run_event(0, NULL, ml, NULL, NULL, 1, 0);
    Py_RETURN_NONE;
}

/* A callback is a minimal callable whose vectorcall slot is the C function
 * itself: the interpreter calls it directly, without the argument checks and
 * recursion guard a builtin function's vectorcall adds (a few ns per event,
 * which at three events per Python call is measurable). */
typedef struct Callback {
    PyObject_HEAD
    vectorcallfunc vectorcall;
} Callback;

static PyTypeObject CallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyflare._tracer._Callback",
    .tp_basicsize = sizeof(Callback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Callback, vectorcall),
    .tp_call = PyVectorcall_Call,
};

static const vectorcallfunc mon_defs[] = {mon_start, mon_resume, mon_leave, mon_call, mon_c_return};

/* Which callback serves which event. */
static const struct {
    const char *event;
    int def;      /* index in mon_defs */
    int builtin;  /* only with builtins=True */
} mon_events[] = {
    {"PY_START", 0, 0},  {"PY_RESUME", 1, 0}, {"PY_THROW", 1, 0}, {"PY_RETURN", 2, 0},
    {"PY_YIELD", 2, 0},  {"PY_UNWIND", 2, 0}, {"CALL", 3, 1},     {"C_RETURN", 4, 1},
    {"C_RAISE", 4, 1},
};
#define N_MON_EVENTS (sizeof mon_events / sizeof mon_events[0])
static PyObject *mon_funcs[5];

/* sys.monitoring, new reference (no import: see loaded_module). */
static PyObject *monitoring(void) {
    PyObject *mon = PySys_GetObject("monitoring"); /* borrowed */
    if (!mon)
        PyErr_SetString(PyExc_RuntimeError, "sys.monitoring is missing");
    Py_XINCREF(mon);
    return mon;
}

static int monitoring_install(Profiler *p) {
    PyObject *mon = monitoring();
    if (!mon)
        return -1;
    PyObject *r = PyObject_CallMethod(mon, "use_tool_id", "is", PROFILER_ID, "pyflare");
    if (!r) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear(); /* no call with an exception pending (a debug build asserts) */
            PyObject *who = PyObject_CallMethod(mon, "get_tool", "i", PROFILER_ID);
            PyErr_Clear();
            Py_ssize_t len;
            PyErr_Format(PyExc_RuntimeError, "another profiler (%s) is using sys.monitoring tool id %d",
                         who && who != Py_None ? text_of(who, &len) : "?", PROFILER_ID);
            Py_XDECREF(who);
        }
        Py_DECREF(mon);
        return -1;
    }
    Py_DECREF(r);
    if (!mon_disable)
        mon_disable = PyObject_GetAttrString(mon, "DISABLE");
    PyObject *events = PyObject_GetAttrString(mon, "events");
    long mask = 0;
    int ok = events != NULL;
    for (size_t i = 0; ok && i < N_MON_EVENTS; i++) {
        if (mon_events[i].builtin && !p->builtins)
            continue;
        PyObject *bit = PyObject_GetAttrString(events, mon_events[i].event);
        long b = bit ? PyLong_AsLong(bit) : -1;
        Py_XDECREF(bit);
        r = b >= 0 ? PyObject_CallMethod(mon, "register_callback", "ilO", PROFILER_ID, b,
                                         mon_funcs[mon_events[i].def])
                   : NULL;
        Py_XDECREF(r);
        ok = r != NULL;
        mask |= b;
    }
    r = ok ? PyObject_CallMethod(mon, "set_events", "il", PROFILER_ID, mask) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(events);
    if (!r) {
        PyObject *f = PyObject_CallMethod(mon, "free_tool_id", "i", PROFILER_ID);
        Py_XDECREF(f);
    }
    Py_DECREF(mon);
    return r ? 0 : -1;
}

static void monitoring_remove(void) {
    SAVE_ERR();
    PyObject *mon = monitoring();
    PyObject *events = mon ? PyObject_GetAttrString(mon, "events") : NULL;
    if (events) {
        PyObject *r = PyObject_CallMethod(mon, "set_events", "ii", PROFILER_ID, 0);
        Py_XDECREF(r);
        for (size_t i = 0; i < N_MON_EVENTS; i++) {
            PyObject *bit = PyObject_GetAttrString(events, mon_events[i].event);
            r = bit ? PyObject_CallMethod(mon, "register_callback", "iOO", PROFILER_ID, bit, Py_None) : NULL;
            Py_XDECREF(r);
            Py_XDECREF(bit);
        }
        r = PyObject_CallMethod(mon, "free_tool_id", "i", PROFILER_ID);
        Py_XDECREF(r);
    }
    Py_XDECREF(events);
    Py_XDECREF(mon);
    RESTORE_ERR();
}

#else /* ------------------------------------------- the <3.12 profile hook */

static inline PyCodeObject *frame_code(PyFrameObject *f) {
#if PY_VERSION_HEX >= 0x030B0000
    PyCodeObject *co = PyFrame_GetCode(f);
    Py_DECREF(co); /* the frame keeps it alive */
    return co;
#else
    return f->f_code;
#endif
}

/* Whether a generator/coroutine frame's 'call' event is a resumption rather
 * than its start. Before 3.11 an unstarted frame has f_lasti -1; on 3.11 the
 * event fires at a RESUME instruction whose argument is 0 only at the start. */
static inline int frame_resumed(PyFrameObject *f, PyCodeObject *co) {
#if PY_VERSION_HEX >= 0x030B0000
    int lasti = PyFrame_GetLasti(f);
    if (lasti < 0)
        return 0;
    _Py_CODEUNIT word = _PyCode_CODE(co)[lasti / (int)sizeof(_Py_CODEUNIT)];
    int op = _Py_OPCODE(word);
    return !((op == RESUME || op == RESUME_QUICK) && _Py_OPARG(word) == 0);
#else
    (void)co;
    return f->f_lasti != -1;
#endif
}

static int profile_hook(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg) {
    Profiler *p = (Profiler *)obj;
    if (p != active_now() || p->noop) /* disable() has begun, or a fork()ed child */
        return 0;
    thread_ctx *t = ctx_get(p, PyThreadState_GET());
    if (!t)
        return 0;
    switch (what) {
    case PyTrace_CALL: {
        PyCodeObject *co = frame_code(frame);
        int resumed = (co->co_flags & GEN_FLAGS) && frame_resumed(frame, co);
        push(p, t, frame, co, (PyObject *)co, 0, !resumed, 1);
        break;
    }
    case PyTrace_RETURN:
        pop(p, t, frame);
        break;
    case PyTrace_C_CALL:
        if (p->builtins && arg && PyCFunction_Check(arg)) {
            PyMethodDef *ml = ((PyCFunctionObject *)arg)->m_ml;
            if (!own_method(ml))
                push(p, t, ml, ml, arg, 1, 1, 1);
        }
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        if (p->builtins && arg && PyCFunction_Check(arg))
            pop(p, t, ((PyCFunctionObject *)arg)->m_ml);
        break;
    }
    return 0;
}

/* Sets (or clears, fn NULL) the profile hook of another thread's state. We
 * hold the GIL, so that thread is not running Python code meanwhile. */
static void set_hook_on(PyThreadState *ts, Py_tracefunc fn, PyObject *obj) {
#if PY_VERSION_HEX >= 0x03090000
    if (_PyEval_SetProfile(ts, fn, obj) < 0)
        PyErr_Clear();
#else
    /* What PyEval_SetProfile does for the current thread. use_tracing is
     * lowered while the old object may be freed, in case freeing it runs code. */
    PyObject *old = ts->c_profileobj;
    Py_XINCREF(obj);
    ts->c_profilefunc = NULL;
    ts->c_profileobj = NULL;
    ts->use_tracing = ts->c_tracefunc != NULL;
    Py_XDECREF(old);
    ts->c_profilefunc = fn;
    ts->c_profileobj = obj;
    ts->use_tracing = fn != NULL || ts->c_tracefunc != NULL;
#endif
}

/* Sets our hook on every thread (on), or clears it where it is still ours
 * (off): a hook another profiler put in its place is left to it. Returns how
 * many threads carry another profiler's hook (off: it took over meanwhile). */
static int set_hook_all(Profiler *p, int on) {
    PyThreadState *me = PyThreadState_GET();
    int foreign = 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(me->interp); ts; ts = PyThreadState_Next(ts)) {
        if (!on && ts->c_profilefunc != profile_hook) {
            foreign += ts->c_profilefunc != NULL && (p->all_threads || ts == me);
            continue; /* not ours to clear */
        }
        if (ts == me)
            PyEval_SetProfile(on ? profile_hook : NULL, on ? (PyObject *)p : NULL);
        else
            set_hook_on(ts, on ? profile_hook : NULL, on ? (PyObject *)p : NULL);
    }
    return foreign;
}

/* What a profile hook is, for a message: cProfile, or sys.setprofile(f). */
static void describe_hook(PyObject *obj, char *buf, size_t cap) {
    Py_ssize_t len;
    int lsprof = 0; /* cProfile.Profile derives from _lsprof.Profiler */
    for (PyTypeObject *t = obj ? Py_TYPE(obj) : NULL; t && !lsprof; t = t->tp_base)
        lsprof = !strcmp(type_name(t), "_lsprof.Profiler");
    if (lsprof)
        snprintf(buf, cap, "cProfile");
    else if (obj && PyFunction_Check(obj))
        snprintf(buf, cap, "sys.setprofile(%s)", text_of(((PyFunctionObject *)obj)->func_name, &len));
    else
        snprintf(buf, cap, "a profile hook (%s)", obj ? type_name(Py_TYPE(obj)) : "C");
}

/* Before 3.12 a thread has one profile hook: pyflare cannot run beside
 * another profiler, and silently replacing one would break it (cProfile's
 * stacks, a coverage or tracing tool). So enable() refuses while another
 * hook is set on a thread it would profile, or threading.setprofile() would
 * be replaced. 0, or -1 with RuntimeError. */
static int refuse_foreign_hooks(Profiler *p, PyObject *threading_hook) {
    PyThreadState *me = PyThreadState_GET();
    char who[200] = "";
    int n = 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(me->interp); ts; ts = PyThreadState_Next(ts)) {
        if ((ts != me && !p->all_threads) || !ts->c_profilefunc || ts->c_profilefunc == profile_hook)
            continue;
        if (!n++)
            describe_hook(ts->c_profileobj, who, sizeof who);
    }
    if (n) {
        PyErr_Format(PyExc_RuntimeError,
                     "another profiler is active (%s, on %d thread%s): before Python 3.12 pyflare cannot share "
                     "the profile hook; stop it first",
                     who, n, n == 1 ? "" : "s");
        return -1;
    }
    if (p->all_threads && threading_hook && threading_hook != Py_None) {
        Py_ssize_t len;
        PyObject *name = PyObject_GetAttrString(threading_hook, "__name__");
        if (!name)
            PyErr_Clear();
        PyErr_Format(PyExc_RuntimeError,
                     "another profiler is active (threading.setprofile(%s)): before Python 3.12 pyflare cannot "
                     "share the profile hook; stop it first",
                     name ? text_of(name, &len) : type_name(Py_TYPE(threading_hook)));
        Py_XDECREF(name);
        return -1;
    }
    return 0;
}

/* threading.setprofile() target: runs once in each thread started while
 * enabled, installs the C hook there and forwards this first event to it. */
static PyObject *Profiler_thread_start(Profiler *self, PyObject *args) {
    PyObject *frame, *event, *arg;
    if (!PyArg_ParseTuple(args, "OOO", &frame, &event, &arg))
        return NULL;
    if (active_now() != self) {
        PyEval_SetProfile(NULL, NULL);
        Py_RETURN_NONE;
    }
    PyEval_SetProfile(profile_hook, (PyObject *)self);
    static const char *names[] = {"call", "exception", "line", "return", "c_call", "c_exception", "c_return"};
    static const int whats[] = {PyTrace_CALL,   PyTrace_EXCEPTION,   PyTrace_LINE,    PyTrace_RETURN,
                                PyTrace_C_CALL, PyTrace_C_EXCEPTION, PyTrace_C_RETURN};
    Py_ssize_t len;
    const char *ev = text_of(event, &len);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(ev, names[i]) && PyFrame_Check(frame))
            profile_hook((PyObject *)self, (PyFrameObject *)frame, whats[i], arg == Py_None ? NULL : arg);
    Py_RETURN_NONE;
}

/* A module, new reference: from sys.modules when loaded, which takes no lock.
 * enable()/disable() hold the switch lock meanwhile, and on 2.7 an import
 * takes the global import lock: a thread importing a module whose code calls
 * enable() would wait for us while we waited for it. */
static PyObject *loaded_module(const char *name) {
    PyObject *mod = PyDict_GetItemString(PyImport_GetModuleDict(), name); /* borrowed */
    if (mod) {
        Py_INCREF(mod);
        return mod;
    }
    return PyImport_ImportModule(name);
}

/* threading.setprofile(f), or None. */
static int threading_setprofile(PyObject *f) {
    PyObject *threading = loaded_module("threading");
    PyObject *r = threading ? PyObject_CallMethod(threading, "setprofile", "O", f) : NULL;
    Py_XDECREF(threading);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* The hook threading gives new threads (threading.setprofile), new reference;
 * NULL with an exception. */
static PyObject *threading_getprofile(void) {
    PyObject *threading = loaded_module("threading");
    PyObject *hook = threading ? PyObject_GetAttrString(threading, "_profile_hook") : NULL;
    Py_XDECREF(threading);
    return hook;
}
#endif

/* ------------------------------------------------------------- the object */

/* Frees what the profile holds (not enabled: no event can be using it). */
static void profiler_free_model(Profiler *p) {
    for (size_t i = 0; i < p->nowned; i++)
        Py_DECREF(p->owned[i]);
    for (size_t i = 0; i < p->nthreads; i++) {
        ctx_free_locals(p->threads_v[i]);
        free(p->threads_v[i]);
    }
    free(p->owned);
    free(p->threads_v);
    free(p->stats);
    u64map_free(&p->keys);
    u64map_free(&p->thread_map);
    pf_profile_free(p->prof);
    p->owned = NULL;
    p->threads_v = NULL;
    p->stats = NULL;
    p->prof = NULL;
    p->nowned = p->owned_cap = p->nthreads = p->threads_cap = p->nstats = p->stats_cap = 0;
    p->nlive = p->retire_mark = 0;
    memset(&p->keys, 0, sizeof p->keys);
    memset(&p->thread_map, 0, sizeof p->thread_map);
}

static int profiler_reset(Profiler *p) {
    profiler_free_model(p);
    p->last_ts = NULL;
    p->last_ctx = NULL;
    p->duration_ns = p->start_unix_ns = 0;
    p->failed = 0;
    p->prof = pf_profile_new();
    if (!p->prof || stats_sync(p)) {
        PyErr_NoMemory();
        return -1;
    }
    pf_meta m = *pf_profile_meta_const(p->prof);
    m.mode = PF_MODE_TRACED;
    m.weight_unit = "nanoseconds";
    pf_profile_set_meta(p->prof, &m);
    pf_process_add(p->prof, (int)getpid(), "");
    p->pid = (long)getpid();
    return 0;
}

static PyObject *Profiler_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    Profiler *p = (Profiler *)type->tp_alloc(type, 0);
    if (!p)
        return NULL;
    p->timer = TIMER_MONO;
    p->builtins = 1;
    p->all_threads = 1;
    if (profiler_reset(p) < 0) {
        Py_DECREF(p);
        return NULL;
    }
    return (PyObject *)p;
}

static int Profiler_init(Profiler *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"clock", "builtins", "threads", "all_threads", "_bench", NULL};
    const char *clock = "wall", *bench = "";
    PyObject *builtins = Py_True, *threads = Py_False, *all_threads = Py_True;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|sOOOs:Profile", kwlist, &clock, &builtins, &threads, &all_threads,
                                     &bench))
        return -1;
    if (self->enabled) {
        PyErr_SetString(PyExc_RuntimeError, "cannot re-initialize an enabled profile");
        return -1;
    }
    int b = PyObject_IsTrue(builtins), th = PyObject_IsTrue(threads), all = PyObject_IsTrue(all_threads);
    if (b < 0 || th < 0 || all < 0)
        return -1;
    self->all_threads = all;
    self->builtins = b;
    self->threads = th;
    self->clock_cpu = 0;
    self->noop = 0;
    self->disable_py_calls = 0;
    if (!strcmp(clock, "wall"))
        self->timer = tsc_ok ? TIMER_TSC : TIMER_MONO;
    else if (!strcmp(clock, "cpu")) {
        self->timer = TIMER_CPU;
        self->clock_cpu = 1;
    } else {
        PyErr_Format(PyExc_ValueError, "clock must be 'wall' or 'cpu', not '%s'", clock);
        return -1;
    }
    /* Bench knobs, to see where the time goes: "noop" (callbacks do nothing),
     * "notimer" (bookkeeping without clock reads), "mono" (clock_gettime). */
    if (!strcmp(bench, "noop"))
        self->noop = 1;
    else if (!strcmp(bench, "notimer"))
        self->timer = TIMER_NONE;
    else if (!strcmp(bench, "sitedisable"))
        self->disable_py_calls = 1;
    else if (!strcmp(bench, "mono"))
        self->timer = TIMER_MONO;
    else if (*bench) {
        PyErr_Format(PyExc_ValueError, "unknown _bench mode '%s'", bench);
        return -1;
    }
    return profiler_reset(self);
}

/* Enters enable()/disable(): waits (GIL released) while another thread is
 * in one. 0, or -1 with an exception. */
static int switch_begin(void) {
    unsigned long me = PyThread_get_thread_ident();
    /* Made on first use, or anew in a fork()ed child. Without a GIL two
     * threads' first enable() could each make a lock and switch at once (two
     * use_tool_id calls: seen under ASan on 3.13t): made under a mutex. */
    static pthread_mutex_t making = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&making);
    if (switch_lock_pid != (long)getpid()) {
        switch_lock = PyThread_allocate_lock();
        switch_lock_pid = (long)getpid();
        switch_owner = 0;
    }
    pthread_mutex_unlock(&making);
    if (!switch_lock) {
        PyErr_NoMemory();
        return -1;
    }
    if (switch_owner == me) {
        PyErr_SetString(PyExc_RuntimeError, "enable()/disable() called while this thread is enabling or disabling "
                                            "a profile (from a finalizer?)");
        return -1;
    }
    if (!PyThread_acquire_lock(switch_lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(switch_lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    switch_owner = me;
    return 0;
}

static void switch_end(void) {
    switch_owner = 0;
    PyThread_release_lock(switch_lock);
}

/* A profile copied into a fork()ed child holds the parent's measurements. */
static int refuse_forked_copy(Profiler *p) {
    if (p->pid == (long)getpid())
        return 0;
    PyErr_Format(PyExc_RuntimeError,
                 "this profile belongs to process %ld; process %ld is a fork()ed copy: clear() it or make a new "
                 "Profile here",
                 p->pid, (long)getpid());
    return -1;
}

static int profiler_enable(Profiler *self) {
    if (active_now() == self)
        return 0;
    if (active_now()) {
        PyErr_SetString(PyExc_RuntimeError, "another pyflare profile is already enabled");
        return -1;
    }
    if (refuse_forked_copy(self) < 0)
        return -1;
#if USE_MONITORING
    if (monitoring_install(self) < 0)
        return -1;
#else
    PyObject *hook = threading_getprofile();
    if (!hook || refuse_foreign_hooks(self, hook) < 0) {
        Py_XDECREF(hook);
        return -1;
    }
    Py_DECREF(hook);
    if (self->all_threads) {
        PyObject *starter = PyObject_GetAttrString((PyObject *)self, "_thread_start");
        int rc = starter ? threading_setprofile(starter) : -1;
        Py_XDECREF(starter);
        if (rc < 0)
            return -1;
        set_hook_all(self, 1);
    } else {
        PyEval_SetProfile(profile_hook, (PyObject *)self);
    }
#endif
    int took = model_enter();
    self->only_ts = PyThreadState_GET();
    self->only_ts_id = ts_unique_id(self->only_ts);
    self->last_ts = NULL; /* ctx_get re-checks the thread filter */
    Py_INCREF(self);
    set_active(self);
    quiesce(); /* every thread's view is stale: its next event takes the lock */
    self->enabled = 1;
    self->enabled_at_ns = clock_ns(CLOCK_MONOTONIC);
    if (!self->start_unix_ns)
        self->start_unix_ns = clock_ns(CLOCK_REALTIME);
    if (took)
        model_leave();
    return 0;
}

static PyObject *Profiler_enable(Profiler *self, PyObject *unused) {
    if (switch_begin() < 0)
        return NULL;
    int rc = profiler_enable(self);
    switch_end();
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Closes every frame still open, as if it returned now: this thread's at the
 * current time; other threads' at now (wall) or at their last event (cpu:
 * their clocks cannot be read from here). */
static void flush_stacks(Profiler *p) {
    PyThreadState *me = PyThreadState_GET();
    uint64_t now = timer_now(p);
    for (size_t i = 0; i < p->nthreads; i++) {
        thread_ctx *t = p->threads_v[i];
        uint64_t end = t->ts == me || !p->clock_cpu ? now : t->last;
        pop_to(t, 0, end);
    }
}

/* Stops profiling: first `active` (events are ignored from here on, even
 * while the hooks are removed, which runs Python code), then the frames
 * still open are closed, then the hooks go. Returns how many threads were
 * found with another profiler's hook in place of ours (before 3.12). */
static int profiler_disable(Profiler *self) {
    if (active_now() != self)
        return 0;
    /* Events already running on other threads (free-threaded) finish first;
     * later ones find no active profile. */
    int took = model_enter();
    set_active(NULL);
    quiesce();
    flush_stacks(self);
    self->enabled = 0;
    self->duration_ns += clock_ns(CLOCK_MONOTONIC) - self->enabled_at_ns;
    if (took)
        model_leave();
    int foreign = 0;
#if USE_MONITORING
    monitoring_remove();
#else
    SAVE_ERR();
    foreign = set_hook_all(self, 0);
    if (self->all_threads && threading_setprofile(Py_None) < 0)
        PyErr_Clear();
    RESTORE_ERR();
#endif
    Py_DECREF(self); /* the reference `active` held; the caller holds another */
    return foreign;
}

static PyObject *Profiler_disable(Profiler *self, PyObject *unused) {
    if (switch_begin() < 0)
        return NULL;
    int foreign = profiler_disable(self);
    switch_end();
    /* A cProfile (or sys.setprofile) started while enabled replaced our hook
     * (before 3.12 a thread has one): what ran after that is missing. */
    if (foreign > 0) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "another profiler replaced pyflare's profile hook on %d thread%s while enabled: calls after that "
                 "are missing from this profile",
                 foreign, foreign == 1 ? "" : "s");
        if (PyErr_WarnEx(PyExc_RuntimeWarning, msg, 1) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Profiler_enter(Profiler *self, PyObject *unused) {
    PyObject *r = Profiler_enable(self, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *Profiler_exit(Profiler *self, PyObject *args) { return Profiler_disable(self, NULL); }

static PyObject *Profiler_clear(Profiler *self, PyObject *unused) {
    if (self->enabled) {
        PyErr_SetString(PyExc_RuntimeError, "disable the profile before clearing it");
        return NULL;
    }
    if (profiler_reset(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static uint64_t to_ns(uint64_t ticks, double ns_per_tick) {
    return ns_per_tick == 1.0 ? ticks : (uint64_t)((double)ticks * ns_per_tick + 0.5);
}

/* Copies the measurements into the model's nodes (in nanoseconds), computes
 * the synthetic roots' totals and fills the metadata, so writers and stats()
 * see a finished profile. May run again after more profiling. */
static int publish(Profiler *p) {
    quiesce(); /* the threads' trees hold still while merged */
    retire_ended(p);
    if (stats_sync(p)) {
        PyErr_NoMemory();
        return -1;
    }
    double k = p->timer == TIMER_TSC ? tsc_ns_per_tick() : 1.0;
    size_t n, nf, nfn;
    const pf_node *nodes = pf_nodes(p->prof, &n);
    const pf_frame *frames = pf_frames(p->prof, &nf);
    const pf_func *funcs = pf_funcs(p->prof, &nfn);
    /* The sums: ended threads' (p->stats), plus each live thread's tree. */
    node_stat *sum = malloc(n * sizeof *sum);
    if (!sum) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(sum, p->stats, n * sizeof *sum);
    for (size_t i = 0; i < p->nthreads; i++) {
        const thread_ctx *t = p->threads_v[i];
        for (size_t j = LOCAL_ROOT; j < t->nnodes; j++) {
            node_stat *st = &sum[t->nodes[j].global];
            st->self += t->nodes[j].self;
            st->total += t->nodes[j].total;
            st->calls += t->nodes[j].calls;
        }
        if (t->failed)
            p->failed = 1;
    }
    /* In nanoseconds; the synthetic roots (the root, threads) measure nothing themselves. */
    for (size_t i = 0; i < n; i++) {
        int synthetic = i == PF_ROOT || funcs[frames[nodes[i].frame].func].kind == PF_FUNC_THREAD;
        sum[i].self = synthetic ? 0 : to_ns(sum[i].self, k);
        sum[i].total = synthetic ? 0 : to_ns(sum[i].total, k);
        sum[i].calls = synthetic ? 0 : sum[i].calls;
    }
    /* Children follow parents, so one backward pass feeds thread roots then the root. */
    for (size_t i = n; i-- > 1;) {
        pf_node_id parent = nodes[i].parent;
        int top = parent == PF_ROOT || funcs[frames[nodes[parent].frame].func].kind == PF_FUNC_THREAD;
        if (top)
            sum[parent].total += sum[i].total;
    }
    for (size_t i = 0; i < n; i++)
        pf_node_set_weights(p->prof, (pf_node_id)i, sum[i].self, sum[i].total, sum[i].calls);
    free(sum);
    pf_meta m = *pf_profile_meta_const(p->prof);
    m.mode = PF_MODE_TRACED;
    m.weight_unit = "nanoseconds";
    m.start_unix_ns = p->start_unix_ns;
    m.duration_ns = p->duration_ns + (p->enabled ? clock_ns(CLOCK_MONOTONIC) - p->enabled_at_ns : 0);
    char version[32];
    snprintf(version, sizeof version, "%s", Py_GetVersion());
    version[strcspn(version, " ")] = 0;
    m.python = pf_intern(p->prof, version);
    /* The command: sys.argv joined, as the sampling profiler records it. */
    PyObject *argv = PySys_GetObject("argv");
    char cmd[1024] = "";
    size_t used = 0;
    if (argv && PyList_Check(argv))
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(argv) && used < sizeof cmd - 1; i++) {
            Py_ssize_t len;
            const char *s = text_of(PyList_GET_ITEM(argv, i), &len);
            used += (size_t)snprintf(cmd + used, sizeof cmd - used, "%s%s", i ? " " : "", s);
        }
    m.command = pf_intern(p->prof, cmd);
    pf_profile_set_meta(p->prof, &m);
    for (size_t i = 0; i < p->nthreads; i++)
        if (!p->threads_v[i]->named)
            ctx_try_name(p, p->threads_v[i]);
    pf_profile_finish(p->prof);
    if (pf_profile_failed(p->prof) || p->failed) {
        PyErr_SetString(PyExc_MemoryError, "the profile ran out of memory and is incomplete");
        return -1;
    }
    return 0;
}

/* write(path, format=None, title=None): any of pyflare's output formats. */
static PyObject *Profiler_write_unlocked(Profiler *self, PyObject *args, PyObject *kw) {
    write_call w;
    PyObject *result = NULL;
    if (write_call_parse(args, kw, &w) == 0 && refuse_forked_copy(self) == 0 && publish(self) == 0) {
        out_options o;
        memset(&o, 0, sizeof o);
        o.minwidth = 0.1;
        o.top = 20;
        o.title = w.title ? w.title : "pyflare";
        o.read_source = out_read_source_named; /* the code's own files, named as this process sees them */
        result = write_call_run(&w, self->prof, &o);
    }
    write_call_done(&w);
    return result;
}

/* stats(): {(file, firstline, name): {"calls", "primitive_calls", "self_ns",
 * "total_ns", "builtin"}}, summed over every node of each function (totals of
 * recursive occurrences are already left out). */
/* The published profile's arrays, as stats() and tree() read them. */
typedef struct model_view {
    const pf_node *nodes;
    const pf_frame *frames;
    const pf_func *funcs;
    size_t n, nf, nfn;
} model_view;

static int published(Profiler *p, model_view *v) {
    if (publish(p) < 0)
        return -1;
    v->nodes = pf_nodes(p->prof, &v->n);
    v->frames = pf_frames(p->prof, &v->nf);
    v->funcs = pf_funcs(p->prof, &v->nfn);
    return 0;
}

static PyObject *Profiler_stats_unlocked(Profiler *self, PyObject *args, PyObject *kw) {
    model_view v;
    if (published(self, &v) < 0)
        return NULL;
    size_t n = v.n, nfn = v.nfn;
    const pf_node *nodes = v.nodes;
    const pf_frame *frames = v.frames;
    const pf_func *funcs = v.funcs;
    uint64_t(*agg)[4] = calloc(nfn ? nfn : 1, sizeof *agg);
    if (!agg)
        return PyErr_NoMemory();
    for (size_t i = 1; i < n; i++) {
        pf_func_id f = frames[nodes[i].frame].func;
        agg[f][0] += nodes[i].calls;
        agg[f][1] += self->stats[i].recursive ? 0 : nodes[i].calls;
        agg[f][2] += nodes[i].self;
        agg[f][3] += nodes[i].total;
    }
    PyObject *out = PyDict_New();
    for (size_t f = 1; out && f < nfn; f++) {
        if (funcs[f].kind != PF_FUNC_PYTHON && funcs[f].kind != PF_FUNC_NATIVE)
            continue;
        PyObject *file = module_text(pf_str(self->prof, funcs[f].file));
        PyObject *name = module_text(pf_str(self->prof, funcs[f].name));
        PyObject *key = file && name ? Py_BuildValue("(OiO)", file, (int)funcs[f].firstline, name) : NULL;
        PyObject *val = key ? Py_BuildValue("{s:K,s:K,s:K,s:K,s:O}", "calls", (unsigned long long)agg[f][0],
                                            "primitive_calls", (unsigned long long)agg[f][1], "self_ns",
                                            (unsigned long long)agg[f][2], "total_ns",
                                            (unsigned long long)agg[f][3], "builtin",
                                            funcs[f].kind == PF_FUNC_NATIVE ? Py_True : Py_False)
                            : NULL;
        if (!val || PyDict_SetItem(out, key, val) < 0)
            Py_CLEAR(out);
        Py_XDECREF(file);
        Py_XDECREF(name);
        Py_XDECREF(key);
        Py_XDECREF(val);
    }
    free(agg);
    return out;
}

/* tree(): [(node, parent, name, file, firstline, calls, self_ns, total_ns)],
 * parents before children; node 0 (the root) is left out. */
static PyObject *Profiler_tree_unlocked(Profiler *self, PyObject *args, PyObject *kw) {
    if (publish(self) < 0)
        return NULL;
    return module_tree(self->prof);
}

/* _depth(): this thread's shadow stack depth (tests: balanced after exceptions). */
static PyObject *Profiler_depth_unlocked(Profiler *self, PyObject *args, PyObject *kw) {
    PyThreadState *ts = PyThreadState_GET();
    uint32_t i = u64map_get(&self->thread_map, ts_unique_id(ts));
    return PyLong_FromSize_t(i == U64MAP_NONE ? 0 : self->threads_v[i]->depth);
}

static void Profiler_dealloc(Profiler *self) {
    /* An enabled profile is referenced by `active`, so it is disabled here. */
    profiler_free_model(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Profiler_get_enabled(Profiler *self, void *closure) {
    return PyBool_FromLong(self->enabled);
}

static PyObject *Profiler_get_clock(Profiler *self, void *closure) {
    static const char *names[] = {"tsc", "monotonic", "thread-cpu", "none"};
    return module_text(names[self->timer]);
}

#define NOARGS(f) ((PyCFunction)(void (*)(void))(f))
/* The methods that read the model run under the lock: the profile may be
 * enabled, its tree growing on other threads (free-threaded). */
typedef PyObject *(*model_method)(Profiler *self, PyObject *args, PyObject *kw);

static PyObject *under_lock(model_method fn, Profiler *self, PyObject *args, PyObject *kw) {
    int took = model_enter();
    PyObject *r = fn(self, args, kw);
    if (took)
        model_leave();
    return r;
}

static PyObject *Profiler_write(Profiler *self, PyObject *args, PyObject *kw) {
    return under_lock(Profiler_write_unlocked, self, args, kw);
}
static PyObject *Profiler_stats(Profiler *self, PyObject *unused) {
    return under_lock(Profiler_stats_unlocked, self, NULL, NULL);
}
static PyObject *Profiler_tree(Profiler *self, PyObject *unused) {
    return under_lock(Profiler_tree_unlocked, self, NULL, NULL);
}
static PyObject *Profiler_depth(Profiler *self, PyObject *unused) {
    return under_lock(Profiler_depth_unlocked, self, NULL, NULL);
}

static PyMethodDef profiler_methods[] = {
    {"enable", NOARGS(Profiler_enable), METH_NOARGS, "Start profiling (all threads)."},
    {"disable", NOARGS(Profiler_disable), METH_NOARGS, "Stop profiling; frames still running end now."},
    {"__enter__", NOARGS(Profiler_enter), METH_NOARGS, NULL},
    {"__exit__", NOARGS(Profiler_exit), METH_VARARGS, NULL},
    {"clear", NOARGS(Profiler_clear), METH_NOARGS, "Forget everything measured."},
    {"write", NOARGS(Profiler_write), METH_VARARGS | METH_KEYWORDS,
     "write(path, format=None, title=None): write the profile in any of pyflare.formats()\n"
     "(format is a name; without it, the file name's extension chooses)."},
    {"stats", NOARGS(Profiler_stats), METH_NOARGS,
     "{(file, firstline, name): {calls, primitive_calls, self_ns, total_ns, builtin}}"},
    {"tree", NOARGS(Profiler_tree), METH_NOARGS,
     "[(node, parent, name, file, firstline, calls, self_ns, total_ns)]"},
    {"_depth", NOARGS(Profiler_depth), METH_NOARGS, NULL},
#if !USE_MONITORING
    {"_thread_start", NOARGS(Profiler_thread_start), METH_VARARGS, NULL},
#endif
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef profiler_getset[] = {
    {"enabled", (getter)Profiler_get_enabled, NULL, "whether profiling is on", NULL},
    {"clock", (getter)Profiler_get_clock, NULL, "the timer in use", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ProfilerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyflare._tracer.Profile",
    .tp_basicsize = sizeof(Profiler),
    .tp_dealloc = (destructor)Profiler_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Profile(clock='wall', builtins=True, threads=False, all_threads=True): a deterministic profile.\n"
              "clock: 'wall' or 'cpu' (per-thread CPU time); builtins: also time C functions;\n"
              "threads: one root node per thread (else threads share the tree, like cProfile);\n"
              "all_threads: profile every thread (else only the one calling enable()).",
    .tp_methods = profiler_methods,
    .tp_getset = profiler_getset,
    .tp_init = (initproc)Profiler_init,
    .tp_new = Profiler_new,
};

/* ------------------------------------------------------------- the module */

/* os.register_at_fork(after_in_child=...) (3.7+): a fork()ed child does not
 * go on profiling into its copy of the parent's profile (which it may not
 * write); it can enable a Profile of its own. Before 3.7 the child's copy
 * goes on recording, and still cannot be written. */
static PyObject *after_fork_child(PyObject *module, PyObject *unused) {
    Profiler *p = active_now();
    if (p && p->pid != (long)getpid()) {
#ifdef Py_GIL_DISABLED
        /* The parent's lock may have been held by a thread the child does not have. */
        memset(&model_lock, 0, sizeof model_lock);
        tls.held = 0;
        __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST); /* this thread's view was of p */
#endif
        set_active(NULL);
        p->enabled = 0;
#if USE_MONITORING
        monitoring_remove();
#else
        SAVE_ERR();
        set_hook_all(p, 0);
        if (p->all_threads && threading_setprofile(Py_None) < 0)
            PyErr_Clear();
        RESTORE_ERR();
#endif
        Py_DECREF(p);
    }
    Py_RETURN_NONE;
}

/* _parse_args(argv): python -m pyflare's options, parsed by the table every
 * pyflare command uses (src/cli/options.c), so they are accepted and refused
 * alike: ({name: value, or True for a flag}, index of the script's first word);
 * a value from argv is argv's own str. ValueError(message) for bad usage. */
static int put_arg(const char *key, const char *value, int index, void *arg) {
    PyObject **out = arg; /* {dict, argv} */
    PyObject *v = index > 0 ? PyList_GetItem(out[1], index - 1) : value ? module_text(value) : Py_True;
    if (v && (index > 0 || !value))
        Py_INCREF(v);
    int rc = v ? PyDict_SetItemString(out[0], key, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static PyObject *parse_args(PyObject *module, PyObject *args) {
    PyObject *list, *out[2] = {NULL, NULL}, *bytes = NULL, *result = NULL;
    if (!PyArg_ParseTuple(args, "O!:_parse_args", &PyList_Type, &list))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(list);
    char **argv = calloc((size_t)n + 2, sizeof *argv);
    if (!argv || !(bytes = PyList_New(n)) || !(out[0] = PyDict_New()))
        goto done;
    out[1] = list;
    argv[0] = "python -m pyflare";
    for (Py_ssize_t i = 0; i < n; i++) {
#if PY_MAJOR_VERSION >= 3
        PyObject *b = PyUnicode_EncodeFSDefault(PyList_GET_ITEM(list, i));
#else
        PyObject *b = PyObject_Str(PyList_GET_ITEM(list, i));
#endif
        if (!b)
            goto done;
        PyList_SET_ITEM(bytes, i, b);
        argv[i + 1] = PyBytes_AS_STRING(b);
    }
    pf_error err;
    memset(&err, 0, sizeof err);
    int rest = cli_parse_module((int)n + 1, argv, put_arg, out, &err);
    if (rest < 0 && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, err.msg);
    if (rest >= 0)
        result = Py_BuildValue("(Oi)", out[0], rest - 1);
done:
    if (!argv)
        PyErr_NoMemory();
    free(argv);
    Py_XDECREF(bytes);
    Py_XDECREF(out[0]);
    return result;
}

/* formats(): the output format table (src/output/writer.c), the one list of
 * formats, as [(name, extension, media type, binary)]: the extension is the
 * first the table gives, the one a file of that format is named with. */
static PyObject *formats(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    PyObject *list = PyList_New(0);
    const out_format *f;
    for (size_t i = 0; list && (f = out_format_at(i)); i++) {
        size_t extlen = strcspn(f->extensions, " ");
        PyObject *row = Py_BuildValue("(ss#sO)", f->name, f->extensions, (Py_ssize_t)extlen, f->media,
                                      f->binary ? Py_True : Py_False);
        if (!row || PyList_Append(list, row) != 0) {
            Py_XDECREF(row);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(row);
    }
    return list;
}

static PyMethodDef module_methods[] = {
    {"_after_fork_child", NOARGS(after_fork_child), METH_NOARGS, NULL},
    {"formats", NOARGS(formats), METH_NOARGS,
     "formats() -> [(name, extension, media type, binary)]: every output format pyflare writes."},
    {"_parse_args", parse_args, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static int register_at_fork(PyObject *m) {
#if PY_VERSION_HEX >= 0x03070000
    PyObject *os = PyImport_ImportModule("os");
    PyObject *fn = os ? PyObject_GetAttrString(m, "_after_fork_child") : NULL;
    PyObject *reg = fn ? PyObject_GetAttrString(os, "register_at_fork") : NULL;
    PyObject *kw = reg ? Py_BuildValue("{s:O}", "after_in_child", fn) : NULL;
    PyObject *args = kw ? PyTuple_New(0) : NULL;
    PyObject *r = args ? PyObject_Call(reg, args, kw) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(args);
    Py_XDECREF(kw);
    Py_XDECREF(reg);
    Py_XDECREF(fn);
    Py_XDECREF(os);
    return r ? 0 : -1;
#else
    return 0;
#endif
}

int load_setup(PyObject *m); /* load.c: pyflare.load() */

static int module_setup(PyObject *m) {
#if PY_MAJOR_VERSION >= 3
    method_descr_type = &PyMethodDescr_Type;
#else
    PyObject *append = PyObject_GetAttrString((PyObject *)&PyList_Type, "append");
    if (!append)
        return -1;
    method_descr_type = Py_TYPE(append);
    Py_DECREF(append);
#endif
    own_lo = (uintptr_t)profiler_methods;
    own_hi = (uintptr_t)(profiler_methods + sizeof profiler_methods / sizeof profiler_methods[0]);
#ifdef Py_GIL_DISABLED
    quiesce_setup();
#endif
#if HAVE_TSC
    tsc_ok = tsc_usable();
    tsc_base_ns = clock_ns(CLOCK_MONOTONIC);
    tsc_base_ticks = __rdtsc();
#endif
#if USE_MONITORING
    if (PyType_Ready(&CallbackType) < 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        Callback *cb = mon_funcs[i] ? NULL : PyObject_New(Callback, &CallbackType);
        if (cb) {
            cb->vectorcall = mon_defs[i];
            mon_funcs[i] = (PyObject *)cb;
        }
        if (!mon_funcs[i])
            return -1;
    }
#endif
    if (PyType_Ready(&ProfilerType) < 0)
        return -1;
    Py_INCREF(&ProfilerType);
    if (PyModule_AddObject(m, "Profile", (PyObject *)&ProfilerType) < 0)
        return -1;
    if (register_at_fork(m) < 0 || load_setup(m) < 0)
        return -1;
    return PyModule_AddStringConstant(m, "backend", USE_MONITORING ? "sys.monitoring" : "profile hook");
}

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef tracer_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pyflare._tracer",
    .m_doc = "pyflare's deterministic profiler (C).",
    .m_size = -1,
    .m_methods = module_methods,
};

/* Built with hidden visibility; only the init function is exported. */
__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__tracer(void) {
    PyObject *m = PyModule_Create(&tracer_module);
#ifdef Py_GIL_DISABLED
    /* Safe without the GIL (model_lock): importing must not turn it back on. */
    if (m && PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0)
        Py_CLEAR(m);
#endif
    if (m && module_setup(m) < 0)
        Py_CLEAR(m);
    return m;
}
#else
__attribute__((visibility("default"))) PyMODINIT_FUNC init_tracer(void) {
    PyObject *m = Py_InitModule3("pyflare._tracer", module_methods, "pyflare's deterministic profiler (C).");
    if (m)
        module_setup(m);
}
#endif
