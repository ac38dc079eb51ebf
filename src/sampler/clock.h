/* clock.h — the sampling clock: absolute deadlines on CLOCK_MONOTONIC.
 *
 * Slot k is due at start + k * period, so sleeping never accumulates drift.
 * A wake-up the kernel delivers late, or a sample preempted on a busy
 * machine, only shifts its sample: the slots after it follow at once until
 * the clock is back on time, so the average rate holds. More than 10 ms
 * behind (samples slower than the period, pyflare stopped or starved), the
 * clock counts a late slot and skips to the next slot still in the future:
 * catching up never becomes a long burst of samples of one moment. */
#ifndef PYFLARE_SAMPLER_CLOCK_H
#define PYFLARE_SAMPLER_CLOCK_H

#include <stdint.h>

typedef struct sampler_clock {
    uint64_t start_ns, period_ns, next_ns;
    uint64_t slot_ns;       /* when the slot sampler_clock_wait last returned 0 for was due */
    uint64_t ticks, late;
    int spin;               /* busy-wait the last stretch before each slot */
} sampler_clock;

uint64_t sampler_now_ns(void);
/* spin: trade CPU for exact spacing (see sampler_clock_wait). */
void sampler_clock_start(sampler_clock *c, double rate_hz, int spin);
/* Sleeps until the next slot is due, or until not_after_ns (CLOCK_MONOTONIC)
 * if that comes first. Returns 0 when the slot is due, 1 at not_after_ns (no
 * slot: a long sampling interval still lets the caller end on time), or -1
 * if a signal interrupted the sleep (the caller checks its stop flag and
 * calls again). */
int sampler_clock_wait(sampler_clock *c, uint64_t not_after_ns);

#endif
