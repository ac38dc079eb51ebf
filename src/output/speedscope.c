/* speedscope.c — the speedscope JSON format (https://www.speedscope.app,
 * schema https://www.speedscope.app/file-format-schema.json).
 *
 * shared.frames holds every profile frame ({name, file, line}); frame id k is
 * index k-1 (id 0 means "none"). Profiles, one per thread:
 *   sampled mode with a sample log: a "sampled" profile per thread, in time
 *     order; each sample weighs one sampling period in nanoseconds (unit
 *     "none" and weight 1 when the period is unknown). The period, not the gap
 *     to the next sample, because a thread that was idle or not sampled for a
 *     while would otherwise have that whole gap charged to its last stack.
 *   sampled mode without a log: the same, built from the call tree (one
 *     sample per stack, weighted by its count), so there is no time order.
 *   traced mode: an "evented" profile per thread root, with open/close events
 *     synthesized from the tree depth first, each frame lasting its measured
 *     total time. The tracer keeps totals per call path, not a timeline, so
 *     this timeline is NOT real time: calls along one path are merged into one
 *     span, children are laid end to end from their parent's start, and the
 *     parent's own time comes after them.
 * Thread and process roots name the profiles instead of appearing as frames. */
#include "output/outbuf.h"
#include "output/writer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/aggregate.h"
#include "output/escape.h"

static int synthetic(int kind) { return kind == PF_FUNC_THREAD || kind == PF_FUNC_PROCESS; }

/* Writes the stack of node as a JSON array of frame indexes, root first,
 * stopping at the root or a thread/process node. path has room for every node. */
static void write_stack(const pf_profile *p, const pf_node *nodes, pf_node_id node, pf_node_id *path, out_buf *f) {
    size_t depth = 0;
    for (pf_node_id at = node; at != PF_ROOT && !synthetic(out_node_kind(p, at)); at = nodes[at].parent)
        path[depth++] = at;
    out_buf_putc(f, '[');
    for (size_t k = depth; k-- > 0;) {
        if (k + 1 < depth)
            out_buf_putc(f, ',');
        out_buf_u64(f, nodes[path[k]].frame - 1);
    }
    out_buf_putc(f, ']');
}

static void write_frames(const pf_profile *p, out_buf *f) {
    size_t nfr, nfn;
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_func *funcs = pf_funcs(p, &nfn);
    out_buf_puts(f, "\"shared\": {\"frames\": [");
    for (size_t i = 1; i < nfr; i++) {
        const pf_func *fn = frames[i].func < nfn ? &funcs[frames[i].func] : &funcs[0];
        out_buf_puts(f, i > 1 ? ",\n  {\"name\": " : "\n  {\"name\": ");
        out_esc_json(f, *pf_str(p, fn->name) ? pf_str(p, fn->name) : "???");
        if (*pf_str(p, fn->file)) {
            out_buf_puts(f, ", \"file\": ");
            out_esc_json(f, pf_str(p, fn->file));
        }
        int line = frames[i].line > 0 ? frames[i].line : fn->firstline;
        if (line > 0)
            out_buf_printf(f, ", \"line\": %d", line);
        out_buf_putc(f, '}');
    }
    out_buf_puts(f, "\n]},\n");
}

/* A profile's name: "<process> / <thread>", each part where it exists. */
static void write_name(out_buf *f, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 4);
    if (!s) {
        out_esc_json(f, *b ? b : a);
        return;
    }
    snprintf(s, la + lb + 4, "%s%s%s", a, *a && *b ? " / " : "", b);
    out_esc_json(f, *s ? s : "all threads");
    free(s);
}

static const char *node_name(const pf_profile *p, const pf_node *nodes, pf_node_id n) {
    size_t nfr, nfn;
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_func *funcs = pf_funcs(p, &nfn);
    if (n == PF_ROOT || nodes[n].frame >= nfr || frames[nodes[n].frame].func >= nfn)
        return "";
    return pf_str(p, funcs[frames[nodes[n].frame].func].name);
}

/* ---- sampled, from the sample log ---- */

static const pf_sample *sort_samples; /* qsort has no context argument in C11 */

static int by_thread_time(const void *a, const void *b) {
    const pf_sample *x = &sort_samples[*(const size_t *)a], *y = &sort_samples[*(const size_t *)b];
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->time_ns != y->time_ns)
        return x->time_ns < y->time_ns ? -1 : 1;
    size_t i = *(const size_t *)a, j = *(const size_t *)b; /* keep log order for equal times */
    return i < j ? -1 : i > j;
}

static void thread_label(const pf_profile *p, uint32_t t, char *buf, size_t cap, const char **name) {
    size_t nth, nproc;
    const pf_thread *threads = pf_threads(p, &nth);
    const pf_process *procs = pf_processes(p, &nproc);
    *name = "";
    if (t >= nth) {
        snprintf(buf, cap, "thread #%" PRIu32, t);
        return;
    }
    const pf_thread *th = &threads[t];
    char pid[32] = "";
    if (nproc > 1 && th->process < nproc)
        snprintf(pid, sizeof pid, "pid %d ", (int)procs[th->process].pid);
    *name = pf_str(p, th->name);
    if (th->native_id > 0)
        snprintf(buf, cap, "%s(tid %" PRId64 ")", pid, th->native_id);
    else
        snprintf(buf, cap, "%s(thread %" PRIu64 ")", pid, th->thread_id);
}

static int write_from_log(const pf_profile *p, out_buf *f, uint64_t period, int *first, pf_error *err) {
    size_t nn, ns;
    const pf_node *nodes = pf_nodes(p, &nn);
    const pf_sample *samples = pf_samples(p, &ns);
    size_t *order = malloc(ns * sizeof *order);
    pf_node_id *path = malloc((nn ? nn : 1) * sizeof *path);
    if (!order || !path) {
        free(order);
        free(path);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < ns; i++)
        order[i] = i;
    sort_samples = samples;
    qsort(order, ns, sizeof *order, by_thread_time);
    uint64_t unit = period ? period : 1; /* a sample's weight counts periods (of CPU time, or taken) */
    for (size_t i = 0; i < ns;) {
        uint32_t t = samples[order[i]].thread;
        size_t end = i;
        uint64_t sum = 0;
        while (end < ns && samples[order[end]].thread == t)
            sum += samples[order[end++]].weight * unit;
        char label[96];
        const char *tname;
        thread_label(p, t, label, sizeof label, &tname);
        size_t nlen = strlen(tname);
        char *full = malloc(nlen + sizeof label + 2);
        out_buf_puts(f, *first ? "\n  " : ",\n  ");
        *first = 0;
        out_buf_puts(f, "{\"type\": \"sampled\", \"name\": ");
        if (full) {
            snprintf(full, nlen + sizeof label + 2, "%s%s%s", tname, nlen ? " " : "", label);
            out_esc_json(f, full);
            free(full);
        } else {
            out_esc_json(f, label);
        }
        out_buf_printf(f, ", \"unit\": \"%s\", \"startValue\": 0, \"endValue\": %" PRIu64 ",\n   \"samples\": [",
                period ? "nanoseconds" : "none", sum);
        for (size_t k = i; k < end; k++) {
            if (k > i)
                out_buf_putc(f, ',');
            write_stack(p, nodes, samples[order[k]].node < nn ? samples[order[k]].node : PF_ROOT, path, f);
        }
        out_buf_puts(f, "],\n   \"weights\": [");
        for (size_t k = i; k < end; k++) {
            if (k > i)
                out_buf_putc(f, ',');
            out_buf_u64(f, samples[order[k]].weight * unit);
        }
        out_buf_puts(f, "]}");
        i = end;
    }
    free(order);
    free(path);
    return 0;
}

/* ---- from the tree: one profile per thread root ---- */

typedef struct tree_profile {
    pf_node_id container; /* a thread node (all its children), or root / a process node (its plain children) */
    int loose;
} tree_profile;

/* Lists the profiles: thread nodes found under the root or under process
 * nodes, and for the root and each process node, its children that are
 * neither (stacks recorded without thread roots). */
static tree_profile *list_profiles(const pf_profile *p, size_t *count) {
    size_t nn;
    const pf_node *nodes = pf_nodes(p, &nn);
    tree_profile *out = malloc((nn ? nn : 1) * sizeof *out);
    pf_node_id *work = malloc((nn ? nn : 1) * sizeof *work);
    size_t n = 0, nwork = 0;
    if (!out || !work) {
        free(out);
        free(work);
        return NULL;
    }
    work[nwork++] = PF_ROOT;
    for (size_t w = 0; w < nwork; w++) {
        pf_node_id at = work[w];
        int loose = 0;
        for (pf_node_id c = nodes[at].first_child; c; c = nodes[c].next_sibling) {
            int kind = out_node_kind(p, c);
            if (kind == PF_FUNC_PROCESS)
                work[nwork++] = c;
            else if (kind == PF_FUNC_THREAD)
                out[n++] = (tree_profile){c, 0};
            else if (!loose) {
                loose = 1;
                out[n++] = (tree_profile){at, 1};
            }
        }
    }
    free(work);
    *count = n;
    return out;
}

static void write_tree_name(const pf_profile *p, const pf_node *nodes, const tree_profile *tp, out_buf *f) {
    const char *cmd = pf_str(p, pf_profile_meta_const(p)->command);
    if (tp->loose) {
        write_name(f, tp->container == PF_ROOT ? cmd : node_name(p, nodes, tp->container), "");
        return;
    }
    pf_node_id parent = nodes[tp->container].parent;
    write_name(f, parent == PF_ROOT ? "" : node_name(p, nodes, parent), node_name(p, nodes, tp->container));
}

/* Whether child c of the container belongs to the profile. */
static int member(const pf_profile *p, const tree_profile *tp, pf_node_id c) {
    return !tp->loose || !synthetic(out_node_kind(p, c));
}

static void write_tree_sampled(const pf_profile *p, const pf_node *nodes, const tree_profile *tp, uint64_t period,
                               pf_node_id *path, out_buf *f) {
    uint64_t unit = period ? period : 1, sum = 0;
    out_buf_puts(f, "{\"type\": \"sampled\", \"name\": ");
    write_tree_name(p, nodes, tp, f);
    out_buf_printf(f, ", \"unit\": \"%s\", \"startValue\": 0,\n   \"samples\": [", period ? "nanoseconds" : "none");
    /* Two passes over the same walk: stacks, then weights. */
    for (int pass = 0; pass < 2; pass++) {
        int any = 0;
        if (pass == 1)
            out_buf_puts(f, "],\n   \"weights\": [");
        if (!tp->loose && nodes[tp->container].self) { /* samples in the thread with no frames */
            if (pass == 0)
                out_buf_puts(f, "[]");
            else
                out_buf_printf(f, "%" PRIu64, nodes[tp->container].self * unit);
            sum += pass ? nodes[tp->container].self * unit : 0;
            any = 1;
        }
        for (pf_node_id top = nodes[tp->container].first_child; top; top = nodes[top].next_sibling) {
            if (!member(p, tp, top))
                continue;
            /* Pre-order walk of top's subtree without recursion. */
            pf_node_id n = top;
            for (;;) {
                if (nodes[n].self) {
                    out_buf_puts(f, any ? "," : "");
                    any = 1;
                    if (pass == 0) {
                        write_stack(p, nodes, n, path, f);
                    } else {
                        out_buf_printf(f, "%" PRIu64, nodes[n].self * unit);
                        sum += nodes[n].self * unit;
                    }
                }
                if (nodes[n].first_child) {
                    n = nodes[n].first_child;
                    continue;
                }
                while (n != top && !nodes[n].next_sibling)
                    n = nodes[n].parent;
                if (n == top)
                    break;
                n = nodes[n].next_sibling;
            }
        }
    }
    out_buf_printf(f, "],\n   \"endValue\": %" PRIu64 "}", sum);
}

static void write_event(out_buf *f, int *any, char type, pf_frame_id frame, uint64_t at) {
    out_buf_printf(f, "%s{\"type\": \"%c\", \"frame\": %" PRIu32 ", \"at\": %" PRIu64 "}", *any ? ",\n    " : "\n    ", type,
            frame - 1, at);
    *any = 1;
}

static void write_tree_evented(const pf_profile *p, const pf_node *nodes, const tree_profile *tp, const uint64_t *tot,
                               pf_node_id *stack, uint64_t *start, out_buf *f) {
    out_buf_puts(f, "{\"type\": \"evented\", \"name\": ");
    write_tree_name(p, nodes, tp, f);
    out_buf_puts(f, ", \"unit\": \"nanoseconds\", \"startValue\": 0,\n   \"events\": [");
    uint64_t cursor = 0;
    int any = 0;
    for (pf_node_id top = nodes[tp->container].first_child; top; top = nodes[top].next_sibling) {
        if (!member(p, tp, top) || !tot[top])
            continue;
        /* stack[d] is the open node at depth d, start[d] its open time; stack[d+1]
         * is always the child visited last, so its next sibling comes next. */
        size_t d = 0;
        stack[0] = top;
        start[0] = cursor;
        write_event(f, &any, 'O', nodes[top].frame, cursor);
        pf_node_id next = nodes[top].first_child;
        uint64_t child_at = cursor;
        for (;;) {
            while (next && !tot[next])
                next = nodes[next].next_sibling; /* nothing to show: a zero-length span */
            if (next) {
                stack[++d] = next;
                start[d] = child_at;
                write_event(f, &any, 'O', nodes[next].frame, child_at);
                next = nodes[next].first_child;
                continue;
            }
            pf_node_id done = stack[d];
            uint64_t end = start[d] + tot[done];
            write_event(f, &any, 'C', nodes[done].frame, end);
            if (d == 0) {
                cursor = end;
                break;
            }
            d--;
            child_at = end;
            next = nodes[done].next_sibling;
        }
    }
    out_buf_printf(f, "],\n   \"endValue\": %" PRIu64 "}", cursor);
}

static int write_speedscope(const pf_profile *p, out_buf *f, const out_options *o, pf_error *err) {
    (void)o;
    size_t nn, ns;
    const pf_node *nodes = pf_nodes(p, &nn);
    pf_samples(p, &ns);
    const pf_meta *meta = pf_profile_meta_const(p);
    int traced = meta->mode == PF_MODE_TRACED;
    uint64_t period = meta->period_ns;
    if (!period && meta->rate_hz > 0)
        period = (uint64_t)(1e9 / meta->rate_hz + 0.5);

    out_buf_puts(f, "{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n");
    write_frames(p, f);
    out_buf_puts(f, "\"profiles\": [");
    int first = 1, rc = 0;
    if (!traced && ns) {
        rc = write_from_log(p, f, period, &first, err);
    } else {
        size_t count = 0;
        tree_profile *profiles = list_profiles(p, &count);
        uint64_t *tot = out_node_totals(p);
        pf_node_id *path = malloc((nn ? nn : 1) * sizeof *path);
        uint64_t *start = malloc((nn ? nn : 1) * sizeof *start);
        if (!profiles || !tot || !path || !start) {
            rc = pf_fail(err, PF_ERR_NOMEM, "out of memory");
            count = 0;
        }
        for (size_t i = 0; i < count; i++) {
            out_buf_puts(f, first ? "\n  " : ",\n  ");
            first = 0;
            if (traced)
                write_tree_evented(p, nodes, &profiles[i], tot, path, start, f);
            else
                write_tree_sampled(p, nodes, &profiles[i], period, path, f);
        }
        free(profiles);
        free(tot);
        free(path);
        free(start);
    }
    if (rc != 0)
        return rc;
    if (first) /* nothing recorded: speedscope still wants a profile to open */
        out_buf_puts(f, "\n  {\"type\": \"sampled\", \"name\": \"empty\", \"unit\": \"none\", \"startValue\": 0, "
                        "\"endValue\": 0, \"samples\": [], \"weights\": []}");
    out_buf_puts(f, "\n],\n\"name\": ");
    const char *cmd = pf_str(p, meta->command);
    out_esc_json(f, *cmd ? cmd : "pyflare profile");
    out_buf_puts(f, ",\n\"activeProfileIndex\": 0,\n\"exporter\": \"pyflare\"}\n");
    return 0;
}

int out_write_speedscope(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    return out_buf_write(p, f, o, "speedscope", write_speedscope, err);
}
