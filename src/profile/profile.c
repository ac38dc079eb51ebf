/* profile.c — the profile model (see profile.h).
 *
 * Strings live in a chunked arena so pointers handed out stay valid as it
 * grows. Every interning table is a u64map from a packed key to a dense id.
 * Out of memory never crashes: the call returns 0 and the profile remembers
 * it failed (pf_profile_failed), so writers can refuse a partial profile. */
#include "profile/profile.h"

#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "profile/origin.h"

#define ARENA_CHUNK (64 * 1024)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

struct pf_profile {
    arena_chunk *arena;
    size_t arena_bytes;
    const char **strs;
    size_t nstrs, strs_cap;
    u64map str_map;      /* content hash (+probe) -> id */

    pf_func *funcs;
    size_t nfuncs, funcs_cap;
    u64map func_map;     /* hash of (name, file, firstline, kind) -> id */

    pf_frame *frames;
    size_t nframes, frames_cap;
    u64map frame_map;    /* func << 32 | line -> id */

    pf_node *nodes;
    size_t nnodes, nodes_cap;
    pf_node_id *last_child;
    u64map node_map;     /* parent << 32 | frame -> id */

    pf_thread *threads;
    size_t nthreads, threads_cap;
    pf_process *processes;
    size_t nprocesses, processes_cap;

    /* The timeline, 8 bytes a sample while recording (see log_push); expanded
     * into `samples` by pf_profile_finish. */
    struct packed_sample { uint32_t node, word; } *log;
    size_t nlog, log_cap;
    uint64_t log_last_us;
    pf_sample *samples;
    size_t nsamples;
    int log_samples;

    pf_meta meta;
    int failed;
};

/* Grows *array (of elem-sized items) to hold one more; 0 or -1. */
static int reserve(void **array, size_t *cap, size_t count, size_t elem) {
    if (count < *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    void *bigger = realloc(*array, n * elem);
    if (!bigger)
        return -1;
    u64map_advise_huge(bigger, n * elem); /* the node array is walked at random too */
    *array = bigger;
    *cap = n;
    return 0;
}
#define RESERVE(p, arr, count, cap) reserve((void **)&(p)->arr, &(p)->cap, (p)->count, sizeof *(p)->arr)

/* A string hash that eats 8 bytes per step (interning hashes every new label,
 * and folded input is hundreds of megabytes of them). */
static uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xff51afd7ed558ccdull);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    memcpy(&tail, s + i, len - i);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    return u64map_hash(h);
}

static char *arena_alloc(pf_profile *p, size_t len) {
    if (!p->arena || p->arena->cap - p->arena->used < len) {
        size_t cap = len > ARENA_CHUNK ? len : ARENA_CHUNK;
        arena_chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = p->arena;
        c->used = 0;
        c->cap = cap;
        p->arena = c;
        p->arena_bytes += sizeof *c + cap;
    }
    char *out = p->arena->data + p->arena->used;
    p->arena->used += len;
    return out;
}

pf_profile *pf_profile_new(void) {
    pf_profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    /* Reserved ids: string 0 = "", func 0 = none, frame 0 = none, node 0 = root. */
    pf_intern(p, "");
    if (RESERVE(p, funcs, nfuncs, funcs_cap) || RESERVE(p, frames, nframes, frames_cap) ||
        RESERVE(p, nodes, nnodes, nodes_cap)) {
        pf_profile_free(p);
        return NULL;
    }
    memset(&p->funcs[p->nfuncs++], 0, sizeof *p->funcs);
    memset(&p->frames[p->nframes++], 0, sizeof *p->frames);
    memset(&p->nodes[p->nnodes++], 0, sizeof *p->nodes);
    p->last_child = calloc(p->nodes_cap, sizeof *p->last_child);
    p->meta.weight_unit = "samples";
    if (!p->last_child) {
        pf_profile_free(p);
        return NULL;
    }
    return p;
}

void pf_profile_free(pf_profile *p) {
    if (!p)
        return;
    for (arena_chunk *c = p->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(p->strs);
    free(p->funcs);
    free(p->frames);
    free(p->nodes);
    free(p->last_child);
    free(p->threads);
    free(p->processes);
    free(p->samples);
    free(p->log);
    u64map_free(&p->str_map);
    u64map_free(&p->func_map);
    u64map_free(&p->frame_map);
    u64map_free(&p->node_map);
    free(p);
}

int pf_profile_failed(const pf_profile *p) { return p->failed; }

pf_str_id pf_intern_len(pf_profile *p, const char *s, size_t len) {
    uint64_t key = hash_bytes(s, len);
    for (;; key++) { /* a 64-bit hash collision probes on to the next key */
        uint32_t id = u64map_get(&p->str_map, key);
        if (id == U64MAP_NONE)
            break;
        if (strncmp(p->strs[id], s, len) == 0 && p->strs[id][len] == 0)
            return id;
    }
    char *copy = arena_alloc(p, len + 1);
    if (!copy || RESERVE(p, strs, nstrs, strs_cap) || u64map_put(&p->str_map, key, (uint32_t)p->nstrs)) {
        p->failed = 1;
        return 0;
    }
    memcpy(copy, s, len);
    copy[len] = 0;
    p->strs[p->nstrs] = copy;
    return (pf_str_id)p->nstrs++;
}

pf_str_id pf_intern(pf_profile *p, const char *s) { return pf_intern_len(p, s, strlen(s)); }

const char *pf_str(const pf_profile *p, pf_str_id id) { return id < p->nstrs ? p->strs[id] : ""; }

size_t pf_nstrings(const pf_profile *p) { return p->nstrs; }

static uint64_t func_key(pf_str_id name, pf_str_id file, int firstline, pf_func_kind kind) {
    return u64map_hash(((uint64_t)name << 32 | file) ^ ((uint64_t)(uint32_t)firstline << 8 | kind));
}

pf_func_id pf_func_intern(pf_profile *p, pf_str_id name, pf_str_id file, int firstline, pf_func_kind kind) {
    uint64_t key = func_key(name, file, firstline, kind);
    for (;; key++) {
        uint32_t id = u64map_get(&p->func_map, key);
        if (id == U64MAP_NONE)
            break;
        const pf_func *f = &p->funcs[id];
        if (f->name == name && f->file == file && f->firstline == firstline && f->kind == kind)
            return id;
    }
    if (RESERVE(p, funcs, nfuncs, funcs_cap) || u64map_put(&p->func_map, key, (uint32_t)p->nfuncs)) {
        p->failed = 1;
        return 0;
    }
    /* Python code's origin as its file name says; whoever shortened the name says better (pf_func_set_origin). */
    pf_origin origin = kind == PF_FUNC_PYTHON ? pf_origin_of_path(pf_str(p, file), NULL) : PF_ORIGIN_UNKNOWN;
    p->funcs[p->nfuncs] = (pf_func){name, file, firstline, (uint8_t)kind, (uint8_t)origin};
    return (pf_func_id)p->nfuncs++;
}

/* The old key stays in the map: it now leads to a function whose name does
 * not match, which interning skips like any other collision. The new key is
 * added, so interning the new name finds this function (unless an equal one
 * was there first: then that one is found, as it was before). */
void pf_func_set_name(pf_profile *p, pf_func_id func, pf_str_id name) {
    if (!func || func >= p->nfuncs)
        return;
    pf_func *f = &p->funcs[func];
    f->name = name;
    uint64_t key = func_key(name, f->file, f->firstline, (pf_func_kind)f->kind);
    for (;; key++) {
        uint32_t id = u64map_get(&p->func_map, key);
        if (id == U64MAP_NONE)
            break;
        const pf_func *g = &p->funcs[id];
        if (id == func || (g->name == name && g->file == f->file && g->firstline == f->firstline && g->kind == f->kind))
            return;
    }
    if (u64map_put(&p->func_map, key, func))
        p->failed = 1;
}

void pf_node_set_weights(pf_profile *p, pf_node_id node, uint64_t self, uint64_t total, uint64_t calls) {
    if (node >= p->nnodes)
        return;
    p->nodes[node].self = self;
    p->nodes[node].total = total;
    p->nodes[node].calls = calls;
}

void pf_profile_set_meta(pf_profile *p, const pf_meta *meta) { p->meta = *meta; }

void pf_func_set_origin(pf_profile *p, pf_func_id func, pf_origin origin) {
    if (func && func < p->nfuncs)
        p->funcs[func].origin = (uint8_t)origin;
}

pf_frame_id pf_frame_intern(pf_profile *p, pf_func_id func, int line) {
    uint64_t key = (uint64_t)func << 32 | (uint32_t)line;
    uint32_t id = u64map_get(&p->frame_map, key);
    if (id != U64MAP_NONE)
        return id;
    if (RESERVE(p, frames, nframes, frames_cap) || u64map_put(&p->frame_map, key, (uint32_t)p->nframes)) {
        p->failed = 1;
        return 0;
    }
    p->frames[p->nframes] = (pf_frame){func, line};
    return (pf_frame_id)p->nframes++;
}

pf_node_id pf_node_child(pf_profile *p, pf_node_id parent, pf_frame_id frame) {
    uint64_t key = (uint64_t)parent << 32 | frame;
    /* One probe finds the child or the slot where it goes. */
    u64map_slot *slot = u64map_slot_for(&p->node_map, key);
    if (slot && slot->value != U64MAP_NONE)
        return slot->value;
    size_t old_cap = p->nodes_cap;
    if (RESERVE(p, nodes, nnodes, nodes_cap)) {
        p->failed = 1;
        return 0;
    }
    if (p->nodes_cap != old_cap) {
        pf_node_id *bigger = realloc(p->last_child, p->nodes_cap * sizeof *bigger);
        if (!bigger) {
            p->failed = 1;
            return 0;
        }
        memset(bigger + old_cap, 0, (p->nodes_cap - old_cap) * sizeof *bigger);
        p->last_child = bigger;
    }
    if (!slot) { /* the map was full: grow it, then insert */
        if (u64map_put(&p->node_map, key, (uint32_t)p->nnodes)) {
            p->failed = 1;
            return 0;
        }
    } else {
        slot->key = key;
        slot->value = (uint32_t)p->nnodes;
        p->node_map.used++;
    }
    pf_node_id id_new = (pf_node_id)p->nnodes++;
    pf_node *n = &p->nodes[id_new];
    memset(n, 0, sizeof *n);
    n->parent = parent;
    n->frame = frame;
    n->depth = p->nodes[parent].depth + 1;
    /* Append to the parent's child list, keeping first-seen order. */
    if (p->last_child[parent])
        p->nodes[p->last_child[parent]].next_sibling = id_new;
    else
        p->nodes[parent].first_child = id_new;
    p->last_child[parent] = id_new;
    return id_new;
}

pf_node_id pf_node_path(pf_profile *p, pf_node_id from, const pf_frame_id *frames, size_t n) {
    pf_node_id node = from;
    for (size_t i = 0; i < n; i++)
        node = pf_node_child(p, node, frames[i]);
    return node;
}

uint32_t pf_process_add(pf_profile *p, int pid, const char *command) {
    if (RESERVE(p, processes, nprocesses, processes_cap)) {
        p->failed = 1;
        return 0;
    }
    p->processes[p->nprocesses] = (pf_process){pid, pf_intern(p, command ? command : "")};
    return (uint32_t)p->nprocesses++;
}

uint32_t pf_thread_add(pf_profile *p, uint32_t process, uint64_t thread_id, int64_t native_id, const char *name) {
    if (RESERVE(p, threads, nthreads, threads_cap)) {
        p->failed = 1;
        return 0;
    }
    p->threads[p->nthreads] = (pf_thread){process, thread_id, native_id, name ? pf_intern(p, name) : 0};
    return (uint32_t)p->nthreads++;
}

void pf_thread_set_name(pf_profile *p, uint32_t thread, const char *name) {
    if (thread < p->nthreads)
        p->threads[thread].name = pf_intern(p, name);
}

void pf_profile_log_samples(pf_profile *p, int on) { p->log_samples = on; }

/* A logged sample is one word pair: the node, and the thread (12 bits) with
 * the microseconds since the previous sample (20 bits); its weight is 1.
 * Anything that does not fit (a thread index >= 4095, a gap over a second,
 * time going backwards, a weight other than 1) is written as an escape:
 * {ESCAPE, thread}, {time low, time high}, {node, weight}. */
#define LOG_ESCAPE UINT32_MAX
#define LOG_DT_BITS 20
#define LOG_THREAD_MAX 4095u

static int log_push(pf_profile *p, uint32_t a, uint32_t b) {
    if (RESERVE(p, log, nlog, log_cap))
        return -1;
    p->log[p->nlog++] = (struct packed_sample){a, b};
    return 0;
}

void pf_sample_add(pf_profile *p, pf_node_id node, uint32_t thread, uint64_t time_ns, uint64_t weight) {
    p->nodes[node].self += weight;
    if (!p->log_samples)
        return;
    uint64_t us = time_ns / 1000;
    uint64_t dt = us - p->log_last_us;
    int ok;
    uint32_t w = weight > UINT32_MAX ? UINT32_MAX : (uint32_t)weight;
    if (thread < LOG_THREAD_MAX && us >= p->log_last_us && dt < (1u << LOG_DT_BITS) && node != LOG_ESCAPE && w == 1)
        ok = log_push(p, node, thread << LOG_DT_BITS | (uint32_t)dt) == 0;
    else
        ok = log_push(p, LOG_ESCAPE, thread) == 0 && log_push(p, (uint32_t)us, (uint32_t)(us >> 32)) == 0 &&
             log_push(p, node, w) == 0;
    if (!ok)
        p->failed = 1;
    p->log_last_us = us;
}

/* Expands the packed log into pf_sample records (in finish, again after new samples). */
static void expand_samples(pf_profile *p) {
    free(p->samples);
    p->samples = NULL;
    p->nsamples = 0;
    if (!p->nlog)
        return;
    p->samples = malloc(p->nlog * sizeof *p->samples); /* at most one sample per entry */
    if (!p->samples) {
        p->failed = 1;
        return;
    }
    uint64_t us = 0;
    for (size_t i = 0; i < p->nlog; i++) {
        struct packed_sample e = p->log[i];
        uint32_t thread, weight = 1;
        if (e.node == LOG_ESCAPE) {
            if (i + 2 >= p->nlog)
                break;
            thread = e.word;
            us = (uint64_t)p->log[i + 1].node | (uint64_t)p->log[i + 1].word << 32;
            e = p->log[i + 2];
            weight = e.word;
            i += 2;
        } else {
            thread = e.word >> LOG_DT_BITS;
            us += e.word & ((1u << LOG_DT_BITS) - 1);
        }
        p->samples[p->nsamples++] = (pf_sample){us * 1000, e.node, thread, weight};
    }
}

void pf_profile_finish(pf_profile *p) {
    expand_samples(p);
    if (p->meta.mode != PF_MODE_SAMPLED)
        return;
    /* Children always come after their parent, so one backward pass sums totals. */
    for (size_t i = 0; i < p->nnodes; i++)
        p->nodes[i].total = p->nodes[i].self;
    for (size_t i = p->nnodes; i-- > 1;)
        p->nodes[p->nodes[i].parent].total += p->nodes[i].total;
}

const pf_meta *pf_profile_meta_const(const pf_profile *p) { return &p->meta; }

const pf_node *pf_nodes(const pf_profile *p, size_t *n) { *n = p->nnodes; return p->nodes; }
const pf_frame *pf_frames(const pf_profile *p, size_t *n) { *n = p->nframes; return p->frames; }
const pf_func *pf_funcs(const pf_profile *p, size_t *n) { *n = p->nfuncs; return p->funcs; }
const pf_thread *pf_threads(const pf_profile *p, size_t *n) { *n = p->nthreads; return p->threads; }
const pf_process *pf_processes(const pf_profile *p, size_t *n) { *n = p->nprocesses; return p->processes; }
const pf_sample *pf_samples(const pf_profile *p, size_t *n) {
    *n = p->nsamples;
    return p->samples;
}
uint64_t pf_total_weight(const pf_profile *p) { return p->nodes[0].total; }

size_t pf_profile_memory(const pf_profile *p) {
    return p->arena_bytes + p->strs_cap * sizeof *p->strs + p->funcs_cap * sizeof *p->funcs +
           p->frames_cap * sizeof *p->frames + p->nodes_cap * (sizeof *p->nodes + sizeof *p->last_child) +
           p->threads_cap * sizeof *p->threads + p->processes_cap * sizeof *p->processes +
           p->log_cap * sizeof *p->log + p->nsamples * sizeof *p->samples +
           (p->str_map.cap + p->func_map.cap + p->frame_map.cap + p->node_map.cap) * sizeof(u64map_slot);
}
