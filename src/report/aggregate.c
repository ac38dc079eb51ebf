/* aggregate.c — per-function and per-edge totals (see aggregate.h). */
#include "report/aggregate.h"

#include <stdlib.h>
#include <string.h>

uint64_t *out_node_totals(const pf_profile *p) {
    size_t n;
    const pf_node *nodes = pf_nodes(p, &n);
    uint64_t *tot = malloc((n ? n : 1) * sizeof *tot);
    if (!tot)
        return NULL;
    int traced = pf_profile_meta_const(p)->mode == PF_MODE_TRACED;
    for (size_t i = 0; i < n; i++)
        tot[i] = nodes[i].self;
    /* Children always have larger ids than their parent, so by the time the
     * backward pass reaches a node, all its descendants are summed into it. */
    for (size_t i = n; i-- > 0;) {
        if (traced && nodes[i].total > tot[i])
            tot[i] = nodes[i].total;
        if (i > 0)
            tot[nodes[i].parent] += tot[i];
    }
    return tot;
}

int out_node_kind(const pf_profile *p, pf_node_id node) {
    size_t nn, nfr, nfn;
    const pf_node *nodes = pf_nodes(p, &nn);
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_func *funcs = pf_funcs(p, &nfn);
    if (node >= nn || nodes[node].frame >= nfr || frames[nodes[node].frame].func >= nfn)
        return PF_FUNC_OTHER;
    return funcs[frames[nodes[node].frame].func].kind;
}

static uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

uint32_t out_strmap_id(out_strmap *m, const char *key, size_t len) {
    uint64_t h = hash_bytes(key, len);
    /* Distinct strings with equal hashes probe on to the next hash value. */
    for (;; h++) {
        uint32_t id = u64map_get(&m->map, h);
        if (id == U64MAP_NONE)
            break;
        if (m->lens[id - 1] == len && !memcmp(m->keys[id - 1], key, len))
            return id;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        char **keys = realloc(m->keys, cap * sizeof *keys);
        if (!keys)
            return 0;
        m->keys = keys;
        size_t *lens = realloc(m->lens, cap * sizeof *lens);
        if (!lens)
            return 0;
        m->lens = lens;
        m->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return 0;
    memcpy(copy, key, len);
    copy[len] = 0;
    if (u64map_put(&m->map, h, (uint32_t)(m->n + 1)) != 0) {
        free(copy);
        return 0;
    }
    m->keys[m->n] = copy;
    m->lens[m->n] = len;
    return (uint32_t)++m->n;
}

void out_strmap_free(out_strmap *m) {
    for (size_t i = 0; i < m->n; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->lens);
    u64map_free(&m->map);
    memset(m, 0, sizeof *m);
}

void out_agg_free(out_agg *a) {
    free(a->node_total);
    free(a->fns);
    free(a->edges);
    free(a->lines);
    memset(a, 0, sizeof *a);
}

/* Growable arrays of edges and lines, found through u64maps. */
typedef struct agg_state {
    out_agg *a;
    size_t edges_cap, lines_cap;
    u64map edge_map, line_map;
} agg_state;

#define NO_EDGE UINT32_MAX

static uint32_t edge_find(agg_state *s, uint32_t caller, uint32_t callee, int32_t line) {
    out_agg *a = s->a;
    uint64_t key = u64map_hash((uint64_t)caller << 32 | callee) ^ u64map_hash((uint64_t)(uint32_t)line + 1);
    for (;; key++) {
        uint32_t id = u64map_get(&s->edge_map, key);
        if (id == U64MAP_NONE)
            break;
        const out_agg_edge *e = &a->edges[id];
        if (e->caller == caller && e->callee == callee && e->line == line)
            return id;
    }
    if (a->nedges == s->edges_cap) {
        size_t cap = s->edges_cap ? 2 * s->edges_cap : 256;
        out_agg_edge *bigger = realloc(a->edges, cap * sizeof *bigger);
        if (!bigger)
            return NO_EDGE;
        a->edges = bigger;
        s->edges_cap = cap;
    }
    if (u64map_put(&s->edge_map, key, (uint32_t)a->nedges) != 0)
        return NO_EDGE;
    a->edges[a->nedges] = (out_agg_edge){.caller = caller, .callee = callee, .line = line};
    return (uint32_t)a->nedges++;
}

static int line_add(agg_state *s, uint32_t cls, int32_t line, uint64_t self) {
    out_agg *a = s->a;
    uint64_t key = (uint64_t)cls << 32 | (uint32_t)line;
    uint32_t id = u64map_get(&s->line_map, key);
    if (id == U64MAP_NONE) {
        if (a->nlines == s->lines_cap) {
            size_t cap = s->lines_cap ? 2 * s->lines_cap : 256;
            out_agg_line *bigger = realloc(a->lines, cap * sizeof *bigger);
            if (!bigger)
                return -1;
            a->lines = bigger;
            s->lines_cap = cap;
        }
        if (u64map_put(&s->line_map, key, (uint32_t)a->nlines) != 0)
            return -1;
        id = (uint32_t)a->nlines++;
        a->lines[id] = (out_agg_line){cls, line, 0};
    }
    a->lines[id].self += self;
    return 0;
}

int out_aggregate(const pf_profile *p, const uint32_t *class_of_func, size_t nclasses, unsigned flags, out_agg *a) {
    return out_aggregate_under(p, PF_ROOT, class_of_func, nclasses, flags, a);
}

int out_aggregate_under(const pf_profile *p, pf_node_id from, const uint32_t *class_of_func, size_t nclasses,
                        unsigned flags, out_agg *a) {
    memset(a, 0, sizeof *a);
    size_t nn, nfr, nfn;
    const pf_node *nodes = pf_nodes(p, &nn);
    const pf_frame *frames = pf_frames(p, &nfr);
    pf_funcs(p, &nfn);
    int traced = pf_profile_meta_const(p)->mode == PF_MODE_TRACED;
    agg_state s = {.a = a};
    a->nclasses = nclasses ? nclasses : 1;
    a->node_total = out_node_totals(p);
    a->fns = calloc(a->nclasses, sizeof *a->fns);
    /* Per depth on the current stack: the node's class and the edge into it. */
    uint32_t *cls_at = malloc((nn + 1) * sizeof *cls_at);
    uint32_t *edge_at = malloc((nn + 1) * sizeof *edge_at);
    /* How many times each class is on the current stack. */
    uint32_t *active = calloc(a->nclasses, sizeof *active);
    uint32_t *edge_active = NULL;
    size_t edge_active_cap = 0;
    int rc = -1;
    if (!a->node_total || !a->fns || !cls_at || !edge_at || !active)
        goto out;
    if (from >= nn)
        from = PF_ROOT;
    a->grand_total = nn ? a->node_total[from] : 0;
    cls_at[0] = 0;

    /* Iterative pre/post-order walk over first_child/next_sibling: stacks can
     * be thousands deep, and recursion in C would risk the C stack. */
    size_t d = 0;
    pf_node_id n = nn ? nodes[from].first_child : 0;
    while (n) {
        /* Enter n. */
        d++;
        const pf_node *node = &nodes[n];
        pf_func_id func = node->frame < nfr ? frames[node->frame].func : 0;
        uint32_t c = flags & OUT_AGG_BY_FRAME ? (node->frame < nfr ? class_of_func[node->frame] : 0)
                     : func < nfn ? class_of_func[func] : 0;
        if (c >= a->nclasses)
            c = 0;
        uint32_t pc = cls_at[d - 1];
        cls_at[d] = c;
        edge_at[d] = NO_EDGE;
        if (!c) {
            a->dropped += node->self;
        } else {
            uint64_t t = a->node_total[n];
            uint64_t calls = traced ? node->calls : t;
            out_agg_fn *fn = &a->fns[c];
            int outer = active[c] == 0;
            fn->self += node->self;
            fn->calls += calls;
            if (outer) {
                fn->total += t;
                fn->prim_calls += calls;
            }
            if (!pc) {
                fn->top_total += t;
                fn->top_calls += calls;
            } else {
                int32_t line = 0;
                if (flags & OUT_AGG_EDGE_LINES) {
                    const pf_node *parent = &nodes[node->parent];
                    line = parent->frame < nfr ? frames[parent->frame].line : 0;
                }
                uint32_t e = edge_find(&s, pc, c, line);
                if (e == NO_EDGE)
                    goto out;
                if (a->nedges > edge_active_cap) {
                    size_t cap = s.edges_cap;
                    uint32_t *bigger = realloc(edge_active, cap * sizeof *bigger);
                    if (!bigger)
                        goto out;
                    memset(bigger + edge_active_cap, 0, (cap - edge_active_cap) * sizeof *bigger);
                    edge_active = bigger;
                    edge_active_cap = cap;
                }
                out_agg_edge *edge = &a->edges[e];
                edge->calls += calls;
                edge->self += node->self;
                if (!edge_active[e]) {
                    edge->total += t;
                    edge->prim_calls += calls;
                }
                if (outer)
                    edge->incl += t;
                edge_active[e]++;
                edge_at[d] = e;
                fn->called = 1;
            }
            active[c]++;
            if ((flags & OUT_AGG_LINES) && node->self &&
                line_add(&s, c, node->frame < nfr ? frames[node->frame].line : 0, node->self) != 0)
                goto out;
        }
        if (node->first_child) {
            n = node->first_child;
            continue;
        }
        /* Leave n and every ancestor whose children are all done. */
        for (;;) {
            if (cls_at[d])
                active[cls_at[d]]--;
            if (edge_at[d] != NO_EDGE)
                edge_active[edge_at[d]]--;
            d--;
            if (nodes[n].next_sibling) {
                n = nodes[n].next_sibling;
                break;
            }
            n = nodes[n].parent;
            if (n == from) {
                n = 0; /* back at the top: done */
                break;
            }
        }
    }
    rc = 0;
out:
    free(cls_at);
    free(edge_at);
    free(active);
    free(edge_active);
    u64map_free(&s.edge_map);
    u64map_free(&s.line_map);
    if (rc != 0)
        out_agg_free(a);
    return rc;
}
