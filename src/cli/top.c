/* top.c — `pyflare top`: a live table of the hottest functions.
 *
 * Samples like `record` (the same sampler and options), and about once a
 * second shows per-function figures — own and total, over the last interval
 * and since the start — taken from the report layer's aggregate of the
 * profile so far (top_view.c). On a terminal the table is a full screen that
 * keys drive (term.c restores the terminal however top ends); on any other
 * standard output a plain table is printed every interval. With -o FILE the
 * whole profile is written at the end, as record would.
 *
 * `pyflare top FILE.pyflare` replays a capture instead: the same table, fed
 * the capture's samples in their recorded time order (top_source.h hides
 * which source it is from everything but the header, a few keys and the
 * end). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/target.h"
#include "cli/term.h"
#include "cli/top_source.h"
#include "cli/top_view.h"
#include "input/capture_read.h"
#include "output/writer.h"
#include "sampler/clock.h"
#include "sampler/sampler.h"

#define REFRESH_NS 1000000000ull     /* a new table this often */

static const cli_command top_command = {
    .id = CMD_TOP, .display = "pyflare top", .command_after_dashes = 1,
    .usage = "usage: pyflare top [options] (--pid PID | -- COMMAND [ARGS...])\n"
             "       pyflare top [--speed X] [-o FILE] CAPTURE.pyflare\n\n"
             "Samples a running (--pid) or launched (-- COMMAND) Python program and shows\n"
             "its hottest functions live, refreshed every second: own and total share over\n"
             "the last second and since the start, per line (file:line) or per function.\n"
             "Keys: 1-6 sort by a column, l lines/functions, t pick a thread, p pause,\n"
             "r reset, ? help, q quit. On a standard output that is not a terminal a plain\n"
             "table is printed every second instead.\n"
             "Threads are always sampled with a root per thread (so one can be picked);\n"
             "with -o FILE the profile is written when top ends.\n"
             "Given a capture (record -o FILE.pyflare), top replays it: the same table,\n"
             "driven by its samples in their recorded order and pace (--speed X: X times\n"
             "as fast); + and - double or halve the speed, e jumps to the end.\n",
    .max_files = 1, .files = "one capture to replay",
};

typedef struct top_state {
    top_source src;
    pf_profile *profile;  /* src.profile */
    const char *replay;   /* the capture's name when replaying */
    top_view view;
    sampler_stats stats;
    double period_s;
    int screen;           /* full screen (else plain tables) */
    int color;
    int paused, help, quit;
    uint64_t next_ns;     /* elapsed time of the next refresh */
    uint64_t last_ns;     /* elapsed time of the last update */
    double interval_s;    /* between the last two updates */
    uint64_t gil_known, gil_held; /* the sampler's counts at the last update */
    double gil_share;     /* over the last interval, < 0 unknown */
    int cleared;          /* the screen must be cleared before drawing */
} top_state;

static void draw(top_state *t, const char *status) {
    char target[400] = "", stopped[200];
    size_t nproc;
    const pf_process *procs = pf_processes(t->profile, &nproc);
    const pf_meta *meta = pf_profile_meta_const(t->profile);
    if (t->replay)
        snprintf(target, sizeof target, "replay of %s: %s", t->replay, pf_str(t->profile, meta->command));
    else if (nproc)
        snprintf(target, sizeof target, "pid %d: %s", procs[0].pid, pf_str(t->profile, procs[0].command));
    /* Live, the target's threads now; a recording knows the threads it saw, not those it did not. */
    size_t nthreads = (size_t)t->stats.threads_now;
    if (t->replay)
        pf_threads(t->profile, &nthreads);
    top_frame_info in = {
        .target = target, .python = meta->python ? pf_str(t->profile, meta->python) : "",
        .elapsed_s = t->stats.elapsed_ns / 1e9, .achieved_hz = t->stats.achieved_hz, .interval_s = t->interval_s,
        .period_s = t->period_s, .cpu_weighted = meta->cpu_weighted, .traced = meta->mode == PF_MODE_TRACED,
        .samples = t->stats.ticks,
        .errors = t->stats.errors_total - t->stats.errors[PF_ERR_EXITED], .threads = nthreads,
        .stopped = !t->replay && t->stats.stopped_now, .gil_share = t->gil_share,
        .status = status ? status : t->paused ? "paused (p resumes)" : cli_stopped_now(&t->stats, stopped, sizeof stopped),
        .color = t->color, .help = t->help,
        .replay = t->replay != NULL,
        .length_s = t->replay ? top_replay_length_s(t->src.replay) : 0,
        .speed = t->replay ? top_replay_get_speed(t->src.replay) : 0,
    };
    int rows = 0, cols = 0;
    if (t->screen)
        term_size(&rows, &cols);
    char *text = top_view_draw(&t->view, t->profile, &in, rows, cols);
    if (!text)
        return;
    if (!t->screen) {
        fputs(text, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(text);
        return;
    }
    /* Home, then each line erased to its end: no flicker, and nothing left of a wider frame. */
    size_t lines = 1;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    size_t cap = strlen(text) + 5 * lines + 64, n = 0; /* each line: "\033[K\r\n" more */
    char *out = malloc(cap);
    if (out) {
        n += (size_t)snprintf(out, cap, "%s\033[H", t->cleared ? "\033[2J" : "");
        t->cleared = 0;
        for (char *line = text; *line;) {
            char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            memcpy(out + n, line, len);
            n += len;
            memcpy(out + n, "\033[K", 3);
            n += 3;
            line += len + (end ? 1 : 0);
            if (*line) {
                memcpy(out + n, "\r\n", 2);
                n += 2;
            }
        }
        term_write(out, n);
        free(out);
    }
    free(text);
}

static void update(top_state *t) {
    uint64_t now = t->stats.elapsed_ns;
    t->interval_s = (now - t->last_ns) / 1e9;
    t->last_ns = now;
    uint64_t known = t->stats.gil_known - t->gil_known, held = t->stats.gil_held - t->gil_held;
    t->gil_share = known ? (double)held / known : -1;
    t->gil_known = t->stats.gil_known;
    t->gil_held = t->stats.gil_held;
    if (top_view_update(&t->view, t->profile) != 0)
        t->quit = 1; /* out of memory: end as if asked to */
}

static void key(top_state *t, int k) {
    if (t->help) { /* any key leaves the help */
        t->help = 0;
        if (k != 'q' && k != 'Q')
            return;
    }
    switch (k) {
    case 'q': case 'Q':
        t->quit = 1;
        cli_stop_requested = 1;
        break;
    case '1': case '2': case '3': case '4': case '5': case '6':
        t->view.sort = k - '1';
        break;
    case 'l': case 'L':
        t->view.lines = !t->view.lines;
        top_view_clear(&t->view);
        update(t);
        break;
    case 't': case 'T':
        t->view.thread = (t->view.thread + 1) % (t->view.nthreads + 1);
        top_view_clear(&t->view);
        update(t);
        break;
    case 'a': case 'A':
        t->view.thread = 0;
        top_view_clear(&t->view);
        update(t);
        break;
    case 'p': case 'P': case ' ':
        t->paused = !t->paused;
        if (t->src.replay) /* a replay's clock stops too */
            top_replay_pause(t->src.replay, t->paused);
        break;
    case '+': case '=': case '-': case '_':
        if (!t->src.replay)
            return;
        top_replay_speed(t->src.replay, k == '+' || k == '=' ? 2 : 0.5);
        break;
    case 'e': case 'E':
        if (!t->src.replay)
            return;
        top_replay_to_end(t->src.replay);
        t->paused = 0; /* the end is to be seen */
        top_replay_pause(t->src.replay, 0);
        break;
    case 'r': case 'R':
        top_view_reset(&t->view);
        break;
    case '?': case 'h':
        t->help = 1;
        break;
    default:
        return;
    }
}

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Refreshes come every second of the viewer's time (a replay's clock may run
 * faster or stand still). */
static void on_progress(const sampler_stats *st, void *arg) {
    top_state *t = arg;
    t->stats = *st;
    int redraw = 0;
    if (t->screen) {
        for (int k; (k = term_key()) >= 0;) {
            key(t, k);
            redraw = 1;
        }
        if (term_resized) {
            term_resized = 0;
            t->cleared = 1;
            redraw = 1;
        }
    }
    if (t->quit)
        return;
    uint64_t now = mono_ns();
    if (now >= t->next_ns) {
        t->next_ns = now + REFRESH_NS;
        if (!t->paused) {
            update(t);
            redraw = 1;
        }
    }
    if (redraw)
        draw(t, NULL);
}

/* One unit of weight in seconds: a sampling period, or (a traced capture
 * replayed) a nanosecond. */
static double weight_s(const pf_profile *p) {
    const pf_meta *meta = pf_profile_meta_const(p);
    if (!meta->period_ns && meta->weight_unit && !strcmp(meta->weight_unit, "nanoseconds"))
        return 1e-9;
    return meta->period_ns / 1e9;
}

/* Writes the profile top showed to output in fmt: the live one, or the
 * capture as recorded (what convert would write from it). */
static int write_profile(top_state *t, const out_format *fmt, const char *output) {
    pf_error err = {0};
    out_options oo = {.minwidth = 0.1};
    const pf_profile *p = t->profile;
    if (t->src.replay) {
        const in_capture_info *info = top_replay_info(t->src.replay);
        p = top_replay_recorded(t->src.replay);
        oo.title = info->title;
        oo.subtitle = info->subtitle;
        if (info->has_sources) {
            oo.read_source = in_capture_read_source;
            oo.source_ctx = (void *)info;
        }
    } else if (t->src.live) {
        oo.read_source = sampler_read_source;
        oo.source_ctx = t->src.live;
        pf_profile_finish(t->profile);
    }
    if (pf_profile_failed(p)) {
        fprintf(stderr, "pyflare: out of memory while recording; nothing written\n");
        return 1;
    }
    if (out_write_file(p, fmt, output, &oo, &err) != 0)
        return cli_fail(&err);
    fprintf(stderr, "pyflare: wrote %s (%s)\n", output, fmt->name);
    return 0;
}

int cmd_top(int argc, char **argv) {
    cli_args a;
    int rc = cli_start(&top_command, argc, argv, &a);
    if (rc >= 0)
        return rc;
    sampler_options so = {0};
    so.rate_hz = a.given[OPT_RATE] ? a.number[OPT_RATE] : 100;
    so.duration_s = a.number[OPT_DURATION];
    so.idle = a.given[OPT_IDLE];
    so.gil_only = a.given[OPT_GIL];
    so.thread_roots = 1; /* --threads or not: a thread is picked by its root */
    so.by_function = a.given[OPT_FUNCTION];
    so.full_paths = a.given[OPT_FULL_PATHS];
    so.blocking = a.given[OPT_BLOCKING] || a.given[OPT_NATIVE]; /* registers are read from stopped threads */
    so.native = a.given[OPT_NATIVE];
    so.subprocesses = a.given[OPT_SUBPROCESSES];
    so.async_tasks = a.given[OPT_ASYNC];
    const char *replay = a.nfiles ? a.files[0] : NULL;
    if (replay) {
        /* Only what a replay can honour: the sampling options were the recording's. */
        static const cli_opt sampling[] = {OPT_RATE, OPT_DURATION, OPT_IDLE, OPT_GIL, OPT_FUNCTION,
                                           OPT_FULL_PATHS, OPT_BLOCKING, OPT_SUBPROCESSES, OPT_THREADS, OPT_ASYNC};
        if (a.pid || a.command)
            return cli_usage_error("top: give a capture to replay, or --pid / a command to watch, not both");
        for (size_t i = 0; i < sizeof sampling / sizeof sampling[0]; i++)
            if (a.given[sampling[i]])
                return cli_usage_error("top: %s is for sampling; a capture replays as it was recorded",
                                       a.spelled[sampling[i]]);
    } else if (a.given[OPT_SPEED]) {
        return cli_usage_error("top: --speed is for replaying a capture (pyflare top FILE.pyflare)");
    } else if (!a.pid && !a.command) {
        return cli_usage_error("top: what to watch? give --pid PID, a command after '--', or a capture to replay");
    } else if (a.pid && a.command) {
        return cli_usage_error("top: give either --pid or a command, not both");
    }
    const char *output = a.text[OPT_OUTPUT];
    const out_format *fmt = NULL;
    if (output) {
        if (!strcmp(output, "-"))
            return cli_usage_error("top: the screen is standard output; give -o a file name");
        fmt = cli_output(&a, output, NULL, &rc);
        if (!fmt)
            return rc;
    }

    cli_catch_stop_signals(1);

    pf_error err = {0};
    top_state t;
    memset(&t, 0, sizeof t);
    top_view_init(&t.view);
    pid_t child = 0;
    if (replay) {
        /* The whole capture is read (and checked) before the terminal is touched. */
        if (top_replay_open(replay, a.given[OPT_SPEED] ? a.number[OPT_SPEED] : 1, &t.src, &err) != 0)
            return cli_fail(&err);
        t.replay = replay;
        /* Rows per line unless the recording had none (--function: every line 0). */
        size_t nfr;
        const pf_frame *frames = pf_frames(t.src.profile, &nfr);
        t.view.lines = 0;
        for (size_t i = 1; i < nfr && !t.view.lines; i++)
            t.view.lines = frames[i].line > 0;
    } else {
        t.view.lines = !so.by_function; /* rows per line, as the profile has them */
        t.src.profile = pf_profile_new();
        if (!t.src.profile || sampler_new(&so, t.src.profile, &t.src.live, &err) != 0) {
            pf_profile_free(t.src.profile);
            return cli_fail(&err);
        }
        if ((rc = cli_start_target(t.src.live, a.pid, a.command, so.subprocesses, &child)) >= 0)
            goto out;
    }
    t.profile = t.src.profile;

    t.screen = term_enter() == 0;
    t.color = t.screen && !getenv("NO_COLOR");
    t.next_ns = mono_ns() + REFRESH_NS;
    t.period_s = replay ? weight_s(t.profile) : 1.0 / so.rate_hz;
    rc = top_source_run(&t.src, &cli_stop_requested, on_progress, &t, &err) != 0 ? cli_fail(&err) : 0;
    t.stats = *top_source_stats(&t.src);
    t.period_s = weight_s(t.profile);

    /* The last frame says why top ended; after the program's (or the
     * recording's) own end the screen stays until a key (or a signal) so the
     * figures can be read. */
    int exited = replay ? top_replay_ended(t.src.replay) : cli_child_exited || sampler_all_exited(t.src.live);
    const char *why = t.quit ? NULL
                      : cli_stop_signal ? "pyflare top: stopped by a signal"
                      : replay && exited ? "pyflare top: the recording ended"
                      : exited ? "pyflare top: the program exited"
                               : "pyflare top: the duration ended";
    if (!t.paused)
        update(&t);
    if (why) {
        char status[160];
        snprintf(status, sizeof status, "%s%s", why, t.screen && exited && !cli_stop_signal ? " - press a key to leave" : "");
        draw(&t, status);
        if (t.screen && exited && !cli_stop_signal) {
            /* Only a key or a stop signal ends the wait: the launched program's
             * SIGCHLD, which may come after its end was seen in /proc, does not. */
            while (!cli_stop_signal && term_wait_key(200) < 0) {
            }
        }
    }
    term_leave();
    if (why && t.screen)
        fprintf(stderr, "%s\n", why);
    if (!replay)
        cli_say_stopped(&t.stats);

    if (fmt && rc == 0)
        rc = write_profile(&t, fmt, output);
    if (child > 0) {
        sampler_free(t.src.live);
        t.src.live = NULL;
        int status = cli_reap(child, !cli_child_exited);
        if (rc == 0 && exited)
            rc = status;
    }
out:
    term_leave();
    sampler_free(t.src.live);
    top_replay_free(t.src.replay);
    top_view_free(&t.view);
    pf_profile_free(t.src.profile);
    return rc;
}
