/* walker.c — interpreters, thread states and frames (see walker.h).
 *
 * The cost of a sample is the number of system calls it makes (each costs
 * about a microsecond of CPU), not the bytes. So the walker remembers what the
 * last sample touched — thread states, each thread's frame addresses, the
 * used part of each data-stack chunk (3.11+) — and reads all of it again in
 * one process_vm_readv with many iovecs before walking. Nothing read that way
 * is trusted because it was there before: the walk still follows the fresh
 * pointers, and only when a needed address was prefetched in this same sample
 * is the prefetched copy used; any other address is read on its own. In a
 * steady state a sample is two batched reads whatever the depth.
 *
 * All three frame models live here (frame objects <=3.10, interpreter frames
 * via cframe in 3.11/3.12 or directly from 3.13); the layout picks one. Every
 * pointer is untrusted: depth is bounded, a seen-set catches cycles, and code
 * objects are type-checked when first decoded. */
#include "cpython/walker.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/u64map.h"
#include "cpython/objects.h"

#define PTHREAD_SCAN_BYTES 2048   /* where glibc keeps a thread's TID inside struct pthread */
#define PTHREAD_SCAN_TRIES 64     /* walks that may look for it before it is taken as not there */
#define LINE_MEMO_SIZE 4096       /* (code, offset) -> line, direct-mapped */
#define SEEN_SIZE (PY_MAX_DEPTH * 2)
#define CHUNK_WINDOW_MIN 2048     /* first guess at a data-stack chunk's used bytes */
#define CHUNK_WINDOW_MAX (1 << 20)
#define MAX_INTERPS 64
#define MAX_IOV 1024              /* IOV_MAX */
#define TORN_REREADS 64           /* fresh looks at a torn stack before it is dropped: a recursion
                                   * running on another CPU returns every few hundred ns, so
                                   * one look in three may tear (measured: 8 looks lost 7%;
                                   * 32 lost up to 3% on the debug 3.14d/3.15d once each look
                                   * also re-reads the innermost-frame word last) */

/* One range to prefetch, and where its bytes landed (off: in the batch's
 * buffer, set when it is read). */
typedef struct span {
    uint64_t addr;
    uint32_t len, off;
    uint32_t run;                 /* the batch_run that read it: one moment of the target */
    int ok;
    uint8_t is_window;            /* looked up by containment, not by exact address */
    uint8_t head;                 /* read first: where a thread's innermost frame is named */
    uint8_t check;                /* read last, on its own: that word again (see walk_one) */
} span;

typedef struct batch {
    span *spans;
    size_t n, cap;
    u64map exact;                 /* start address -> span index */
    size_t *windows;              /* indexes of window spans (one per thread at most) */
    size_t nwindows, windows_cap;
    int windows_sorted;           /* by start address, for a binary search */
    size_t ran;                   /* spans [0, ran) have been read */
    struct order { uint64_t addr; size_t span; } *order; /* spans sorted by address, to coalesce */
    size_t order_cap;
    /* Where coalesced ranges land, one after the other until the batch is
     * reset; a span's bytes are read in place inside its range, never copied. */
    uint8_t *merged;
    size_t merged_used, merged_cap;
    struct order *scratch;        /* batch_run's room to put ranges in reading order */
    size_t scratch_cap;
    /* The last run's spans as added (address, length, kind) and the reading
     * order found for them: a steady-state sample adds the same spans in the
     * same order, and need not sort a deep stack's frames again. */
    struct added { uint64_t addr; uint32_t len; uint8_t kind; } *last_added;
    size_t *last_order;
    size_t nlast, last_cap;
    size_t last_window;           /* index of the window span that served the last lookup */
    uint32_t runs;                /* batch_run calls so far */
} batch;

/* What the last sample learned about one thread. */
typedef struct thread_memo {
    uint64_t tstate, thread_id;
    int64_t native_id;            /* learned from struct pthread (<3.11), -1 unknown */
    uint64_t *chain;              /* frame addresses outside the chunk window */
    size_t nchain, chain_cap;
    uint64_t cframe;              /* 3.11/3.12: the _PyCFrame the thread state pointed to */
    uint64_t chunk;               /* data-stack chunk the frames were in */
    uint32_t chunk_window;        /* bytes of it to read next time */
    int live;                     /* seen in the current sample */
    size_t check[2];              /* the batch's check spans for it (see prefetch_state), SIZE_MAX none */
} thread_memo;

typedef struct line_memo {
    uint64_t code;
    int64_t offset;
    int line;
} line_memo;

typedef struct seen_slot {
    uint64_t addr;
    uint32_t generation;
} seen_slot;

/* Per-thread facts pulled from its thread state during phase 1. */
typedef struct tstate_facts {
    uint64_t first_frame;         /* frame object (<=3.10) or interpreter frame (3.13) */
    uint64_t base_frame;          /* 3.15+: the sentinel the chain must end at, else 0 */
    uint64_t cframe;              /* 3.11/3.12 */
    uint64_t chunk;
    uint64_t native_id;
    uint32_t run;                 /* the read its thread state came from */
    int moved;                    /* a new cframe or chunk since the last sample */
} tstate_facts;

struct py_walker {
    py_proc *proc;
    py_code_cache *codes;
    uint64_t hot_addr;            /* the code object of the last frame added (recursion repeats it) ... */
    py_code *hot;                 /* ... and its cache entry, which never moves */
    py_thread *threads;
    size_t nthreads, threads_cap;
    py_frame *frame_pool;
    size_t frames_used, frames_cap;
    seen_slot *seen;
    uint32_t generation;
    int64_t pthread_tid_offset;   /* -1 unknown, -2 not found */
    int pthread_tid_tries;        /* scans that found no offset (see learn_pthread_tid_offset) */
    size_t tstate_bytes, frame_bytes;
    batch batch;
    thread_memo *memos;           /* reallocated as threads come: refer to them by index */
    size_t nmemos, memos_cap;
    u64map memo_index;            /* tstate -> index in memos */
    uint64_t interps[MAX_INTERPS], gils[MAX_INTERPS];
    uint64_t collectors[MAX_INTERPS]; /* the thread state found collecting in interps[i] last sample, or 0 */
    size_t ninterps;
    line_memo *lines;
    line_memo *last_line;         /* the entry that served the last lookup */
    uint64_t singles;             /* reads that missed the prefetch (statistics) */
    uint32_t fetch_run;           /* the read that served the last fetch: a batch_run, or a single (counting down) */
    uint32_t single_run;
    uint32_t walk_run;            /* the read the walked thread's state came from */
    int walk_mixed;               /* the walk used a link from another read */
    uint64_t walk_first;          /* the innermost frame it started from */
    uint64_t samples;             /* samples taken (starts at 1): marks codes confirmed this sample */
    uint64_t *codes_used;         /* distinct code objects of the last sample, to prefetch their identity */
    size_t ncodes_used, codes_used_cap, ncodes_prefetched;
    int64_t identity_lo;          /* the code object's identity (py_code_identity_span): offset and length */
    size_t identity_len;
    struct tstate_facts *facts;   /* per thread of the current sample, threads_cap long */
    size_t *memo_of_thread;       /* per thread: index in memos, or NO_MEMO */
};

#define NO_MEMO SIZE_MAX


static int64_t max_offset(const int64_t *offsets, size_t n) {
    int64_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (offsets[i] > m)
            m = offsets[i];
    return m;
}

int py_walker_new(py_proc *p, py_walker **out, pf_error *err) {
    const py_layout *L = &p->layout;
    py_walker *w = calloc(1, sizeof *w);
    if (!w)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    w->proc = p;
    w->codes = py_code_cache_new();
    w->seen = calloc(SEEN_SIZE, sizeof *w->seen);
    w->lines = calloc(LINE_MEMO_SIZE, sizeof *w->lines);
    w->pthread_tid_offset = -1;
    int64_t ts[] = {L->tstate.next, L->tstate.interp, L->tstate.thread_id, L->tstate.native_thread_id,
                    L->tstate.frame, L->tstate.cframe, L->tstate.current_frame, L->tstate.datastack_chunk,
                    L->tstate.base_frame, L->tstate.holds_gil};
    w->tstate_bytes = (size_t)max_offset(ts, sizeof ts / sizeof ts[0]) + 8;
    if (L->frames == PY_FRAMES_OBJECTS) {
        int64_t fo[] = {L->frame_object.back, L->frame_object.code, L->frame_object.lasti};
        w->frame_bytes = (size_t)max_offset(fo, 3) + 8;
    } else {
        int64_t fi[] = {L->iframe.previous, L->iframe.code, L->iframe.instr, L->iframe.owner};
        w->frame_bytes = (size_t)max_offset(fi, 4) + 8;
    }
    py_code_identity_span(L, &w->identity_lo, &w->identity_len);
    if (!w->codes || !w->seen || !w->lines || w->tstate_bytes > 4096 || w->frame_bytes > 512 || w->identity_len > 256) {
        py_walker_free(w);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    *out = w;
    return 0;
}

void py_walker_free(py_walker *w) {
    if (!w)
        return;
    py_code_cache_free(w->codes);
    for (size_t i = 0; i < w->nmemos; i++)
        free(w->memos[i].chain);
    free(w->memos);
    u64map_free(&w->memo_index);
    free(w->threads);
    free(w->frame_pool);
    free(w->seen);
    free(w->lines);
    free(w->codes_used);
    free(w->facts);
    free(w->memo_of_thread);
    free(w->batch.spans);
    free(w->batch.order);
    free(w->batch.scratch);
    free(w->batch.last_added);
    free(w->batch.last_order);
    free(w->batch.merged);
    free(w->batch.windows);
    u64map_free(&w->batch.exact);
    free(w);
}

uint64_t py_walker_missed_reads(const py_walker *w) { return w->singles; }

/* ---- the prefetch batch ---- */

static void batch_reset(batch *b) {
    b->n = b->merged_used = b->nwindows = b->ran = 0;
    b->last_window = SIZE_MAX;
    if (b->exact.used) {
        for (size_t i = 0; i < b->exact.cap; i++)
            b->exact.slots[i].value = U64MAP_NONE;
        b->exact.used = 0;
    }
}

/* Adds a range to read. An address already added is not added again, unless
 * anew: then the new span is the one looked up once read. */
static void batch_add(batch *b, uint64_t addr, size_t len, int is_window, int anew) {
    if (!addr || !len || len > CHUNK_WINDOW_MAX)
        return;
    u64map_slot *known = is_window ? NULL : u64map_slot_for(&b->exact, addr);
    if (known && known->value != U64MAP_NONE && !anew)
        return;
    if (PF_GROW(b->spans, b->cap, b->n + 1, 256) != 0)
        return; /* prefetch is an optimisation: drop it */
    if (is_window) {
        if (PF_GROW(b->windows, b->windows_cap, b->nwindows + 1, 64) != 0)
            return;
        b->windows[b->nwindows++] = b->n;
        b->windows_sorted = 0;
    } else if (known && known->value != U64MAP_NONE) {
        known->value = (uint32_t)b->n;
    } else if (u64map_put(&b->exact, addr, (uint32_t)b->n) != 0) {
        return;
    }
    b->spans[b->n++] = (span){addr, (uint32_t)len, 0, 0, 0, (uint8_t)is_window, 0, 0};
}

/* Marks the span at addr (an exact one, added before) to be read before the
 * others of its run. */
static void batch_head(batch *b, uint64_t addr) {
    uint32_t i = u64map_get(&b->exact, addr);
    if (i != U64MAP_NONE && i >= b->ran)
        b->spans[i].head = 1;
}

/* Adds a word to be read after every other span of the next run, on its own;
 * its index, or SIZE_MAX. */
static size_t batch_check(batch *b, uint64_t addr) {
    if (!addr || PF_GROW(b->spans, b->cap, b->n + 1, 256) != 0)
        return SIZE_MAX;
    b->spans[b->n] = (span){addr, 8, 0, 0, 0, 0, 0, 1};
    return b->n++;
}

#define MERGE_GAP 1024            /* spans closer than this are read as one range */
#define MERGE_MAX (256 * 1024)

/* Whether order[i] joins the range [lo, *hi) that order[i - 1] ended: it
 * follows in address, within MERGE_GAP of the range's end, keeps the range
 * under MERGE_MAX, and is not a head (a head starts its range). */
static int joins(const batch *b, uint64_t lo, uint64_t *hi, const struct order *order, size_t i) {
    const span *sp = &b->spans[order[i].span];
    uint64_t end = sp->addr + sp->len;
    if (sp->head || sp->addr < order[i - 1].addr || sp->addr > *hi + MERGE_GAP || (end > *hi ? end : *hi) - lo > MERGE_MAX)
        return 0;
    if (end > *hi)
        *hi = end;
    return 1;
}

static int by_address(const void *a, const void *b) {
    uint64_t x = ((const struct order *)a)->addr, y = ((const struct order *)b)->addr;
    return x < y ? -1 : x > y;
}

/* Reads spans [first, first + count) each on its own iovec (the fallback
 * when a coalesced range fails); a span that fails is left out. */
static void read_spans_separately(py_walker *w, const struct order *ord, size_t count) {
    batch *b = &w->batch;
    size_t start = 0;
    while (start < count) {
        size_t k = count - start < MAX_IOV ? count - start : MAX_IOV;
        target_iov iov[MAX_IOV];
        for (size_t i = 0; i < k; i++) {
            const span *sp = &b->spans[ord[start + i].span];
            iov[i] = (target_iov){sp->addr, b->merged + sp->off, sp->len};
        }
        size_t done = target_readv_partial(w->proc->target, iov, k);
        for (size_t i = 0; i < done; i++)
            b->spans[ord[start + i].span].ok = 1;
        start += done + (done < k ? 1 : 0);
    }
}

/* Puts spans [first, first + count) in reading order in b->order, and keeps
 * that order for the next run (same_as_last_run). process_vm_readv copies its
 * ranges in order, each from its lowest byte up: the ranges holding a head go
 * first (a head starts its range: what follows it is read after it), then
 * the others, sorted by address, then the checks, each on its own. */
static void order_run(batch *b, size_t first, size_t count, size_t nchecks) {
    size_t nplain = count - nchecks, at_plain = 0, at_check = nplain;
    for (size_t i = 0; i < count; i++) {
        const span *sp = &b->spans[first + i];
        b->order[sp->check ? at_check++ : at_plain++] = (struct order){sp->addr, first + i};
    }
    struct order *plain = b->order;
    if (nplain > 32) {
        qsort(plain, nplain, sizeof *plain, by_address);
    } else { /* a steady-state sample's few ranges: cheaper than qsort's set-up */
        for (size_t k = 1; k < nplain; k++) {
            struct order o = plain[k];
            size_t j = k;
            for (; j > 0 && plain[j - 1].addr > o.addr; j--)
                plain[j] = plain[j - 1];
            plain[j] = o;
        }
    }
    if (nplain > b->scratch_cap) {
        struct order *bigger = realloc(b->scratch, nplain * sizeof *bigger);
        if (!bigger) {
            b->nlast = 0;
            return; /* sorted by address, heads not first: walks are still checked */
        }
        b->scratch = bigger;
        b->scratch_cap = nplain;
    }
    size_t nfirst = 0, nlater = 0;
    for (size_t g = 0, next; g < nplain; g = next) {
        int has_head = b->spans[plain[g].span].head;
        uint64_t hi = plain[g].addr + b->spans[plain[g].span].len;
        for (next = g + 1; next < nplain && joins(b, plain[g].addr, &hi, plain, next); next++)
            has_head |= b->spans[plain[next].span].head;
        for (size_t k = g; k < next; k++) /* head ranges to the front, the others to the scratch's end */
            b->scratch[has_head ? nfirst++ : nplain - 1 - nlater++] = plain[k];
    }
    for (size_t k = 0; k < nfirst; k++)
        plain[k] = b->scratch[k];
    for (size_t k = 0; k < nlater; k++)
        plain[nfirst + k] = b->scratch[nplain - 1 - k];

    if (count > b->last_cap) {
        struct added *added = realloc(b->last_added, count * sizeof *added);
        size_t *order = added ? realloc(b->last_order, count * sizeof *order) : NULL;
        if (added)
            b->last_added = added;
        if (!order) {
            b->nlast = 0;
            return;
        }
        b->last_order = order;
        b->last_cap = count;
    }
    for (size_t k = 0; k < count; k++) {
        const span *sp = &b->spans[first + k];
        b->last_added[k] = (struct added){sp->addr, sp->len, (uint8_t)(sp->is_window | sp->head << 1 | sp->check << 2)};
        b->last_order[k] = b->order[k].span - first;
    }
    b->nlast = count;
}

/* Whether spans [first, first + count) are the last ordered run's, one for one. */
static int same_as_last_run(const batch *b, size_t first, size_t count) {
    if (count != b->nlast)
        return 0;
    for (size_t k = 0; k < count; k++) {
        const span *sp = &b->spans[first + k];
        const struct added *a = &b->last_added[k];
        if (a->addr != sp->addr || a->len != sp->len || a->kind != (sp->is_window | sp->head << 1 | sp->check << 2))
            return 0;
    }
    return 1;
}

/* Reads the spans added since the last run. Spans are sorted by address and
 * those close together are coalesced into one range: the kernel's cost is per
 * range and per page, so reading a few hundred unused bytes between two code
 * objects is cheaper than a second iovec. A range that fails (a stale address
 * now unmapped) is retried span by span, and a span that fails is left out. */
static void batch_run(py_walker *w) {
    batch *b = &w->batch;
    size_t first = b->ran, count = b->n - b->ran;
    b->ran = b->n;
    if (!count)
        return;
    b->runs++;
    b->last_window = SIZE_MAX; /* a window of this run may hold the same addresses, read later */
    if (count > b->order_cap) {
        struct order *bigger = realloc(b->order, count * sizeof *bigger);
        if (!bigger)
            return;
        b->order = bigger;
        b->order_cap = count;
    }
    size_t nchecks = 0;
    for (size_t i = 0; i < count; i++)
        nchecks += b->spans[first + i].check;
    size_t nplain = count - nchecks;
    if (same_as_last_run(b, first, count)) {
        for (size_t k = 0; k < count; k++)
            b->order[k] = (struct order){b->spans[first + b->last_order[k]].addr, first + b->last_order[k]};
    } else {
        order_run(b, first, count, nchecks);
    }

    /* Group into ranges: [group_start[g], group_start[g+1]) of the order. */
    target_iov iov[MAX_IOV];
    size_t group_first[MAX_IOV + 1];
    size_t i = 0;
    while (i < count) {
        size_t ngroups = 0, merged_len = b->merged_used;
        while (i < count && ngroups < MAX_IOV) {
            size_t g = i;
            uint64_t lo = b->order[i].addr, hi = lo + b->spans[b->order[i].span].len;
            for (i++; i < nplain && joins(b, lo, &hi, b->order, i); i++)
                ;
            group_first[ngroups] = g;
            iov[ngroups] = (target_iov){lo, (void *)(uintptr_t)merged_len, (size_t)(hi - lo)};
            merged_len += (size_t)(hi - lo);
            ngroups++;
        }
        group_first[ngroups] = i;
        if (PF_GROW(b->merged, b->merged_cap, merged_len, 65536) != 0)
            return;
        b->merged_used = merged_len;
        for (size_t g = 0; g < ngroups; g++) {
            size_t at = (size_t)(uintptr_t)iov[g].buf;
            for (size_t j = group_first[g]; j < group_first[g + 1]; j++) {
                span *sp = &b->spans[b->order[j].span];
                sp->off = (uint32_t)(at + (sp->addr - iov[g].addr));
                sp->run = b->runs;
            }
            iov[g].buf = b->merged + at;
        }
        size_t g = 0;
        while (g < ngroups) {
            size_t done = target_readv_partial(w->proc->target, iov + g, ngroups - g);
            for (size_t k = g; k < g + done; k++)
                for (size_t j = group_first[k]; j < group_first[k + 1]; j++)
                    b->spans[b->order[j].span].ok = 1;
            g += done;
            if (g < ngroups) { /* this range failed: its spans one by one, then go on */
                read_spans_separately(w, b->order + group_first[g], group_first[g + 1] - group_first[g]);
                g++;
            }
        }
    }
}

static const span *batch_spans_for_sort; /* qsort has no context argument */

static int window_by_address(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    uint64_t x = batch_spans_for_sort[i].addr, y = batch_spans_for_sort[j].addr;
    /* Same start: the later span (the later read) last, so it is found first. */
    return x < y ? -1 : x > y ? 1 : i < j ? -1 : i > j;
}

/* The prefetched window holding [addr, addr + len), or NULL. A server has
 * thousands of threads, each with its own window: windows are searched by
 * address, not one by one. Windows of distinct threads are distinct chunks;
 * a thread whose chunk changed in this sample may have two, hence the few
 * steps back over windows that start lower. */
static int span_holds(const span *s, uint64_t addr, size_t len) {
    return s->ok && addr >= s->addr && len <= s->len && addr - s->addr <= s->len - len; /* no overflow */
}

static const span *window_holding(batch *b, uint64_t addr, size_t len) {
    if (!b->nwindows)
        return NULL;
    if (!b->windows_sorted) {
        batch_spans_for_sort = b->spans;
        qsort(b->windows, b->nwindows, sizeof *b->windows, window_by_address);
        b->windows_sorted = 1;
    }
    size_t lo = 0, hi = b->nwindows; /* first window starting above addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->spans[b->windows[mid]].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo, steps = 0; k > 0 && steps < 4; k--, steps++) {
        const span *s = &b->spans[b->windows[k - 1]];
        if (span_holds(s, addr, len)) {
            b->last_window = b->windows[k - 1];
            return s;
        }
    }
    return NULL;
}

/* len bytes at addr: from the prefetch if this sample read them, else read now into scratch. */
static const uint8_t *fetch(py_walker *w, uint64_t addr, size_t len, uint8_t *scratch, pf_error *err) {
    batch *b = &w->batch;
    /* A walk reads frame after frame from one thread's window: look there first. */
    if (b->last_window < b->n && span_holds(&b->spans[b->last_window], addr, len)) {
        const span *s = &b->spans[b->last_window];
        w->fetch_run = s->run;
        return b->merged + s->off + (addr - s->addr);
    }
    uint32_t i = u64map_get(&b->exact, addr);
    if (i != U64MAP_NONE && b->spans[i].ok && b->spans[i].len >= len) {
        w->fetch_run = b->spans[i].run;
        return b->merged + b->spans[i].off;
    }
    const span *s = window_holding(b, addr, len);
    if (s) {
        w->fetch_run = s->run;
        return b->merged + s->off + (addr - s->addr);
    }
    w->singles++;
    w->fetch_run = --w->single_run; /* a moment of its own */
    if (target_read(w->proc->target, addr, scratch, len, err) != 0)
        return NULL;
    return scratch;
}

/* fetch() for the links of a stack: a stack put together from reads made at
 * different moments may be half one stack and half the next (see walk_one). */
static const uint8_t *fetch_link(py_walker *w, uint64_t addr, size_t len, uint8_t *scratch, pf_error *err) {
    const uint8_t *bytes = fetch(w, addr, len, scratch, err);
    if (bytes && w->fetch_run != w->walk_run)
        w->walk_mixed = 1;
    return bytes;
}

static int read_u64(py_walker *w, uint64_t addr, uint64_t *v, pf_error *err) {
    uint8_t scratch[8];
    const uint8_t *bytes = fetch(w, addr, 8, scratch, err);
    if (!bytes)
        return -1;
    memcpy(v, bytes, 8);
    return 0;
}

static uint64_t word_at(const uint8_t *bytes, int64_t offset) {
    uint64_t v;
    memcpy(&v, bytes + offset, 8);
    return v;
}

/* ---- per-thread memory of the last sample ---- */

static void memo_reset(thread_memo *m, uint64_t tstate, uint64_t thread_id) {
    free(m->chain);
    memset(m, 0, sizeof *m);
    m->tstate = tstate;
    m->thread_id = thread_id;
    m->native_id = -1;
    m->check[0] = m->check[1] = SIZE_MAX;
}

/* The index of the memo of thread (tstate, thread_id), made if new; NO_MEMO
 * when out of memory. An index, not a pointer: the next call may move them all. */
static size_t memo_for(py_walker *w, uint64_t tstate, uint64_t thread_id) {
    uint32_t known = u64map_get(&w->memo_index, tstate);
    if (known != U64MAP_NONE) {
        thread_memo *m = &w->memos[known];
        if (m->thread_id != thread_id) /* a new thread in an old thread's freed state */
            memo_reset(m, tstate, thread_id);
        return known;
    }
    if (PF_GROW(w->memos, w->memos_cap, w->nmemos + 1, 16) != 0)
        return NO_MEMO;
    if (u64map_put(&w->memo_index, tstate, (uint32_t)w->nmemos) != 0)
        return NO_MEMO;
    thread_memo *m = &w->memos[w->nmemos];
    m->chain = NULL;
    memo_reset(m, tstate, thread_id);
    return w->nmemos++;
}

static void memo_chain_add(thread_memo *m, uint64_t frame) {
    if (PF_GROW(m->chain, m->chain_cap, m->nchain + 1, 64) != 0)
        return;
    m->chain[m->nchain++] = frame;
}

/* Forgets threads that did not appear in this sample, and re-indexes the rest. */
static void memos_sweep(py_walker *w) {
    size_t keep = 0;
    u64map *index = &w->memo_index;
    for (size_t i = 0; i < index->cap; i++)
        index->slots[i].value = U64MAP_NONE;
    index->used = 0;
    for (size_t i = 0; i < w->nmemos; i++) {
        if (w->memos[i].live) {
            w->memos[i].live = 0;
            w->memos[keep] = w->memos[i];
            if (u64map_get(index, w->memos[keep].tstate) == U64MAP_NONE)
                (void)u64map_put(index, w->memos[keep].tstate, (uint32_t)keep); /* out of memory: found no more, made anew */
            keep++;
        } else {
            free(w->memos[i].chain);
        }
    }
    w->nmemos = keep;
}

/* ---- frames ---- */

/* Cycle detection, consulted only on steps to a higher address: a cycle must
 * take at least one such step, and the frames of a data-stack chunk (the
 * common case) only ever step down, so most walks never touch the set. */
static int seen_before(py_walker *w, uint64_t addr) {
    size_t i = (size_t)(u64map_hash(addr) & (SEEN_SIZE - 1));
    while (w->seen[i].generation == w->generation) {
        if (w->seen[i].addr == addr)
            return 1;
        i = (i + 1) & (SEEN_SIZE - 1);
    }
    w->seen[i] = (seen_slot){addr, w->generation};
    return 0;
}

static py_frame *push_frame(py_walker *w, py_thread *t) {
    if (PF_GROW(w->frame_pool, w->frames_cap, w->frames_used + 1, 4096) != 0)
        return NULL;
    t->nframes++;
    return &w->frame_pool[w->frames_used++];
}

static int line_of(py_walker *w, const py_code *code, int64_t offset) {
    line_memo *m = w->last_line;
    if (m && m->code == code->addr && m->offset == offset) /* recursion: the frame below's call site again */
        return m->line;
    m = &w->lines[u64map_hash(code->addr ^ ((uint64_t)offset << 40)) & (LINE_MEMO_SIZE - 1)];
    if (m->code != code->addr || m->offset != offset) {
        m->code = code->addr;
        m->offset = offset;
        m->line = py_code_line(w->proc, code, offset);
    }
    w->last_line = m;
    return m->line;
}

/* A code object's address can be freed and reused by another code object
 * between two samples (at start-up, every imported module's <module> code is
 * freed as soon as it has run), so a cached decoding is confirmed once in
 * every sample that uses it: its (filename, name) pointers must be the ones it
 * was decoded from. For code the last sample used, those words were read in
 * the same prefetch as the frames; only code returning after an absence
 * costs a read of its own. A freshly decoded entry (checked == 0) needs none. */
static int confirm_code(py_walker *w, py_code *code, pf_error *err) {
    if (code->checked) {
        uint8_t scratch[256];
        const uint8_t *id = fetch(w, code->addr + (uint64_t)w->identity_lo, w->identity_len, scratch, err);
        if (!id)
            return -1;
        if (!py_code_same(&w->proc->layout, code, id, w->identity_lo)) {
            if (py_code_recheck(w->proc, code, err) != 0)
                return -1;
            /* Another code object now: lines remembered for this address are its predecessor's. */
            memset(w->lines, 0, LINE_MEMO_SIZE * sizeof *w->lines);
            w->last_line = NULL;
        }
    }
    code->checked = w->samples;
    if (PF_GROW(w->codes_used, w->codes_used_cap, w->ncodes_used + 1, 256) != 0)
        return 0; /* only the prefetch is lost */
    w->codes_used[w->ncodes_used++] = code->addr;
    return 0;
}

/* Appends one frame executing code_addr at byte offset `offset` of its bytecode
 * (or, when offset_is_pointer, at that instruction address). `code` is its
 * cache entry when the caller has already looked it up, else NULL. */
static int add_frame(py_walker *w, py_thread *t, uint64_t code_addr, py_code *code, int64_t offset,
                     int offset_is_pointer, pf_error *err) {
    if (!code)
        code = code_addr == w->hot_addr && w->hot ? w->hot : py_code_get(w->codes, w->proc, code_addr, err);
    if (!code)
        return -1;
    w->hot_addr = code_addr;
    w->hot = code;
    if (code->checked != w->samples && confirm_code(w, code, err) != 0)
        return -1;
    py_frame *f = push_frame(w, t);
    if (!f)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    if (offset_is_pointer)
        offset = (int64_t)((uint64_t)offset - (code_addr + (uint64_t)w->proc->layout.code.code_adaptive));
    f->code = code;
    f->line = line_of(w, code, offset);
    f->entry = !offset_is_pointer; /* frame objects: one eval call each; 3.11+: set by the walk */
    f->shim = 0;
    return 0;
}

static int walk_frame_objects(py_walker *w, py_thread *t, thread_memo *m, uint64_t frame, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    uint8_t scratch[512];
    while (frame) {
        if (t->nframes >= PY_MAX_DEPTH) {
            t->truncated = 1;
            return 0;
        }
        const uint8_t *f = fetch_link(w, frame, w->frame_bytes, scratch, err);
        if (!f)
            return -1;
        memo_chain_add(m, frame);
        /* A live frame is referenced by its caller's f_back or the thread
         * state. A freed one (free list or a code object's zombie frame)
         * still looks whole but links elsewhere: a torn read, not a stack. */
        int64_t refcnt;
        memcpy(&refcnt, f + L->type.ob_type - 8, 8);
        if (refcnt <= 0)
            return pf_fail(err, PF_ERR_CORRUPT, "frame 0x%llx was freed while being read", (unsigned long long)frame);
        int32_t lasti;
        memcpy(&lasti, f + L->frame_object.lasti, 4);
        int64_t offset = L->instr == PY_INSTR_LASTI_UNITS && lasti >= 0 ? (int64_t)lasti * 2 : lasti;
        uint64_t back = word_at(f, L->frame_object.back);
        if (add_frame(w, t, word_at(f, L->frame_object.code), NULL, offset, 0, err) != 0)
            return -1;
        if (back >= frame && seen_before(w, back))
            return pf_fail(err, PF_ERR_CORRUPT, "frame chain loops back to 0x%llx", (unsigned long long)back);
        frame = back;
    }
    return 0;
}

/* How far above a data-stack chunk its thread's frames are read through the
 * window. Frames the thread owns lie in this chunk or in older ones, which
 * the allocator usually maps right above it: when this sample's window was
 * read whole, up to CHUNK_WINDOW_MAX. Otherwise (a new chunk, or a window
 * that failed: the older chunks lie elsewhere, with unmapped memory between)
 * only the chunk itself, by its header's size (CPython's smallest chunk when
 * the header was not read); frames beyond it are read each on its own. */
static uint64_t chunk_reach(py_walker *w, uint64_t chunk) {
    const span *s = window_holding(&w->batch, chunk, 16);
    if (s && s->addr == chunk && s->len > CHUNK_WINDOW_MIN)
        return CHUNK_WINDOW_MAX;
    uint64_t size = 16384; /* DATA_STACK_CHUNK_SIZE, 3.11+ */
    if (s)
        memcpy(&size, w->batch.merged + s->off + (chunk - s->addr) + 8, 8);
    return size < CHUNK_WINDOW_MAX ? size : CHUNK_WINDOW_MAX;
}

/* Whether the object at addr (not in the code cache) is a code object, by
 * its type: 3.14+ f_executable may hold None or another object, whose frame
 * is no Python function's. Cached code needs no look (it is confirmed in
 * add_frame). */
static int is_code(py_walker *w, uint64_t addr, pf_error *err) {
    int kind;
    if (py_object_kind(w->proc, addr, &kind, err) != 0)
        return -1;
    return kind == PY_TYPE_CODE;
}

static int walk_interpreter_frames(py_walker *w, py_thread *t, thread_memo *m, uint64_t frame, uint64_t chunk,
                                   uint64_t base_frame, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    uint8_t scratch[512];
    uint64_t extent = 0, chunk_end = chunk ? chunk + chunk_reach(w, chunk) : 0;
    /* 3.15 ends every chain at the thread's base frame; a chain that stops
     * before it was read while the stack changed. An empty thread's chain is
     * the base frame alone (or nothing). */
    int reached_base = !base_frame || !frame;
    while (frame) {
        if (frame == base_frame) {
            reached_base = 1;
            break;
        }
        if (t->nframes >= PY_MAX_DEPTH) {
            t->truncated = 1;
            break;
        }
        const uint8_t *f = fetch_link(w, frame, w->frame_bytes, scratch, err);
        if (!f)
            return -1;
        /* Remember how this frame is best read next time: inside the chunk window, or on its own. */
        int owner = f[L->iframe.owner];
        /* (A thread's frames on its C stack, which may lie just above its chunk, never count as in it.) */
        if (chunk && owner == 0 && frame > chunk && frame < chunk_end && w->frame_bytes <= chunk_end - frame) {
            if (frame + w->frame_bytes - chunk > extent)
                extent = frame + w->frame_bytes - chunk;
        } else {
            memo_chain_add(m, frame);
        }
        uint64_t previous = word_at(f, L->iframe.previous);
        /* 3.14 tags f_executable's low bits (a _PyStackRef); a code object is 8-byte aligned anyway. */
        uint64_t code = word_at(f, L->iframe.code) & ~(uint64_t)7;
        if (owner < PY_OWNER_NOT_PYTHON && code) {
            py_code *cached = code == w->hot_addr && w->hot ? w->hot : py_code_find(w->codes, code);
            int ok = cached ? 1 : is_code(w, code, err);
            if (ok < 0 || (ok && add_frame(w, t, code, cached, (int64_t)word_at(f, L->iframe.instr), 1, err) != 0))
                return -1;
            if (ok && L->iframe.is_entry != PY_NO_FIELD)
                w->frame_pool[w->frames_used - 1].entry = f[L->iframe.is_entry] != 0;
        } else if (owner >= PY_OWNER_NOT_PYTHON && t->nframes) {
            /* (the last frame pushed is this thread's) the shim below an eval call's first frame */
            w->frame_pool[w->frames_used - 1].entry = 1;
            w->frame_pool[w->frames_used - 1].shim = frame;
        }
        if (previous >= frame && seen_before(w, previous))
            return pf_fail(err, PF_ERR_CORRUPT, "frame chain loops back to 0x%llx", (unsigned long long)previous);
        frame = previous;
    }
    if (!reached_base && !t->truncated)
        return pf_fail(err, PF_ERR_CORRUPT, "frame chain ended before the thread's base frame (read while it changed)");
    if (t->nframes)
        w->frame_pool[w->frames_used - 1].entry = 1;
    m->chunk = chunk;
    /* Read a little more than was used, so a deeper stack next time still hits. */
    uint64_t window = extent + 512;
    m->chunk_window = (uint32_t)(window < CHUNK_WINDOW_MIN ? CHUNK_WINDOW_MIN : window > CHUNK_WINDOW_MAX ? CHUNK_WINDOW_MAX : window);
    return 0;
}

/* ---- threads ---- */

/* Adds a thread's state, read before anything else of the run, and the words
 * that name its innermost frame (3.11/3.12: the cframe and its current
 * frame), read again after everything else (see walk_one). */
static void prefetch_state(py_walker *w, thread_memo *m, uint64_t cframe, int anew) {
    const py_layout *L = &w->proc->layout;
    batch *b = &w->batch;
    batch_add(b, m->tstate, w->tstate_bytes, 0, anew);
    m->check[0] = m->check[1] = SIZE_MAX;
    if (L->frames == PY_FRAMES_OBJECTS)
        return; /* (see walk_one) */
    batch_head(b, m->tstate);
    if (L->frames == PY_FRAMES_CFRAME) {
        m->check[0] = batch_check(b, m->tstate + (uint64_t)L->tstate.cframe);
        if (cframe) {
            uint64_t slot = cframe + (uint64_t)L->tstate.cframe_current_frame;
            batch_add(b, slot, 8, 0, anew);
            batch_head(b, slot);
            m->check[1] = batch_check(b, slot);
        }
    } else {
        m->check[0] = batch_check(b, m->tstate + (uint64_t)L->tstate.current_frame);
    }
}

/* Whether check span idx, read after the walk's other reads, still holds want at addr. */
static int still_holds(py_walker *w, size_t idx, uint64_t addr, uint64_t want) {
    const batch *b = &w->batch;
    if (idx >= b->n)
        return 0;
    const span *sp = &b->spans[idx];
    return sp->check && sp->addr == addr && sp->ok && sp->run == w->walk_run && word_at(b->merged + sp->off, 0) == want;
}

/* Whether the innermost frame the walk started from was still the thread's
 * once everything else had been read. */
static int unchanged(py_walker *w, const thread_memo *m, const tstate_facts *facts) {
    const py_layout *L = &w->proc->layout;
    if (L->frames == PY_FRAMES_CFRAME)
        return still_holds(w, m->check[0], m->tstate + (uint64_t)L->tstate.cframe, facts->cframe) &&
               (!facts->cframe ||
                still_holds(w, m->check[1], facts->cframe + (uint64_t)L->tstate.cframe_current_frame, w->walk_first));
    return still_holds(w, m->check[0], m->tstate + (uint64_t)L->tstate.current_frame, facts->first_frame);
}

/* Adds to the batch what this thread's walk will need, as the last sample saw it. */
static void prefetch_thread(py_walker *w, thread_memo *m, const tstate_facts *facts, int anew) {
    const py_layout *L = &w->proc->layout;
    if (facts->cframe)
        batch_add(&w->batch, facts->cframe + (uint64_t)L->tstate.cframe_current_frame, 8, 0, anew);
    if (facts->chunk)
        batch_add(&w->batch, facts->chunk, m->chunk == facts->chunk ? m->chunk_window : CHUNK_WINDOW_MIN, 1, anew);
    for (size_t i = 0; i < m->nchain; i++)
        batch_add(&w->batch, m->chain[i], w->frame_bytes, 0, anew);
}

/* Walks one thread. The memo's chain is rebuilt, or (again) extended with
 * what this walk read. */
static int walk_thread(py_walker *w, py_thread *t, thread_memo *m, const tstate_facts *facts, int again,
                       pf_error *err) {
    const py_layout *L = &w->proc->layout;
    w->generation++;
    if (w->generation == 0) { /* wrapped: old stamps could collide */
        memset(w->seen, 0, SEEN_SIZE * sizeof *w->seen);
        w->generation = 1;
    }
    if (!again || m->nchain > PY_MAX_DEPTH)
        m->nchain = 0;
    w->walk_first = facts->first_frame;
    if (L->frames == PY_FRAMES_OBJECTS)
        return walk_frame_objects(w, t, m, facts->first_frame, err);
    uint64_t frame = facts->first_frame;
    if (L->frames == PY_FRAMES_CFRAME) {
        uint8_t scratch[8];
        const uint8_t *link = facts->cframe ? fetch_link(w, facts->cframe + (uint64_t)L->tstate.cframe_current_frame,
                                                         8, scratch, err) : NULL;
        if (facts->cframe && !link)
            return -1;
        frame = 0;
        if (link)
            memcpy(&frame, link, 8);
        w->walk_first = frame;
    }
    return walk_interpreter_frames(w, t, m, frame, facts->chunk, facts->base_frame, err);
}

/* The thread state holding the GIL in interp (index i), 0 if none, or -1 if unknowable. */
static int gil_holder(py_walker *w, size_t i, uint64_t interp, uint64_t *holder) {
    const py_layout *L = &w->proc->layout;
    py_proc *p = w->proc;
    *holder = 0;
    if (p->tstate_current_var)
        return read_u64(w, p->tstate_current_var, holder, NULL);
    if (L->runtime.tstate_current != PY_NO_FIELD && p->runtime)
        return read_u64(w, p->runtime + (uint64_t)L->runtime.tstate_current, holder, NULL);
    if (L->interp.gil == PY_NO_FIELD)
        return -1;
    uint64_t gil, locked_word;
    if (read_u64(w, interp + (uint64_t)L->interp.gil, &gil, NULL) != 0)
        return -1;
    if (!gil && L->interp.gil_embedded != PY_NO_FIELD)
        gil = interp + (uint64_t)L->interp.gil_embedded;
    if (i < MAX_INTERPS)
        w->gils[i] = gil;
    if (!gil || read_u64(w, gil + (uint64_t)L->interp.gil_locked, &locked_word, NULL) != 0)
        return -1;
    if ((int32_t)locked_word != 1)
        return 0;
    return read_u64(w, gil + (uint64_t)L->interp.gil_last_holder, holder, NULL);
}

/* Where interp's collector says it is running (an int), or 0 when this build
 * does not tell: the interpreter's gc state (3.9+), the runtime's (3.7, 3.8),
 * or gcmodule.c's static found by symbol (2.7, 3.6). */
static uint64_t gc_flag_addr(const py_walker *w, uint64_t interp) {
    const py_layout *L = &w->proc->layout;
    if (L->interp.gc_collecting != PY_NO_FIELD)
        return interp + (uint64_t)L->interp.gc_collecting;
    if (L->runtime.gc_collecting != PY_NO_FIELD && w->proc->runtime)
        return w->proc->runtime + (uint64_t)L->runtime.gc_collecting;
    return w->proc->gc_collecting_var;
}

static py_thread *thread_with_tstate(py_walker *w, size_t first, uint64_t tstate) {
    for (size_t k = first; tstate && k < w->nthreads; k++)
        if (w->threads[k].tstate == tstate)
            return &w->threads[k];
    return NULL;
}

/* The one rule for which thread gets the <GC> frame while interp (index i,
 * threads[first..]) has its `collecting` flag set. The collector runs with
 * the GIL held, so: the thread holding the GIL; in a free-threaded build,
 * the thread that stopped the world (the collector, while it is stopped).
 * When neither names one (a finalizer it runs released the GIL, e.g. to
 * sleep; 3.13t between its stop-the-world phases), the thread found
 * collecting at the last sample, if still there; else the interpreter's
 * only thread. Otherwise no thread is marked. One int (and on 3.13t one
 * pointer) per interpreter, read in the batched prefetch. */
static void gc_collector(py_walker *w, size_t i, uint64_t interp, size_t first) {
    const py_layout *L = &w->proc->layout;
    uint64_t flag = gc_flag_addr(w, interp), remembered = w->collectors[i];
    uint8_t scratch[8];
    w->collectors[i] = 0;
    const uint8_t *bytes = flag ? fetch(w, flag, 4, scratch, NULL) : NULL;
    int32_t collecting = 0;
    if (bytes)
        memcpy(&collecting, bytes, 4);
    if (!collecting)
        return;
    py_thread *t = NULL;
    uint64_t requester;
    if (L->interp.stw_requester != PY_NO_FIELD &&
        read_u64(w, interp + (uint64_t)L->interp.stw_requester, &requester, NULL) == 0)
        t = thread_with_tstate(w, first, requester);
    for (size_t k = first; !t && k < w->nthreads; k++)
        if (w->threads[k].holds_gil == 1)
            t = &w->threads[k];
    if (!t)
        t = thread_with_tstate(w, first, remembered);
    if (!t && w->nthreads - first == 1)
        t = &w->threads[first];
    if (t) {
        t->in_gc = 1;
        w->collectors[i] = t->tstate;
    }
}

/* Before 3.11 a thread state has no TID, but its thread_id is glibc's pthread_t,
 * the address of struct pthread, which holds the TID at a fixed offset. Find
 * the one offset at which every thread's struct holds a distinct TID of this
 * process: it is specific to the glibc build, so it is learned, not assumed.
 * A thread state made for a thread not started yet (thread_id 0), or one
 * whose thread just ended (the kernel zeroes the TID), spoils one scan, not
 * the recording: the scan is tried again at later walks, up to
 * PTHREAD_SCAN_TRIES times (tests/native "churn" lost every TID, and with
 * them the CPU weights, when the first walk met such a thread). */
static void learn_pthread_tid_offset(py_walker *w) {
    const target_thread *tasks;
    size_t ntasks;
    if (target_threads(w->proc->target, &tasks, &ntasks, NULL) != 0 || w->nthreads == 0)
        return;
    uint8_t (*blocks)[PTHREAD_SCAN_BYTES] = calloc(16, PTHREAD_SCAN_BYTES);
    if (!blocks)
        return;
    size_t n = 0;
    for (size_t i = 0; i < w->nthreads && n < 16; i++)
        if (w->threads[i].thread_id &&
            target_read(w->proc->target, w->threads[i].thread_id, blocks[n], PTHREAD_SCAN_BYTES, NULL) == 0)
            n++;
    for (size_t off = 0; n && off + 4 <= PTHREAD_SCAN_BYTES; off += 4) {
        int all = 1;
        for (size_t i = 0; i < n && all; i++) {
            int32_t tid;
            memcpy(&tid, blocks[i] + off, 4);
            int found = 0;
            for (size_t k = 0; k < ntasks && !found; k++)
                found = tasks[k].ns_tid == tid; /* struct pthread holds the TID the process knows */
            for (size_t j = 0; j < i && found; j++)
                found = memcmp(blocks[j] + off, blocks[i] + off, 4) != 0;
            all = found;
        }
        if (all) {
            w->pthread_tid_offset = (int64_t)off;
            break;
        }
    }
    free(blocks);
    if (w->pthread_tid_offset < 0 && ++w->pthread_tid_tries >= PTHREAD_SCAN_TRIES)
        w->pthread_tid_offset = -2;
}

static void fill_native_ids(py_walker *w) {
    int scanned = 0; /* at most one scan per walk */
    for (size_t i = 0; i < w->nthreads; i++) {
        py_thread *t = &w->threads[i];
        if (t->native_id >= 0 || w->memo_of_thread[i] == NO_MEMO)
            continue;
        thread_memo *m = &w->memos[w->memo_of_thread[i]];
        if (m->native_id >= 0) {
            t->native_id = m->native_id;
            continue;
        }
        if (w->pthread_tid_offset == -1 && !scanned++)
            learn_pthread_tid_offset(w);
        int32_t tid32;
        if (w->pthread_tid_offset >= 0 &&
            target_read(w->proc->target, t->thread_id + (uint64_t)w->pthread_tid_offset, &tid32, 4, NULL) == 0)
            t->native_id = m->native_id = tid32;
    }
}

/* Room for one more thread in the per-thread arrays, which grow together. */
static py_thread *new_thread(py_walker *w) {
    if (w->nthreads == w->threads_cap) {
        void *const arrays[] = {&w->threads, &w->facts, &w->memo_of_thread};
        const size_t elems[] = {sizeof *w->threads, sizeof *w->facts, sizeof *w->memo_of_thread};
        if (pf_grow_all(arrays, elems, 3, &w->threads_cap, w->nthreads + 1, 16) != 0)
            return NULL;
    }
    py_thread *t = &w->threads[w->nthreads++];
    memset(t, 0, sizeof *t);
    t->native_id = -1;
    return t;
}

/* Phase 1 prefetch: the interpreter list head, each known interpreter's fields
 * and GIL, and every thread state seen last time. */
static void prefetch_threads(py_walker *w) {
    const py_layout *L = &w->proc->layout;
    py_proc *p = w->proc;
    batch *b = &w->batch;
    batch_reset(b);
    if (p->runtime)
        batch_add(b, p->runtime + (uint64_t)L->runtime.interpreters_head, 8, 0, 0);
    else
        batch_add(b, p->interp_head_var, 8, 0, 0);
    if (p->tstate_current_var)
        batch_add(b, p->tstate_current_var, 8, 0, 0);
    else if (L->runtime.tstate_current != PY_NO_FIELD && p->runtime)
        batch_add(b, p->runtime + (uint64_t)L->runtime.tstate_current, 8, 0, 0);
    for (size_t i = 0; i < w->ninterps; i++) {
        batch_add(b, gc_flag_addr(w, w->interps[i]), 4, 0, 0);
        if (L->interp.stw_requester != PY_NO_FIELD)
            batch_add(b, w->interps[i] + (uint64_t)L->interp.stw_requester, 8, 0, 0);
        batch_add(b, w->interps[i] + (uint64_t)L->interp.tstate_head, 8, 0, 0);
        batch_add(b, w->interps[i] + (uint64_t)L->interp.next, 8, 0, 0);
        if (L->interp.gil != PY_NO_FIELD && L->tstate.holds_gil == PY_NO_FIELD) {
            batch_add(b, w->interps[i] + (uint64_t)L->interp.gil, 8, 0, 0);
            if (w->gils[i]) {
                batch_add(b, w->gils[i] + (uint64_t)L->interp.gil_locked, 8, 0, 0);
                batch_add(b, w->gils[i] + (uint64_t)L->interp.gil_last_holder, 8, 0, 0);
            }
        }
    }
    /* The identity of every code object the last sample used (see confirm_code). */
    for (size_t i = 0; i < w->ncodes_used; i++)
        batch_add(b, w->codes_used[i] + (uint64_t)w->identity_lo, w->identity_len, 0, 0);
    w->ncodes_used = 0;
    /* Each thread's frames too, where they were last time: in a steady state
     * this one read is all a sample needs. */
    for (size_t i = 0; i < w->nmemos; i++) {
        thread_memo *m = &w->memos[i];
        tstate_facts last = {0};
        last.cframe = m->cframe;
        last.chunk = m->chunk;
        prefetch_state(w, m, m->cframe, 0);
        prefetch_thread(w, m, &last, 0);
    }
    batch_run(w);
}

/* Where a thread's frames start, from the bytes of its thread state. */
static void frame_facts(const py_layout *L, const uint8_t *ts, tstate_facts *f) {
    f->cframe = f->first_frame = f->chunk = f->base_frame = 0;
    if (L->frames == PY_FRAMES_CFRAME)
        f->cframe = word_at(ts, L->tstate.cframe);
    else
        f->first_frame = word_at(ts, L->frames == PY_FRAMES_OBJECTS ? L->tstate.frame : L->tstate.current_frame);
    if (L->tstate.datastack_chunk != PY_NO_FIELD)
        f->chunk = word_at(ts, L->tstate.datastack_chunk);
    if (L->tstate.base_frame != PY_NO_FIELD)
        f->base_frame = word_at(ts, L->tstate.base_frame);
}

/* Walks thread i from its facts; its frames go at the end of the pool. */
static int walk_one(py_walker *w, size_t i, int again, pf_error *err) {
    py_thread *t = &w->threads[i];
    thread_memo scratch_memo = {0};
    size_t first = w->frames_used;
    thread_memo *m = w->memo_of_thread[i] == NO_MEMO ? &scratch_memo : &w->memos[w->memo_of_thread[i]];
    t->nframes = 0;
    t->truncated = 0;
    t->error = PF_OK;
    w->walk_run = w->facts[i].run;
    w->walk_mixed = 0;
    int rc = walk_thread(w, t, m, &w->facts[i], again, err);
    if (rc != 0) {
        t->error = err->kind;
    } else if (m != &scratch_memo && w->proc->layout.frames != PY_FRAMES_OBJECTS &&
               (w->walk_mixed || !unchanged(w, m, &w->facts[i]))) {
        /* Part of the stack came from another read than its thread state
         * (frames new since the last sample, deeper than the window, or read
         * before the thread moved), or the innermost frame changed while the
         * one read ran (it copies range after range: the thread state first,
         * that word again last): in between, the target may have returned
         * below a frame read early and called elsewhere, so that newer
         * frames lead into older ones of another stack, every link valid.
         * Look again, all in one read, which now knows every frame. Frame
         * objects (<=3.10) are exempt: each is an object of its own, from
         * free lists at ever other addresses in a recursion (every look
         * would meet new ones, and a recursion changes its innermost frame
         * faster than one read runs), and one freed or reused since shows by
         * its reference count or its links (bench/truth.py: none wrong on 3.8). */
        t->error = PF_ERR_CORRUPT;
    }
    free(scratch_memo.chain);
    t->frames = (py_frame *)(uintptr_t)first; /* an index until the pool stops moving */
    return rc;
}

/* A stack torn by the running target (a frame freed or reused between two
 * reads) is read again, thread state and all, in one batch: what tears a walk
 * is the time between its reads, so each look prefetches every frame address
 * the earlier looks met (frames come from free lists: the same few addresses
 * recur), and the walk is served from that one read. Dropping torn stacks
 * instead would bias every profile against code whose frames come and go
 * fastest, i.e. hot recursive code. */
static int reread_torn(py_walker *w, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    for (int round = 0; round < TORN_REREADS; round++) {
        int any = 0;
        batch_reset(&w->batch);
        for (size_t i = 0; i < w->nthreads; i++) {
            if (w->threads[i].error != PF_ERR_CORRUPT)
                continue;
            any = 1;
            if (w->memo_of_thread[i] == NO_MEMO) {
                batch_add(&w->batch, w->threads[i].tstate, w->tstate_bytes, 0, 0);
            } else {
                prefetch_state(w, &w->memos[w->memo_of_thread[i]], w->facts[i].cframe, 0);
                prefetch_thread(w, &w->memos[w->memo_of_thread[i]], &w->facts[i], 0);
            }
        }
        if (!any)
            return 0;
        batch_run(w);
        for (size_t i = 0; i < w->nthreads; i++) {
            if (w->threads[i].error != PF_ERR_CORRUPT)
                continue;
            uint8_t scratch[4096];
            const uint8_t *ts = fetch(w, w->threads[i].tstate, w->tstate_bytes, scratch, err);
            if (!ts)
                return -1;
            frame_facts(L, ts, &w->facts[i]);
            w->facts[i].run = w->fetch_run;
            pf_error frame_err;
            if (walk_one(w, i, 1, &frame_err) != 0 && frame_err.kind == PF_ERR_EXITED) {
                *err = frame_err;
                return -1;
            }
        }
    }
    return 0;
}

int py_walker_sample(py_walker *w, const py_thread **threads, size_t *n, pf_error *err) {
    const py_layout *L = &w->proc->layout;
    uint8_t scratch[4096];
    uint64_t interp;

    w->nthreads = 0;
    w->frames_used = 0;
    w->samples++;
    prefetch_threads(w);
    if (read_u64(w, w->proc->runtime ? w->proc->runtime + (uint64_t)L->runtime.interpreters_head
                                     : w->proc->interp_head_var, &interp, err) != 0)
        return -1;
    size_t ninterps = 0;
    for (; interp; ninterps++) {
        if (ninterps >= MAX_INTERPS)
            return pf_fail(err, PF_ERR_CORRUPT, "interpreter list does not end");
        if (w->interps[ninterps] != interp)
            w->collectors[ninterps] = 0;
        w->interps[ninterps] = interp;
        size_t first = w->nthreads;
        uint64_t tstate, holder = 0;
        /* 3.15+ say per thread; before, the interpreter's GIL names its holder. */
        int per_thread_gil = L->tstate.holds_gil != PY_NO_FIELD;
        int gil_known = !per_thread_gil && gil_holder(w, ninterps, interp, &holder) == 0;
        if (read_u64(w, interp + (uint64_t)L->interp.tstate_head, &tstate, err) != 0)
            return -1;
        /* A list that loops (stale or hostile memory) is caught by Brent's
         * method: compare with a remembered state whose distance doubles. */
        uint64_t remembered = tstate;
        size_t steps = 0, power = 1;
        while (tstate) {
            if (w->nthreads >= PY_MAX_THREADS)
                return pf_fail(err, PF_ERR_CORRUPT, "more than %d threads: the thread list looks corrupt",
                               PY_MAX_THREADS);
            const uint8_t *ts = fetch(w, tstate, w->tstate_bytes, scratch, err);
            if (!ts)
                return -1;
            py_thread *t = new_thread(w);
            if (!t)
                return pf_fail(err, PF_ERR_NOMEM, "out of memory");
            tstate_facts *f = &w->facts[w->nthreads - 1];
            memset(f, 0, sizeof *f);
            f->run = w->fetch_run;
            t->tstate = tstate;
            t->interp = interp;
            t->holds_gil = gil_known ? holder == tstate : -1;
            if (per_thread_gil) {
                int32_t holds;
                memcpy(&holds, ts + L->tstate.holds_gil, 4);
                t->holds_gil = holds != 0;
            }
            t->thread_id = word_at(ts, L->tstate.thread_id);
            if (L->tstate.native_thread_id != PY_NO_FIELD) {
                uint64_t tid = word_at(ts, L->tstate.native_thread_id);
                t->native_id = tid ? (int64_t)tid : -1;
            }
            frame_facts(L, ts, f);
            tstate = word_at(ts, L->tstate.next);
            if (tstate == remembered)
                return pf_fail(err, PF_ERR_CORRUPT, "thread list loops back to 0x%llx", (unsigned long long)tstate);
            if (++steps == power) {
                remembered = tstate;
                power *= 2;
                steps = 0;
            }
        }
        gc_collector(w, ninterps, interp, first);
        if (read_u64(w, interp + (uint64_t)L->interp.next, &interp, err) != 0)
            return -1;
    }
    w->ninterps = ninterps;

    /* Phase 2, only for threads that moved (a new cframe or chunk) or are new:
     * their state and frames, as far as we can guess them, in one more read,
     * and walked from that read alone (see walk_one). */
    tstate_facts *facts = w->facts;
    size_t *memo_index = w->memo_of_thread;
    for (size_t i = 0; i < w->nthreads; i++)
        memo_index[i] = memo_for(w, w->threads[i].tstate, w->threads[i].thread_id);
    /* From here on w->memos does not move until memos_sweep(). */
    for (size_t i = 0; i < w->nthreads; i++) {
        if (memo_index[i] == NO_MEMO)
            continue;
        thread_memo *m = &w->memos[memo_index[i]];
        m->live = 1;
        facts[i].moved = m->cframe != facts[i].cframe || m->chunk != facts[i].chunk;
        if (facts[i].moved) {
            prefetch_state(w, m, facts[i].cframe, 1);
            prefetch_thread(w, m, &facts[i], 1);
        }
        m->cframe = facts[i].cframe;
    }
    batch_run(w);
    for (size_t i = 0; i < w->nthreads; i++) {
        if (memo_index[i] == NO_MEMO || !facts[i].moved)
            continue;
        const uint8_t *ts = fetch(w, w->threads[i].tstate, w->tstate_bytes, scratch, err);
        if (!ts)
            return -1;
        frame_facts(L, ts, &facts[i]);
        facts[i].run = w->fetch_run;
        w->memos[memo_index[i]].cframe = facts[i].cframe;
    }
    for (size_t i = 0; i < w->nthreads; i++) {
        pf_error frame_err;
        if (walk_one(w, i, 0, &frame_err) != 0 && frame_err.kind == PF_ERR_EXITED) {
            *err = frame_err;
            return -1;
        }
    }
    if (reread_torn(w, err) != 0)
        return -1;
    for (size_t i = 0; i < w->nthreads; i++)
        w->threads[i].frames = w->frame_pool ? w->frame_pool + (uintptr_t)w->threads[i].frames : NULL;
    fill_native_ids(w);
    memos_sweep(w);
    *threads = w->threads;
    *n = w->nthreads;
    return 0;
}
