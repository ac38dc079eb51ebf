/* grow.h — growing an array by doubling, the one way every layer does it.
 *
 * A growing array is a pointer and a capacity in elements. pf_grow makes room
 * for at least `need` elements: the capacity doubles (from `first` when the
 * array is empty) until it holds them, the multiplications are checked so a
 * huge count fails instead of wrapping to a small allocation, and on failure
 * the array and its capacity are left as they were (still the caller's to
 * use or free). */
#ifndef PYFLARE_BASE_GROW_H
#define PYFLARE_BASE_GROW_H

#include <stddef.h>

/* arrayp is the address of the array pointer (a T **: every object pointer
 * has one representation on the platforms pyflare builds for), cap its
 * capacity in elements of elem (> 0) bytes; first 0 means 1. Returns 0
 * (capacity >= need), or -1 when out of memory or the byte size would not
 * fit in a size_t. */
int pf_grow(void *arrayp, size_t *cap, size_t need, size_t elem, size_t first);

/* PF_GROW(t->items, t->cap, t->n + 1, 16): the same for a T *array and a size_t cap.
 * The common case (room already there) is decided inline: the walker grows
 * its frame pool this way once per frame. */
#define PF_GROW(array, cap, need, first) \
    ((size_t)(need) <= (cap) ? 0 : pf_grow(&(array), &(cap), (need), sizeof *(array), (first)))

/* Parallel arrays sharing one capacity: arrays[i] is the address of the i-th
 * array pointer, elems[i] its element size. Each grows as pf_grow would; *cap
 * is raised only once all n hold `need` (after a failure some may be larger
 * than *cap says, which is harmless). Returns 0 or -1 as pf_grow. */
int pf_grow_all(void *const *arrays, const size_t *elems, size_t n, size_t *cap, size_t need, size_t first);

#endif
