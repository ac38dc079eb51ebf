/* tree.c — the display tree (see tree.h). */
#include "report/tree.h"

#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "report/aggregate.h"
#include "report/order.h"

uint32_t rp_tree_add(rp_tree *t, pf_frame_id frame, uint64_t self, uint64_t total) {
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        rp_node *bigger = realloc(t->n, cap * sizeof *bigger);
        if (!bigger)
            return 0;
        t->n = bigger;
        t->cap = cap;
    }
    t->n[t->len] = (rp_node){frame, 0, 0, 0, self, total, 0};
    return (uint32_t)t->len++;
}

void rp_tree_free(rp_tree *t) {
    free(t->n);
    free(t->src);
    memset(t, 0, sizeof *t);
}

/* A whole tree before pruning, in whichever shape it comes: the profile's
 * nodes with their totals, or a reversed trie (nodes plus parents). Parents
 * always precede children. */
typedef struct src_tree {
    const pf_node *pn;
    const uint64_t *ptotal;
    const rp_node *vn;
    const uint32_t *vparent;
    size_t n;
} src_tree;

#define SRC_PARENT(s, i) ((s)->pn ? (s)->pn[i].parent : (s)->vparent[i])
#define SRC_FRAME(s, i) ((s)->pn ? (i ? (s)->pn[i].frame : 0) : (s)->vn[i].frame)
#define SRC_SELF(s, i) ((s)->pn ? (s)->pn[i].self : (s)->vn[i].self)
#define SRC_TOTAL(s, i) ((s)->pn ? (s)->ptotal[i] : (s)->vn[i].total)

typedef struct kid {
    uint32_t parent, rank, id;
} kid;

static int cmp_kids(const void *a, const void *b) {
    const kid *x = a, *y = b;
    if (x->parent != y->parent)
        return x->parent < y->parent ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Copies the nodes at least min_px wide (whose parents are kept) into t and
 * links them, siblings in the one order. Pruning before sorting: the sort
 * only sees what is kept. */
static int compact(const src_tree *src, double min_px, double width_px, const uint32_t *rank, rp_tree *t) {
    uint32_t *cid = malloc((src->n ? src->n : 1) * sizeof *cid);
    size_t kcap = 1024, nk = 0;
    kid *k = malloc(kcap * sizeof *k);
    int rc = -1;
    if (!cid || !k || !src->n)
        goto out;
    if (src->pn && !(t->src = malloc(src->n * sizeof *t->src)))
        goto out;
    rp_tree_add(t, 0, SRC_SELF(src, 0), SRC_TOTAL(src, 0));
    if (t->len != 1)
        goto out;
    if (t->src)
        t->src[0] = PF_ROOT;
    double min_w = min_px * (double)SRC_TOTAL(src, 0) / width_px;
    cid[0] = 0;
    for (size_t i = 1; i < src->n; i++) {
        uint64_t w = SRC_TOTAL(src, i);
        uint32_t p = cid[SRC_PARENT(src, i)];
        cid[i] = UINT32_MAX;
        if (!w || p == UINT32_MAX)
            continue;
        if ((double)w < min_w) {
            t->n[p].narrow_w += w;
            t->n[p].narrow_n++;
            continue;
        }
        pf_frame_id frame = SRC_FRAME(src, i);
        uint32_t id = rp_tree_add(t, frame, SRC_SELF(src, i), w);
        if (!id)
            goto out;
        if (t->src)
            t->src[id] = (pf_node_id)i;
        if (nk == kcap) {
            kcap *= 2;
            kid *bigger = realloc(k, kcap * sizeof *bigger);
            if (!bigger)
                goto out;
            k = bigger;
        }
        k[nk++] = (kid){p, rank[frame], id};
        cid[i] = id;
    }
    qsort(k, nk, sizeof *k, cmp_kids);
    for (size_t i = 0; i < nk; i++) {
        if (!i || k[i - 1].parent != k[i].parent)
            t->n[k[i].parent].first_child = k[i].id;
        else
            t->n[k[i - 1].id].next_sibling = k[i].id;
    }
    rc = 0;
out:
    free(cid);
    free(k);
    return rc;
}

/* The tree merged from the leaf: each stack, read leaf first, goes into a
 * new trie keyed by (parent, frame), weighed by its leaf's self weight. */
static int reversed(const pf_profile *p, rp_node **out_nodes, uint32_t **out_parent, size_t *out_n) {
    size_t n;
    const pf_node *nodes = pf_nodes(p, &n);
    rp_tree t = {0};
    size_t pcap = 1024;
    uint32_t *parent = malloc(pcap * sizeof *parent);
    u64map map = {0};
    int rc = -1;
    rp_tree_add(&t, 0, 0, 0);
    if (!parent || t.len != 1)
        goto out;
    parent[0] = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t w = nodes[i].self;
        if (!w)
            continue;
        uint32_t at = 0;
        t.n[0].total += w;
        for (pf_node_id k = (pf_node_id)i; k != PF_ROOT; k = nodes[k].parent) {
            uint64_t key = (uint64_t)at << 32 | nodes[k].frame;
            uint32_t child = u64map_get(&map, key);
            if (child == U64MAP_NONE) {
                child = rp_tree_add(&t, nodes[k].frame, 0, 0);
                if (!child)
                    goto out;
                if (child >= pcap) {
                    pcap *= 2;
                    uint32_t *bigger = realloc(parent, pcap * sizeof *bigger);
                    if (!bigger)
                        goto out;
                    parent = bigger;
                }
                if (u64map_put(&map, key, child) != 0)
                    goto out;
                parent[child] = at;
            }
            t.n[child].total += w;
            at = child;
        }
        t.n[at].self += w;
    }
    rc = 0;
out:
    u64map_free(&map);
    if (rc) {
        free(t.n);
        free(parent);
        return -1;
    }
    *out_nodes = t.n;
    *out_parent = parent;
    *out_n = t.len;
    return 0;
}

int rp_tree_build(const pf_profile *p, int reverse, double min_px, double width_px, const uint32_t *ranks,
                  rp_tree *t) {
    src_tree src = {0};
    rp_node *rn = NULL;
    uint32_t *rparent = NULL, *own_ranks = NULL;
    uint64_t *tot = NULL;
    int rc = -1;
    memset(t, 0, sizeof *t);
    if (!ranks && !(ranks = own_ranks = rp_frame_ranks(p)))
        goto out;
    if (reverse) {
        if (reversed(p, &rn, &rparent, &src.n) != 0)
            goto out;
        src.vn = rn, src.vparent = rparent;
    } else {
        src.pn = pf_nodes(p, &src.n);
        if (!(src.ptotal = tot = out_node_totals(p)))
            goto out;
    }
    rc = compact(&src, min_px, width_px, ranks, t);
out:
    if (rc)
        rp_tree_free(t);
    free(rn);
    free(rparent);
    free(own_ranks);
    free(tot);
    return rc;
}

size_t rp_tree_preorder(const rp_tree *t, uint32_t *order) {
    if (!t->len)
        return 0;
    uint32_t *stack = malloc(t->len * sizeof *stack);
    if (!stack)
        return 0;
    /* The stack holds the next sibling to visit after a subtree. */
    size_t count = 0, sp = 0;
    order[count++] = 0;
    if (t->n[0].first_child)
        stack[sp++] = t->n[0].first_child;
    while (sp) {
        uint32_t at = stack[--sp];
        order[count++] = at;
        if (t->n[at].next_sibling)
            stack[sp++] = t->n[at].next_sibling;
        if (t->n[at].first_child)
            stack[sp++] = t->n[at].first_child;
    }
    free(stack);
    return count;
}
