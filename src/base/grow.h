/* grow.h — room for one more element in an array that grows by doubling. */
#ifndef PYFLARE_BASE_GROW_H
#define PYFLARE_BASE_GROW_H

#include <stdlib.h>

/* items (cap elements of size bytes, used of them in use), made room for one
 * more: items itself, or a larger block (*cap updated), or NULL when out of
 * memory (items is then unchanged and still valid). first: the capacity of a
 * new array. */
static inline void *pf_grow(void *items, size_t *cap, size_t used, size_t size, size_t first) {
    if (used < *cap)
        return items;
    size_t bigger = *cap ? *cap * 2 : first;
    void *p = realloc(items, bigger * size);
    if (p)
        *cap = bigger;
    return p;
}

#endif
