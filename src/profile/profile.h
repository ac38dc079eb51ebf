/* profile.h — the one model every profiler mode fills and every writer reads.
 *
 * A profile is a call tree (a trie of frames): each node is "this frame, called
 * from the parent node's frame", so a stack is just its leaf node, and a stack
 * seen again costs one hash lookup per frame — or none, when the caller keeps
 * the leaf. Nodes carry weights:
 *   self   samples (sampling; with meta.cpu_weighted, periods of CPU time) or
 *          nanoseconds (tracing) spent in this node itself,
 *   total  self plus all descendants (filled by pf_profile_finish for sampling;
 *          measured directly by the tracer, which must not double-count recursion),
 *   calls  exact call count (tracing only).
 * Around the tree: interned strings, functions, frames (function + line),
 * threads and processes, and a time-ordered log of samples for timeline views.
 *
 * Ids are dense uint32 indexes; 0 is reserved (the empty string, the root node,
 * "no function"), so a zeroed id means "none". The profile owns all memory. */
#ifndef PYFLARE_PROFILE_PROFILE_H
#define PYFLARE_PROFILE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t pf_str_id;
typedef uint32_t pf_func_id;
typedef uint32_t pf_frame_id;
typedef uint32_t pf_node_id;

#define PF_ROOT 0u

typedef enum {
    PF_FUNC_PYTHON = 0,   /* Python code */
    PF_FUNC_NATIVE,       /* a C function (builtin) */
    PF_FUNC_THREAD,       /* synthetic root: a thread (--threads) */
    PF_FUNC_PROCESS,      /* synthetic root: a process (--subprocesses) */
    PF_FUNC_OTHER,        /* synthetic: e.g. "<idle>" */
} pf_func_kind;

/* The synthetic PF_FUNC_OTHER function on top of a stack sampled while its
 * thread ran the garbage collector (walker.h's in_gc); folded input reads it back as one. */
#define PF_GC_FRAME "<GC>"

/* Where Python code comes from, for colouring: set when a Python function is
 * interned, from its file name (profile/origin.h), and by whoever shortened
 * the name before (the shortened name may no longer say); writers read only this. */
typedef enum {
    PF_ORIGIN_UNKNOWN = 0,
    PF_ORIGIN_OWN,          /* the program's own code */
    PF_ORIGIN_STDLIB,       /* the standard library */
    PF_ORIGIN_THIRD_PARTY,  /* site-packages / dist-packages */
} pf_origin;

typedef struct pf_func {
    pf_str_id name;       /* qualified name where known */
    pf_str_id file;       /* as shown (possibly shortened) */
    int32_t firstline;
    uint8_t kind;         /* pf_func_kind */
    uint8_t origin;       /* pf_origin */
} pf_func;

typedef struct pf_frame {
    pf_func_id func;
    int32_t line;         /* 0 when aggregated by function */
} pf_frame;

typedef struct pf_node {
    pf_node_id parent;
    pf_frame_id frame;
    pf_node_id first_child, next_sibling; /* children in insertion order */
    uint32_t depth;
    uint64_t self, total, calls;
} pf_node;

typedef struct pf_thread {
    uint32_t process;     /* index into processes */
    uint64_t thread_id;
    int64_t native_id;
    pf_str_id name;
} pf_thread;

typedef struct pf_process {
    int32_t pid;
    pf_str_id command;
} pf_process;

/* One sampled stack at one moment (the timeline). While recording the log
 * is kept packed (8 bytes a sample, microsecond resolution); pf_profile_finish
 * expands it for pf_samples(). */
typedef struct pf_sample {
    uint64_t time_ns;     /* since the profile started, a whole number of microseconds */
    pf_node_id node;
    uint32_t thread;
    uint32_t weight;      /* what it added to node's self (1 for a plain sample) */
} pf_sample;

typedef enum { PF_MODE_SAMPLED = 0, PF_MODE_TRACED } pf_mode;

typedef struct pf_meta {
    pf_mode mode;
    pf_str_id command;        /* what was profiled */
    pf_str_id python;         /* "3.12.1" */
    uint64_t start_unix_ns;   /* wall-clock start */
    uint64_t duration_ns;
    double rate_hz;           /* sampling rate (sampled mode) */
    uint64_t period_ns;       /* one sample's weight in time (sampled mode) */
    const char *weight_unit;  /* "samples" or "nanoseconds" */
    /* Sampled mode, running threads only: a stack is weighed by the CPU time
     * its thread really used, so a unit of weight is period_ns of CPU time (a
     * thread waiting for a CPU, or stopped, adds nothing), and cpu_ns is the
     * exact CPU time the sampled threads used. 0: a unit is one sample taken
     * (wall time: --idle, --gil, folded input). */
    int cpu_weighted;
    uint64_t cpu_ns;
} pf_meta;

typedef struct pf_profile pf_profile;

pf_profile *pf_profile_new(void);
void pf_profile_free(pf_profile *p);
/* Non-zero once any call ran out of memory: the profile is incomplete. */
int pf_profile_failed(const pf_profile *p);

/* Interning: the same content always gets the same id. Return 0 on out-of-memory
 * only for pf_node_child (the root is never returned as a child). */
pf_str_id pf_intern(pf_profile *p, const char *s);
pf_str_id pf_intern_len(pf_profile *p, const char *s, size_t len);
const char *pf_str(const pf_profile *p, pf_str_id id);
/* How many strings are interned (ids 0 .. n-1), for a writer that keeps them all. */
size_t pf_nstrings(const pf_profile *p);
pf_func_id pf_func_intern(pf_profile *p, pf_str_id name, pf_str_id file, int firstline, pf_func_kind kind);
void pf_func_set_origin(pf_profile *p, pf_func_id func, pf_origin origin);
pf_frame_id pf_frame_intern(pf_profile *p, pf_func_id func, int line);
pf_node_id pf_node_child(pf_profile *p, pf_node_id parent, pf_frame_id frame);
/* The node for a whole stack given root first, under `from` (PF_ROOT or a thread/process node). */
pf_node_id pf_node_path(pf_profile *p, pf_node_id from, const pf_frame_id *frames, size_t n);

uint32_t pf_process_add(pf_profile *p, int pid, const char *command);
uint32_t pf_thread_add(pf_profile *p, uint32_t process, uint64_t thread_id, int64_t native_id, const char *name);
void pf_thread_set_name(pf_profile *p, uint32_t thread, const char *name);

/* Sampling: adds weight to node's self, and logs the sample (with its weight)
 * when log_samples is on. */
void pf_sample_add(pf_profile *p, pf_node_id node, uint32_t thread, uint64_t time_ns, uint64_t weight);
void pf_profile_log_samples(pf_profile *p, int on);

/* Producer API: what only a producer says, each through the profile so that
 * writers and producers never share a mutable view.
 *   set_meta     the whole metadata, copied (a producer that changes one field
 *                reads pf_profile_meta_const, changes its copy and sets it);
 *   func_set_name  renames a function (a thread root whose name came later):
 *                interning the new name finds it from then on;
 *   node_set_weights  a traced node's measured weights (the tracer measures
 *                totals itself, recursion not counted twice; finish keeps them);
 *   finish       computes totals (sampled mode) and expands the sample log for
 *                pf_samples; run again after more is added. */
void pf_profile_set_meta(pf_profile *p, const pf_meta *meta);
void pf_func_set_name(pf_profile *p, pf_func_id func, pf_str_id name);
void pf_node_set_weights(pf_profile *p, pf_node_id node, uint64_t self, uint64_t total, uint64_t calls);
void pf_profile_finish(pf_profile *p);

const pf_meta *pf_profile_meta_const(const pf_profile *p);

/* Read access for writers. */
const pf_node *pf_nodes(const pf_profile *p, size_t *n);
const pf_frame *pf_frames(const pf_profile *p, size_t *n);
const pf_func *pf_funcs(const pf_profile *p, size_t *n);
const pf_thread *pf_threads(const pf_profile *p, size_t *n);
const pf_process *pf_processes(const pf_profile *p, size_t *n);
/* The sample log as of the last pf_profile_finish. */
const pf_sample *pf_samples(const pf_profile *p, size_t *n);
uint64_t pf_total_weight(const pf_profile *p); /* the root's total */

/* Bytes held, for reporting memory use. */
size_t pf_profile_memory(const pf_profile *p);

#endif
