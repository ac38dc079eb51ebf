/* aggregate.h — per-function and per-call-edge totals from the call tree.
 *
 * Several formats (callgrind, pstats, text) describe functions rather than
 * stacks: a function's own weight, its inclusive weight, its calls, and what
 * each caller→callee edge contributed. Recursion is the hard part: a function
 * that appears several times on one stack must count that stack once, or its
 * inclusive time exceeds the whole run. out_aggregate() makes one depth-first
 * pass over the tree, keeping count of which functions and edges are active
 * on the current stack, and fills in every figure those writers need, with
 * the semantics cProfile gives them (see out_agg_fn and out_agg_edge).
 *
 * Functions are grouped into "classes" chosen by the writer (a format may
 * merge functions it cannot tell apart, e.g. pstats keys on file, line and
 * name only); class 0 means "not a function": the node's own weight is left
 * out and its children count as top level (thread and process roots).
 *
 * Weights are the profile's: samples in sampled mode, nanoseconds in traced
 * mode. In sampled mode there are no call counts, so "calls" of a node means
 * the samples taken inside it (its inclusive samples), which is what the
 * writers document for that mode. */
#ifndef PYFLARE_REPORT_AGGREGATE_H
#define PYFLARE_REPORT_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/u64map.h"
#include "profile/profile.h"

typedef struct out_agg_fn {
    uint64_t self;       /* own weight, over all the class's nodes */
    uint64_t total;      /* inclusive weight, counting only outermost activations (no double-counted recursion) */
    uint64_t calls;      /* all calls */
    uint64_t prim_calls; /* calls made while the class was not already on the stack ("primitive" in pstats) */
    uint64_t top_total;  /* inclusive weight of activations that have no calling class */
    uint64_t top_calls;
    int called;          /* some calling class exists */
} out_agg_fn;

typedef struct out_agg_edge {
    uint32_t caller, callee; /* classes, both non-zero */
    int32_t line;            /* the call site: the caller's frame line (only with OUT_AGG_EDGE_LINES, else 0) */
    uint64_t calls;
    uint64_t prim_calls;     /* calls made while this same edge was not already active (cProfile) */
    uint64_t self;           /* the callee's own weight in activations through this edge */
    uint64_t total;          /* the callee's inclusive weight, counted when this edge was not already active (cProfile) */
    uint64_t incl;           /* the callee's inclusive weight, counted only at the callee's outermost activation,
                              * so a callee's incoming edges sum to its total (callgrind) */
} out_agg_edge;

typedef struct out_agg_line {
    uint32_t cls;
    int32_t line;            /* frame line */
    uint64_t self;
} out_agg_line;

typedef struct out_agg {
    uint64_t *node_total;    /* per node: inclusive weight (see out_node_totals) */
    uint64_t grand_total;    /* the root's */
    uint64_t dropped;        /* own weight of class-0 nodes, which no function gets */
    size_t nclasses;         /* fns[0] is unused */
    out_agg_fn *fns;
    size_t nedges;
    out_agg_edge *edges;
    size_t nlines;           /* only with OUT_AGG_LINES: self weight per (class, line), non-zero ones */
    out_agg_line *lines;
} out_agg;

#define OUT_AGG_EDGE_LINES 1u /* keep edges apart by call-site line */
#define OUT_AGG_LINES 2u      /* fill lines */
#define OUT_AGG_BY_FRAME 4u   /* class_of_func is indexed by frame id (pf_frames' count): a class may be one
                               * line of a function, and a line's total counts a recursive stack once */

/* class_of_func has one entry per function id (pf_funcs' count; with
 * OUT_AGG_BY_FRAME per frame id), each < nclasses.
 * Returns 0, or -1 when out of memory. */
int out_aggregate(const pf_profile *p, const uint32_t *class_of_func, size_t nclasses, unsigned flags, out_agg *a);
/* The same over the subtree below node `from` only (e.g. one thread's root,
 * for a view of that thread); grand_total is from's inclusive weight. */
int out_aggregate_under(const pf_profile *p, pf_node_id from, const uint32_t *class_of_func, size_t nclasses,
                        unsigned flags, out_agg *a);
void out_agg_free(out_agg *a);

/* Per-node inclusive weight, malloc'd (NULL when out of memory). In sampled
 * mode it is self plus the children's; in traced mode the tracer's measured
 * total, raised where needed to self plus the children's, so that a child
 * never outweighs its parent even if clocks disagreed. */
uint64_t *out_node_totals(const pf_profile *p);

/* Kind of the function at a node (PF_FUNC_*); PF_FUNC_OTHER for broken ids. */
int out_node_kind(const pf_profile *p, pf_node_id node);

/* A set of byte strings, each given a dense id from 1 up in order of first
 * appearance; for grouping functions by the strings a format shows. */
typedef struct out_strmap {
    u64map map;
    char **keys;
    size_t *lens;
    size_t n, cap;
} out_strmap;

/* The id of key (added if new), or 0 when out of memory. */
uint32_t out_strmap_id(out_strmap *m, const char *key, size_t len);
void out_strmap_free(out_strmap *m);

#endif
