/* grow.c — growing an array by doubling (see grow.h). */
#include "base/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int pf_grow(void *arrayp, size_t *cap, size_t need, size_t elem, size_t first) {
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (!elem || n > SIZE_MAX / elem)
        return -1;
    void *old;
    memcpy(&old, arrayp, sizeof old);
    void *bigger = realloc(old, n * elem);
    if (!bigger)
        return -1;
    memcpy(arrayp, &bigger, sizeof bigger);
    *cap = n;
    return 0;
}

int pf_grow_all(void *const *arrays, const size_t *elems, size_t n, size_t *cap, size_t need, size_t first) {
    size_t grown = *cap;
    for (size_t i = 0; i < n; i++) {
        grown = *cap;
        if (pf_grow(arrays[i], &grown, need, elems[i], first) != 0)
            return -1;
    }
    *cap = grown;
    return 0;
}
