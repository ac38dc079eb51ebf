/* test_grow.c — checks src/base/grow.c: capacities double from the first
 * size, contents survive a move, and a count whose byte size does not fit in
 * a size_t fails with the array and its capacity untouched. */

#include "base/grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "check.h"

typedef struct {
    uint64_t a, b;
} pair;

int main(void) {
    pair *items = NULL;
    size_t cap = 0;

    /* Empty: the first size, or more when more is needed at once. */
    CHECK_EQ_INT(PF_GROW(items, cap, 1, 16), 0);
    CHECK_EQ_INT(cap, 16);
    CHECK(items != NULL);
    for (size_t i = 0; i < cap; i++)
        items[i] = (pair){i, ~(uint64_t)i};

    /* Enough room: nothing moves. */
    pair *before = items;
    CHECK_EQ_INT(PF_GROW(items, cap, 16, 16), 0);
    CHECK(items == before);
    CHECK_EQ_INT(cap, 16);

    /* Doubling until need fits, contents kept. */
    CHECK_EQ_INT(PF_GROW(items, cap, 17, 16), 0);
    CHECK_EQ_INT(cap, 32);
    CHECK_EQ_INT(PF_GROW(items, cap, 100, 16), 0);
    CHECK_EQ_INT(cap, 128);
    int kept = 1;
    for (size_t i = 0; i < 16; i++)
        kept &= items[i].a == i && items[i].b == ~(uint64_t)i;
    CHECK(kept);
    items[127] = (pair){1, 2}; /* the whole capacity is usable (ASan checks) */

    /* A byte size that would wrap: refused, nothing changed. */
    before = items;
    CHECK_EQ_INT(PF_GROW(items, cap, SIZE_MAX / sizeof(pair) + 1, 16), -1);
    CHECK(items == before);
    CHECK_EQ_INT(cap, 128);
    CHECK_EQ_INT(PF_GROW(items, cap, SIZE_MAX, 16), -1);
    CHECK_EQ_INT(cap, 128);
    CHECK(items[15].a == 15);

    /* From an empty array with first 0: doubling from 1. */
    char *bytes = NULL;
    size_t nbytes = 0;
    CHECK_EQ_INT(PF_GROW(bytes, nbytes, 5, 0), 0);
    CHECK_EQ_INT(nbytes, 8);
    bytes[4] = 'x';

    /* Parallel arrays on one capacity: all grow to the same size. */
    uint32_t *ids = NULL;
    pair *pairs = NULL;
    size_t shared = 0;
    void *const both[] = {&ids, &pairs};
    const size_t elems[] = {sizeof *ids, sizeof *pairs};
    CHECK_EQ_INT(pf_grow_all(both, elems, 2, &shared, 3, 4), 0);
    CHECK_EQ_INT(shared, 4);
    ids[3] = 7;
    pairs[3] = (pair){1, 2};
    CHECK_EQ_INT(pf_grow_all(both, elems, 2, &shared, 9, 4), 0);
    CHECK_EQ_INT(shared, 16);
    CHECK(ids[3] == 7 && pairs[3].b == 2);
    ids[15] = 1;
    pairs[15] = (pair){3, 4}; /* both hold the whole capacity (ASan checks) */
    /* A byte size that would wrap: refused, the shared capacity kept. */
    CHECK_EQ_INT(pf_grow_all(both, elems, 2, &shared, SIZE_MAX / sizeof(uint32_t) + 1, 4), -1);
    CHECK_EQ_INT(shared, 16);
    CHECK(ids[3] == 7 && pairs[3].b == 2);

    free(ids);
    free(pairs);
    free(items);
    free(bytes);
    return check_report("test_grow");
}
