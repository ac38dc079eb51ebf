/* u64map.h — an open-addressing map from 64-bit keys to 32-bit ids.
 *
 * Used by the walker (addresses -> cached reads) and by the profile, which packs what identifies a frame (function, line) or a tree node
 * (parent, frame) into one 64-bit key, so one small, fast map serves all its
 * interning. Linear probing, power-of-two capacity, load kept under 1/2. */
#ifndef PYFLARE_PROFILE_U64MAP_H
#define PYFLARE_PROFILE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

#define U64MAP_NONE UINT32_MAX

typedef struct u64map_slot {
    uint64_t key;
    uint32_t value;
} u64map_slot;

typedef struct u64map {
    u64map_slot *slots;
    size_t cap, used;
} u64map;

static inline uint64_t u64map_hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ull;
    key ^= key >> 33;
    return key;
}

static inline uint32_t u64map_get(const u64map *m, uint64_t key) {
    if (!m->cap)
        return U64MAP_NONE;
    size_t i = (size_t)u64map_hash(key) & (m->cap - 1);
    for (;;) {
        const u64map_slot *s = &m->slots[i];
        if (s->value == U64MAP_NONE || s->key == key)
            return s->value;
        i = (i + 1) & (m->cap - 1);
    }
}

/* The slot holding key, or the empty slot where it would go (value ==
 * U64MAP_NONE: fill key and value, then count it in used). NULL when an
 * insertion would push the load past 1/2: use u64map_put then. */
static inline u64map_slot *u64map_slot_for(u64map *m, uint64_t key) {
    if (!m->cap)
        return NULL;
    size_t i = (size_t)u64map_hash(key) & (m->cap - 1);
    for (;;) {
        u64map_slot *s = &m->slots[i];
        if (s->value == U64MAP_NONE)
            return (m->used + 1) * 2 > m->cap ? NULL : s;
        if (s->key == key)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

/* Sets key -> value (key must be absent). Returns 0, or -1 on out-of-memory. */
int u64map_put(u64map *m, uint64_t key, uint32_t value);
/* Removes key if present (the entries after it in its probe run move back:
 * no tombstones, so lookups stay as short as in a map never deleted from). */
void u64map_del(u64map *m, uint64_t key);
/* Sets key -> value whether or not key is present. Returns 0, or -1 on out-of-memory. */
int u64map_set(u64map *m, uint64_t key, uint32_t value);
/* Empties the map, keeping its table. */
void u64map_clear(u64map *m);
void u64map_free(u64map *m);

/* Hints that a big, randomly accessed block (grown by realloc) be backed by
 * huge pages; does nothing for small blocks. */
void u64map_advise_huge(void *block, size_t bytes);

#endif
