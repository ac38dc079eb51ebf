/* u64map.c — growth and insertion for u64map (lookups are inline in the header). */
#include "base/u64map.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE (2u << 20)

/* Big tables are probed at random: on 4 KiB pages nearly every probe is a
 * TLB miss and every first touch a page fault. Past a few MiB, ask for huge
 * pages (a hint; without transparent huge pages it changes nothing). */
static void *table_alloc(size_t bytes) {
    if (bytes < 2 * HUGE_PAGE)
        return malloc(bytes);
    size_t rounded = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, rounded);
    if (p)
        madvise(p, rounded, MADV_HUGEPAGE);
    return p;
}

void u64map_advise_huge(void *block, size_t bytes) {
    if (bytes < 2 * HUGE_PAGE)
        return;
    uintptr_t start = ((uintptr_t)block + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)block + bytes) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_HUGEPAGE);
}

static int grow(u64map *m) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    u64map_slot *slots = table_alloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < cap; i++)
        slots[i].value = U64MAP_NONE;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].value == U64MAP_NONE)
            continue;
        size_t j = (size_t)u64map_hash(m->slots[i].key) & (cap - 1);
        while (slots[j].value != U64MAP_NONE)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int u64map_put(u64map *m, uint64_t key, uint32_t value) {
    if ((m->used + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    size_t i = (size_t)u64map_hash(key) & (m->cap - 1);
    while (m->slots[i].value != U64MAP_NONE)
        i = (i + 1) & (m->cap - 1);
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->used++;
    return 0;
}

void u64map_del(u64map *m, uint64_t key) {
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = (size_t)u64map_hash(key) & mask;
    while (m->slots[i].key != key || m->slots[i].value == U64MAP_NONE) {
        if (m->slots[i].value == U64MAP_NONE)
            return;
        i = (i + 1) & mask;
    }
    /* Backward shift: an entry further along may move into the hole unless
     * its home slot lies cyclically in (hole, its slot]. */
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; m->slots[j].value != U64MAP_NONE; j = (j + 1) & mask) {
        size_t home = (size_t)u64map_hash(m->slots[j].key) & mask;
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        m->slots[hole] = m->slots[j];
        hole = j;
    }
    m->slots[hole].value = U64MAP_NONE;
    m->used--;
}

int u64map_set(u64map *m, uint64_t key, uint32_t value) {
    u64map_slot *s = u64map_slot_for(m, key);
    if (s && s->value != U64MAP_NONE) {
        s->value = value;
        return 0;
    }
    return u64map_put(m, key, value);
}

void u64map_clear(u64map *m) {
    for (size_t i = 0; i < m->cap; i++)
        m->slots[i].value = U64MAP_NONE;
    m->used = 0;
}

void u64map_free(u64map *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->used = 0;
}
