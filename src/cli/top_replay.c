/* top_replay.c — a capture replayed as `pyflare top`'s sample source (see
 * top_source.h).
 *
 * The capture is read whole through the public reader (input/capture_read.h)
 * into the recorded profile. The profile top shows is a second one with the
 * same strings, functions, frames, call-tree nodes, processes and threads but
 * no weights; the recorded samples are then added to it in their time order
 * as the replay's clock passes their time stamps, so the view sees the
 * recording grow as it grew live. The clock runs at the recorded pace times
 * a speed factor, stops while paused, and can jump to the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/top_source.h"
#include "input/capture_read.h"

#define STEP_NS 50000000ull /* the clock advances (and keys are read) this often */

struct top_replay {
    pf_profile *recorded;    /* the capture as read, finished */
    in_capture_info info;
    pf_node_id *node_map;    /* recorded node -> shown node */
    size_t nnodes;
    const pf_sample *samples;
    size_t nsamples, next;   /* samples[next] is the first not yet fed */
    uint64_t length_ns;      /* the recording's duration (or its last sample) */
    double pos_ns;           /* the replay's clock, in the recording's time */
    double speed;
    int paused, to_end, ended;
    sampler_stats stats;
};

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static pf_str_id same_str(pf_profile *to, const pf_profile *from, pf_str_id id) {
    return pf_intern(to, pf_str(from, id));
}

/* The shown profile: everything of the recorded one but its weights. */
static int mirror(top_replay *r, pf_profile *to, pf_error *err) {
    const pf_profile *from = r->recorded;
    pf_meta meta = *pf_profile_meta_const(from);
    meta.command = same_str(to, from, meta.command);
    meta.python = same_str(to, from, meta.python);
    pf_profile_set_meta(to, &meta);
    size_t nfn, nfr, nn, nproc, nth;
    const pf_func *funcs = pf_funcs(from, &nfn);
    const pf_frame *frames = pf_frames(from, &nfr);
    const pf_node *nodes = pf_nodes(from, &nn);
    const pf_process *procs = pf_processes(from, &nproc);
    const pf_thread *threads = pf_threads(from, &nth);
    pf_func_id *fmap = calloc(nfn ? nfn : 1, sizeof *fmap);
    pf_frame_id *frmap = calloc(nfr ? nfr : 1, sizeof *frmap);
    r->node_map = calloc(nn ? nn : 1, sizeof *r->node_map);
    r->nnodes = nn;
    int rc = -1;
    if (!fmap || !frmap || !r->node_map)
        goto out;
    for (size_t i = 1; i < nfn; i++) {
        const pf_func *f = &funcs[i];
        fmap[i] = pf_func_intern(to, same_str(to, from, f->name), same_str(to, from, f->file), f->firstline,
                                 (pf_func_kind)f->kind);
        pf_func_set_origin(to, fmap[i], (pf_origin)f->origin);
    }
    for (size_t i = 1; i < nfr; i++)
        frmap[i] = pf_frame_intern(to, fmap[frames[i].func], frames[i].line);
    /* A node's parent has a smaller id (the reader checked it). */
    for (size_t i = 1; i < nn; i++)
        r->node_map[i] = pf_node_child(to, r->node_map[nodes[i].parent], frmap[nodes[i].frame]);
    for (size_t i = 0; i < nproc; i++)
        pf_process_add(to, procs[i].pid, pf_str(from, procs[i].command));
    for (size_t i = 0; i < nth; i++)
        pf_thread_add(to, threads[i].process, threads[i].thread_id, threads[i].native_id,
                      pf_str(from, threads[i].name));
    rc = 0;
out:
    free(fmap);
    free(frmap);
    if (rc != 0 || pf_profile_failed(to))
        return pf_fail(err, PF_ERR_NOMEM, "out of memory replaying the capture");
    return 0;
}

int top_replay_open(const char *path, double speed, top_source *s, pf_error *err) {
    memset(s, 0, sizeof *s);
    FILE *in = fopen(path, "rb");
    if (!in)
        return pf_fail(err, PF_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    top_replay *r = calloc(1, sizeof *r);
    if (!r || !(r->recorded = pf_profile_new()) || !(s->profile = pf_profile_new())) {
        fclose(in);
        top_replay_free(r);
        pf_profile_free(s->profile);
        s->profile = NULL;
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    unsigned char head[CAPTURE_MAGIC_LEN];
    size_t got = fread(head, 1, sizeof head, in);
    int rc;
    if (!in_capture_detect(head, got))
        rc = pf_fail(err, PF_ERR_USAGE, "%s is not a pyflare capture (.pyflare, written by record -o FILE.pyflare): "
                     "top replays only those", path);
    else if (fseek(in, 0, SEEK_SET) != 0)
        rc = pf_fail(err, PF_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    else
        rc = in_read_capture(in, path, r->recorded, &r->info, err);
    fclose(in);
    if (rc == 0)
        rc = mirror(r, s->profile, err);
    if (rc != 0) {
        top_replay_free(r);
        pf_profile_free(s->profile);
        s->profile = NULL;
        return -1;
    }
    r->samples = pf_samples(r->recorded, &r->nsamples);
    const pf_meta *meta = pf_profile_meta_const(r->recorded);
    r->length_ns = meta->duration_ns;
    if (r->nsamples && r->samples[r->nsamples - 1].time_ns > r->length_ns)
        r->length_ns = r->samples[r->nsamples - 1].time_ns;
    r->speed = speed > 0 ? speed : 1;
    s->replay = r;
    return 0;
}

void top_replay_free(top_replay *r) {
    if (!r)
        return;
    pf_profile_free(r->recorded);
    in_capture_info_free(&r->info);
    free(r->node_map);
    free(r);
}

void top_replay_pause(top_replay *r, int paused) { r->paused = paused; }

void top_replay_speed(top_replay *r, double factor) {
    double s = r->speed * factor;
    if (s >= 1.0 / 64 && s <= 1024)
        r->speed = s;
}

void top_replay_to_end(top_replay *r) { r->to_end = 1; }
double top_replay_get_speed(const top_replay *r) { return r->speed; }
double top_replay_length_s(const top_replay *r) { return r->length_ns / 1e9; }
int top_replay_ended(const top_replay *r) { return r->ended; }
const sampler_stats *top_replay_stats(const top_replay *r) { return &r->stats; }
const pf_profile *top_replay_recorded(const top_replay *r) { return r->recorded; }
const in_capture_info *top_replay_info(const top_replay *r) { return &r->info; }

/* Feeds the samples the clock has passed. */
static void feed(top_replay *r, pf_profile *to) {
    for (; r->next < r->nsamples && r->samples[r->next].time_ns <= r->pos_ns; r->next++) {
        const pf_sample *x = &r->samples[r->next];
        if (x->node < r->nnodes) /* the reader checked it; a cheap guard all the same */
            pf_sample_add(to, r->node_map[x->node], x->thread, x->time_ns, x->weight);
        r->stats.ticks++;
        r->stats.stacks += x->weight;
    }
}

/* A traced capture has exact counts and no timeline: shown whole at once. */
static void feed_weights(top_replay *r, pf_profile *to) {
    size_t nn;
    const pf_node *nodes = pf_nodes(r->recorded, &nn);
    for (size_t i = 1; i < nn && i < r->nnodes; i++)
        if (nodes[i].self)
            pf_sample_add(to, r->node_map[i], 0, 0, nodes[i].self);
}

int top_replay_run(top_replay *r, pf_profile *to, volatile sig_atomic_t *stop, sampler_progress_fn progress,
                   void *arg) {
    const pf_meta *meta = pf_profile_meta_const(r->recorded);
    uint64_t last = mono_ns();
    while (!*stop) {
        uint64_t now = mono_ns();
        if (!r->paused)
            r->pos_ns += (double)(now - last) * r->speed;
        last = now;
        if (r->to_end || r->pos_ns > (double)r->length_ns)
            r->pos_ns = (double)r->length_ns;
        if (r->nsamples)
            feed(r, to);
        int done = r->next >= r->nsamples && r->pos_ns >= (double)r->length_ns;
        if (done && !r->nsamples && !r->ended)
            feed_weights(r, to);
        r->stats.elapsed_ns = (uint64_t)r->pos_ns;
        r->stats.achieved_hz = meta->rate_hz;
        r->ended = done;
        if (progress)
            progress(&r->stats, arg);
        if (done)
            break;
        struct timespec ts = {0, (long)STEP_NS};
        nanosleep(&ts, NULL);
    }
    return 0;
}
