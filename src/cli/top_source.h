/* top_source.h — where `pyflare top`'s samples come from: the one interface
 * between top.c (keys, refresh, drawing) and what fills the profile it shows.
 *
 * Two sources: the live sampler (a running program), and a capture replayed
 * (top_replay.c: a .pyflare file's samples fed into a fresh profile in their
 * recorded time order, at the recorded pace times a speed factor). Either
 * way top.c sees a profile that grows while run() goes on, and run() calls
 * progress about four times a second with figures in sampler_stats' shape;
 * the view (top_view.c) never knows which source it is drawing. */
#ifndef PYFLARE_CLI_TOP_SOURCE_H
#define PYFLARE_CLI_TOP_SOURCE_H

#include <signal.h>

#include "base/error.h"
#include "profile/profile.h"
#include "sampler/sampler.h"

typedef struct top_replay top_replay;

typedef struct top_source {
    pf_profile *profile;   /* what the view reads; grows while run() goes on */
    sampler *live;         /* the live source, or NULL */
    top_replay *replay;    /* the replayed capture, or NULL */
} top_source;

/* Runs until *stop, the end (of the program, the duration, the recording),
 * or an error (-1, err filled). */
int top_source_run(top_source *s, volatile sig_atomic_t *stop, sampler_progress_fn progress, void *arg,
                   pf_error *err);
/* The figures so far, as progress last had them. */
const sampler_stats *top_source_stats(const top_source *s);

/* A replay: opens and reads the whole capture at path (a corrupt one is -1
 * with one line naming the offset), ready to replay at speed (> 0) times
 * the recorded pace. */
int top_replay_open(const char *path, double speed, top_source *s, pf_error *err);
void top_replay_free(top_replay *r);
/* top_source_run's replay: feeds r's samples into to as its clock passes them. */
int top_replay_run(top_replay *r, pf_profile *to, volatile sig_atomic_t *stop, sampler_progress_fn progress,
                   void *arg);
/* Keys: pause the recording's clock (or resume it), change the speed by
 * factor, jump to the end (every remaining sample at once). */
void top_replay_pause(top_replay *r, int paused);
void top_replay_speed(top_replay *r, double factor);
void top_replay_to_end(top_replay *r);
/* The header's figures. */
const sampler_stats *top_replay_stats(const top_replay *r);
double top_replay_get_speed(const top_replay *r);
double top_replay_length_s(const top_replay *r);
int top_replay_ended(const top_replay *r);
/* The capture as recorded: complete and finished, with its sources, for -o
 * (a profile written from it is what convert would write). */
const pf_profile *top_replay_recorded(const top_replay *r);
const struct in_capture_info *top_replay_info(const top_replay *r);

#endif
