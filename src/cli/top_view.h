/* top_view.h — the screen model of `pyflare top`: the rows (a function, or a
 * function's line), their figures over the last interval and since the start,
 * the sort order, the thread shown, and the drawing of it all as text lines.
 *
 * Figures come from the report layer (report/aggregate.c, cProfile's rules: a
 * recursive function's stack counts once in its total) over the profile the
 * sampler is filling. Aggregates are cumulative; a row's figure for the last
 * interval is the difference between this update's aggregate and the one
 * before, and "since the start" is measured from the start or the last reset. */
#ifndef PYFLARE_CLI_TOP_VIEW_H
#define PYFLARE_CLI_TOP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "base/u64map.h"
#include "profile/profile.h"

/* The columns, in the order drawn; the keys 1..6 sort by them. */
enum { TOP_COL_OWN_NOW, TOP_COL_TOTAL_NOW, TOP_COL_OWN, TOP_COL_TOTAL, TOP_COL_OWN_TIME, TOP_COL_TOTAL_TIME,
       TOP_NCOLS };

typedef struct top_row {
    pf_func_id func;
    int32_t line;           /* -1: the whole function */
    uint64_t self, total;   /* cumulative, at this update */
    uint64_t pself, ptotal; /* at the previous update */
    uint64_t bself, btotal; /* at the reset (0: the start) */
    int seen;               /* in this update's aggregate */
} top_row;

typedef struct top_thread {
    pf_node_id root;        /* the thread's root node */
    pf_func_id func;        /* its label ("thread MainThread") */
    uint64_t total, ptotal; /* its weight now and at the previous update */
} top_thread;

typedef struct top_view {
    int sort;               /* TOP_COL_* */
    int lines;              /* rows per line (a frame: function and line) instead of per function */
    size_t thread;          /* 0: all threads; else threads[thread - 1] */
    int reset_done;
    top_row *rows;
    size_t nrows, cap;
    u64map index;           /* (func, line) -> row + 1 */
    uint64_t grand, pgrand, bgrand;
    top_thread *threads;
    size_t nthreads, threads_cap;
    size_t active_threads;  /* threads with weight in the last interval */
    size_t *order;          /* rows sorted */
} top_view;

void top_view_init(top_view *v);
void top_view_free(top_view *v);

/* Takes the profile's figures as they are now: 0, or -1 out of memory. */
int top_view_update(top_view *v, const pf_profile *p);
/* Forgets the rows (after a change of what a row is: lines, thread). */
void top_view_clear(top_view *v);
/* "Since the start" counts from now on. */
void top_view_reset(top_view *v);

/* What the header and the drawing need that the view does not hold. */
typedef struct top_frame_info {
    const char *target;     /* "pid 1234: python app.py", "replay of app.pyflare: python app.py" */
    const char *python;     /* "3.12.1" or "" */
    double elapsed_s, achieved_hz, interval_s;
    double period_s;        /* one unit of weight in seconds */
    int cpu_weighted;
    int traced;             /* exact times (a traced capture replayed) */
    uint64_t samples, errors;
    size_t threads;         /* the target's Python threads now (live), the recording's (replay) */
    int stopped;            /* the target is stopped by a signal: its threads are neither active nor idle */
    double gil_share;       /* of the thread samples in the last interval, held the GIL; < 0 unknown */
    const char *status;     /* a last line: "paused", "the program exited ...", or NULL */
    int color;              /* reverse video for the column header */
    int help;               /* the key help instead of rows */
    int replay;             /* a capture replayed: elapsed_s is the position in it */
    double length_s;        /* ... the recording's length */
    double speed;           /* ... and the replay's speed factor */
} top_frame_info;

/* The screen as text: at most rows lines (0: a plain table of the 20 hottest
 * rows), each at most cols characters, '\n' after each. malloc'd string,
 * or NULL out of memory. */
char *top_view_draw(top_view *v, const pf_profile *p, const top_frame_info *info, int rows, int cols);

#endif
