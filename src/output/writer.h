/* writer.h — the output formats: one writer per format, all reading one pf_profile.
 *
 * A writer gets the finished profile and a FILE; it knows nothing of
 * processes. out_write_file() (outfile.c) is how every command writes an output:
 * a regular file is replaced atomically (a temporary file beside it, renamed into
 * place only when complete), a symlink is written through, a device, FIFO or
 * socket is written in place, a directory is refused. */
#ifndef PYFLARE_OUTPUT_WRITER_H
#define PYFLARE_OUTPUT_WRITER_H

#include <stdio.h>

#include "base/error.h"
#include "profile/profile.h"

typedef struct out_options {
    int reverse;            /* svg/html: merge stacks from the leaf (who calls the hot code) */
    int inverted;           /* svg: icicle (root at the top) */
    double minwidth;        /* svg: prune frames narrower than this many pixels (default 0.1) */
    const char *title;      /* svg/html: defaults to "pyflare" */
    const char *subtitle;   /* svg/html: command, duration, rate, samples */
    int color;              /* text: ANSI colour (1), none (0) */
    int top;                /* text: rows in the top table (default 20) */
    int by_function;        /* folded etc.: frames without line numbers (already in the model) */
    const pf_profile *baseline; /* svg: differential flame graph against this profile */
    /* svg: draw these stacks (in_read_folded_stacks, frames of the profile
     * written) instead of the profile's call tree; baseline_stacks likewise
     * for baseline, which then needs them. */
    const struct in_stacks *stacks, *baseline_stacks;
    /* html, text: the source text of a file as the profile names it (a
     * function's file), read when the profile is written: returns 0 with *text
     * malloc'd (*len bytes), 1 when the file is larger than max bytes, -1 when
     * it cannot be read. NULL: no source text (lines keep their figures). The
     * writer knows nothing of where files live: the CLI's reader does (record:
     * through the target's root, so containers work). */
    int (*read_source)(void *ctx, const pf_profile *p, pf_str_id file, size_t max, char **text, size_t *len);
    void *source_ctx;
} out_options;

typedef int (*out_write_fn)(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);

typedef struct out_format {
    const char *name;       /* "svg", "folded", ... */
    const char *extensions; /* space-separated suffixes that select it: ".svg" */
    out_write_fn write;
    int binary;             /* not text: never to a terminal */
    const char *prefixes;   /* space-separated file name beginnings that select it ("callgrind.out."), or "" */
    const char *about;      /* what it is, for help text */
    const char *media;      /* its media (content) type, for serving it over HTTP */
} out_format;

/* The format table is the one list of formats: every name, extension, message
 * and help text about formats is made from it. */

/* The format named name, or NULL. */
const out_format *out_format_named(const char *name);
/* The format a file name implies by its suffix, in any case (or by its
 * beginning: callgrind.out.*), or NULL. A plain .json is speedscope's JSON,
 * the one JSON profile format written. */
const out_format *out_format_for_path(const char *path);
/* Space-separated names of all formats, for messages. */
const char *out_format_names(void);
/* The i-th format of the table, or NULL past its end (for help text). */
const out_format *out_format_at(size_t i);

/* Refuses (PF_ERR_USAGE, one line saying what to do) to write a binary format
 * to a terminal: path "-" when standard output is one, or a path naming one. */
int out_check_terminal(const out_format *fmt, const char *path, pf_error *err);

/* Writes to path ("-" = stdout) as outfile.c describes. */
int out_write_file(const pf_profile *p, const out_format *fmt, const char *path, const out_options *o,
                   pf_error *err);

/* Checks, before any sampling or reading starts, that path can be written the way
 * out_write_file would write it (a directory or an unwritable place is refused),
 * so a long recording does not end in "cannot write". */
int out_check_writable(const char *path, pf_error *err);

/* Removes the temporary file out_write_file is filling, if any. Async-signal-safe:
 * for the CLI's SIGINT/SIGTERM handlers, so a killed command leaves no temporary file. */
void out_discard_temp(void);

/* An out_options.read_source that reads the file at the name the profile
 * gives it (relative names from the current directory): for profiles made in
 * the process that ran the code (the tracer), whose names are its own paths. */
int out_read_source_named(void *ctx, const pf_profile *p, pf_str_id file, size_t max, char **text, size_t *len);

/* The writers. */
int out_write_folded(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_svg(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_html(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_speedscope(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_callgrind(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_pprof(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_pstats(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_text(const pf_profile *p, FILE *f, const out_options *o, pf_error *err);
int out_write_capture(const pf_profile *p, FILE *f, const out_options *o, pf_error *err); /* capture.c */

/* A frame as folded stacks and flame graphs label it: "function (file:line)",
 * or "function (file)" when the line is 0. Returns the length written (snprintf-like). */
int out_frame_label(const pf_profile *p, pf_frame_id frame, char *buf, size_t cap);

#endif
