/* tree.h — the display tree: the frames a view draws, built once from a
 * profile, with self and total ready and siblings in the one order (order.h).
 *
 * Forward, it is the profile's call tree; reversed (leaf first), each stack
 * is read from its leaf and merged into a new tree, which shows who calls the
 * hot code. Either way nodes narrower than a minimum are not made: their
 * parent keeps their number and weight (narrow_n, narrow_w), which is all a
 * picture needs of them, since a million-line input has tens of millions of
 * nodes and a picture ~100,000. Nodes without weight are left out.
 *
 * Totals are inclusive weights as out_node_totals gives them (a traced
 * profile's measured total, never less than self plus the children's), so a
 * child never outweighs its parent. The SVG, HTML and text writers all draw
 * this tree; the SVG writer also builds it straight from folded rows (svg.c),
 * in the same order. */
#ifndef PYFLARE_REPORT_TREE_H
#define PYFLARE_REPORT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

typedef struct rp_node {
    pf_frame_id frame;                  /* 0 for the root ("all") */
    uint32_t first_child, next_sibling; /* 0 = none; siblings in the one order */
    uint32_t narrow_n;                  /* children narrower than the minimum, not made */
    uint64_t self, total, narrow_w;     /* narrow_w: those children's total weight */
} rp_node;

typedef struct rp_tree {
    rp_node *n; /* n[0] is the root; a parent comes before its children */
    size_t len, cap;
    pf_node_id *src; /* forward trees from a profile: the profile node each node shows */
} rp_tree;

/* The display tree of p (finished), forward or reversed, keeping nodes at
 * least min_px of width_px wide (a node of weight w is w * width_px / total
 * wide; min_px 0 keeps every node with weight). ranks: rp_frame_ranks(p), or
 * NULL to have them computed. Returns 0, or -1 when out of memory (t is then empty). */
int rp_tree_build(const pf_profile *p, int reverse, double min_px, double width_px, const uint32_t *ranks,
                  rp_tree *t);

/* Adds an unlinked node (for builders of their own, like svg.c's from folded
 * rows); returns its index, 0 when out of memory. */
uint32_t rp_tree_add(rp_tree *t, pf_frame_id frame, uint64_t self, uint64_t total);

/* The nodes in preorder (a node, then each child's subtree, in sibling order)
 * into order (t->len entries); returns how many (t->len), 0 when out of memory. */
size_t rp_tree_preorder(const rp_tree *t, uint32_t *order);

void rp_tree_free(rp_tree *t);

#endif
