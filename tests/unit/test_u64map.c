/* test_u64map.c — the u64map against a plain array model: puts, sets and
 * deletes in a random order (deletes shift entries back in their probe run,
 * so every key left must still be found, and every key gone must not). */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "base/u64map.h"

#define KEYS 5000

int main(void) {
    u64map m = {0};
    static uint32_t model[KEYS]; /* key i*7919+1 -> value, U64MAP_NONE absent */
    for (size_t i = 0; i < KEYS; i++)
        model[i] = U64MAP_NONE;
    uint64_t state = 88172645463325252ull;
    int mismatches = 0;
    for (int step = 0; step < 200000; step++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        size_t i = (size_t)(state % KEYS);
        uint64_t key = (uint64_t)i * 7919 + 1;
        switch ((state >> 32) % 3) {
        case 0:
            if (model[i] == U64MAP_NONE && u64map_put(&m, key, (uint32_t)step) == 0)
                model[i] = (uint32_t)step;
            break;
        case 1:
            if (u64map_set(&m, key, (uint32_t)step) == 0)
                model[i] = (uint32_t)step;
            break;
        default:
            u64map_del(&m, key);
            model[i] = U64MAP_NONE;
        }
        if (step % 997 == 0)
            for (size_t k = 0; k < KEYS; k++)
                mismatches += u64map_get(&m, (uint64_t)k * 7919 + 1) != model[k];
    }
    size_t present = 0;
    for (size_t k = 0; k < KEYS; k++) {
        mismatches += u64map_get(&m, (uint64_t)k * 7919 + 1) != model[k];
        present += model[k] != U64MAP_NONE;
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(m.used, present);
    u64map_clear(&m);
    CHECK_EQ_INT(m.used, 0);
    CHECK(u64map_get(&m, 1) == U64MAP_NONE);
    u64map_free(&m);
    return check_report("u64map");
}
