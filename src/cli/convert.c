/* convert.c — `pyflare flamegraph`, `convert` and `diff`: folded stacks from any tool in, any format out.
 *
 * All three read folded stacks, finish the profile and hand it to a writer
 * through out_write_file; flamegraph and diff keep the lines as they were
 * read (in_read_folded_stacks), which the svg writer merges itself, faster
 * and in less memory than the profile's call tree that convert builds for
 * every other format. out_write_file writes atomically: a failed run never
 * leaves a partial output file under the requested name. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/capture_read.h"
#include "input/folded_read.h"
#include "output/writer.h"

typedef struct conv_args {
    out_options o;
    const char *out;     /* -o FILE, or the second file; NULL = standard output */
    double rate;         /* --rate HZ the stacks were sampled at; 0 = not known */
    int lenient;
    cli_args a;
} conv_args;

static const cli_command flamegraph_command = {
    .id = CMD_FLAMEGRAPH, .display = "pyflare flamegraph", .min_files = 1, .max_files = 1, .files = "one input file",
    .usage = "usage: pyflare flamegraph [options] IN.folded > OUT.svg\n\n"
             "Draws folded stacks (from pyflare, py-spy, Pyflame, Austin, perf's\n"
             "stackcollapse or anything flamegraph.pl reads), or a pyflare capture\n"
             "(.pyflare), as an interactive SVG flame graph. IN may be '-' for standard input.\n",
};

static const cli_command convert_command = {
    .id = CMD_CONVERT, .display = "pyflare convert", .min_files = 1, .max_files = 2, .files = "IN and OUT",
    .usage = "usage: pyflare convert [options] IN OUT   (or IN -o OUT)\n\n"
             "Converts folded stacks, or a pyflare capture (.pyflare: everything a\n"
             "recording held), to another format, chosen by OUT's name or by\n"
             "--format. IN may be '-' for standard input, OUT '-' for standard output\n"
             "(then --format is needed).\n",
};

static const cli_command diff_command = {
    .id = CMD_DIFF, .display = "pyflare diff", .min_files = 2, .max_files = 2, .files = "two input files",
    .usage = "usage: pyflare diff [options] BEFORE.folded AFTER.folded -o OUT.svg\n\n"
             "Draws AFTER as a flame graph coloured by how each frame's share of the\n"
             "samples spent in it (self) changed since BEFORE: red grew, blue shrank.\n"
             "Each may be folded stacks or a pyflare capture (.pyflare).\n"
             "Without -o the SVG goes to standard output.\n",
};

/* Parses argv (argv[0] = the command name): -1 to go on, or the exit status. */
static int parse_args(const cli_command *cmd, int argc, char **argv, conv_args *c) {
    memset(c, 0, sizeof *c);
    cli_args *a = &c->a;
    int rc = cli_start(cmd, argc, argv, a);
    if (rc >= 0)
        return rc;
    c->o.minwidth = a->given[OPT_MINWIDTH] ? a->number[OPT_MINWIDTH] : 0.1;
    c->o.top = 20;
    c->o.reverse = a->given[OPT_REVERSE];
    c->o.inverted = a->given[OPT_INVERTED];
    c->o.title = a->text[OPT_TITLE];
    c->o.subtitle = a->text[OPT_SUBTITLE];
    c->rate = a->number[OPT_RATE];
    c->lenient = a->given[OPT_LENIENT];
    c->out = a->text[OPT_OUTPUT];
    /* From here a signal removes our temporary file: checking the output creates one too. */
    cli_discard_temp_on_signal();
    return -1;
}

/* Reads a capture (.pyflare: its first byte says) whole, with the labels its
 * recording was drawn with, or folded stacks, from path ("-" = stdin) into a
 * new, finished profile; for folded stacks with stacks, keeps the lines there
 * for the svg writer instead of building the profile's call tree (*capture
 * then says which it was: a capture never fills stacks). */
static pf_profile *load_folded(const char *path, int lenient, double rate, in_stacks *stacks, pf_error *err,
                               in_capture_info *info, int *capture) {
    int is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "stdin" : path;
    FILE *in = is_stdin ? stdin : fopen(path, "rb");
    if (!in) {
        pf_fail(err, PF_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    pf_profile *p = pf_profile_new();
    if (!p) {
        pf_fail(err, PF_ERR_NOMEM, "out of memory");
        if (!is_stdin)
            fclose(in);
        return NULL;
    }
    int first = getc(in);
    *capture = first != EOF && in_capture_detect(&(unsigned char){(unsigned char)first}, 1);
    if (first != EOF)
        ungetc(first, in);
    if (*capture) {
        int rc = rate > 0 ? pf_fail(err, PF_ERR_USAGE, "%s is a capture, which knows its rate: --rate is for folded "
                                    "stacks", name)
                          : in_read_capture(in, name, p, info, err);
        if (!is_stdin)
            fclose(in);
        if (rc != 0) {
            pf_profile_free(p);
            return NULL;
        }
        if (!pf_total_weight(p))
            fprintf(stderr, "pyflare: warning: %s has no samples\n", name);
        return p;
    }
    pf_meta meta = *pf_profile_meta_const(p);
    meta.mode = PF_MODE_SAMPLED;
    if (rate > 0) { /* only when given: a writer states a rate only when it is known */
        meta.rate_hz = rate;
        meta.period_ns = (uint64_t)(1e9 / rate + 0.5);
    }
    pf_profile_set_meta(p, &meta);
    size_t skipped = 0;
    int rc = stacks ? in_read_folded_stacks(in, name, p, stacks, lenient, &skipped, err)
                    : in_read_folded(in, name, p, lenient, &skipped, err);
    if (!is_stdin)
        fclose(in);
    if (rc != 0) {
        pf_profile_free(p);
        return NULL;
    }
    pf_profile_finish(p);
    if (skipped)
        fprintf(stderr, "pyflare: %s: skipped %zu malformed line%s\n", name, skipped, skipped == 1 ? "" : "s");
    if (!(stacks ? stacks->total : pf_total_weight(p)))
        fprintf(stderr, "pyflare: warning: %s has no samples\n", name);
    return p;
}

/* A capture's title and subtitle, unless given: what its recording drew. */
static void with_labels(out_options *o, in_capture_info *info) {
    if (!o->title)
        o->title = info->title;
    if (!o->subtitle)
        o->subtitle = info->subtitle;
    if (info->has_sources) { /* the source text the recording read */
        o->read_source = in_capture_read_source;
        o->source_ctx = info;
    }
}

/* Writes p to out (NULL or "-" = stdout) in fmt; returns the exit status. */
static int write_out(const pf_profile *p, const out_format *fmt, const char *out, const out_options *o) {
    pf_error err = {0};
    if (out_write_file(p, fmt, out ? out : "-", o, &err) != 0)
        return cli_fail(&err);
    return 0;
}

/* flamegraph and diff draw SVG, whatever the output is called. */
static const out_format *svg_output(const char *out, int *status) {
    pf_error err = {0};
    if (out && out_check_writable(out, &err) != 0) {
        *status = cli_fail(&err);
        return NULL;
    }
    return out_format_named("svg");
}

int cmd_flamegraph(int argc, char **argv) {
    conv_args c;
    int rc = parse_args(&flamegraph_command, argc, argv, &c);
    if (rc >= 0)
        return rc;
    const out_format *svg = svg_output(c.out, &rc);
    if (!svg)
        return rc;
    pf_error err = {0};
    in_stacks stacks = {0};
    in_capture_info info = {0};
    int capture;
    pf_profile *p = load_folded(c.a.files[0], c.lenient, c.rate, &stacks, &err, &info, &capture);
    if (!p) {
        in_stacks_free(&stacks);
        return cli_fail(&err);
    }
    c.o.stacks = capture ? NULL : &stacks;
    with_labels(&c.o, &info);
    rc = write_out(p, svg, c.out, &c.o);
    pf_profile_free(p);
    in_stacks_free(&stacks);
    in_capture_info_free(&info);
    return rc;
}

int cmd_convert(int argc, char **argv) {
    conv_args c;
    int rc = parse_args(&convert_command, argc, argv, &c);
    if (rc >= 0)
        return rc;
    if ((c.a.nfiles == 2) == (c.out != NULL))
        return cli_usage_error("convert: give the output once, as the second file or with -o "
                               "(try 'pyflare convert --help')");
    const char *out = c.out ? c.out : c.a.files[1];
    const out_format *fmt = cli_output(&c.a, out, NULL, &rc);
    if (!fmt)
        return rc;
    pf_error err = {0};
    in_capture_info info = {0};
    int capture;
    pf_profile *p = load_folded(c.a.files[0], c.lenient, c.rate, NULL, &err, &info, &capture);
    if (!p)
        return cli_fail(&err);
    with_labels(&c.o, &info);
    rc = write_out(p, fmt, out, &c.o);
    pf_profile_free(p);
    in_capture_info_free(&info);
    return rc;
}

int cmd_diff(int argc, char **argv) {
    conv_args c;
    int rc = parse_args(&diff_command, argc, argv, &c);
    if (rc >= 0)
        return rc;
    if (!strcmp(c.a.files[0], "-") && !strcmp(c.a.files[1], "-"))
        return cli_usage_error("diff: BEFORE and AFTER cannot both be standard input");
    const out_format *svg = svg_output(c.out, &rc);
    if (!svg)
        return rc;
    pf_error err = {0};
    in_stacks sb = {0}, sa = {0};
    in_capture_info ib = {0}, ia = {0};
    int cap_b = 0, cap_a = 0;
    pf_profile *before = load_folded(c.a.files[0], c.lenient, c.rate, &sb, &err, &ib, &cap_b);
    pf_profile *after = before ? load_folded(c.a.files[1], c.lenient, c.rate, &sa, &err, &ia, &cap_a) : NULL;
    in_capture_info_free(&ib);
    if (after) {
        c.o.baseline = before;
        c.o.stacks = cap_a ? NULL : &sa;
        c.o.baseline_stacks = cap_b ? NULL : &sb;
        with_labels(&c.o, &ia);
        rc = write_out(after, svg, c.out, &c.o);
    } else {
        rc = cli_fail(&err);
    }
    pf_profile_free(after);
    pf_profile_free(before);
    in_stacks_free(&sa);
    in_stacks_free(&sb);
    in_capture_info_free(&ia);
    return rc;
}
