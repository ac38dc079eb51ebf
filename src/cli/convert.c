/* convert.c — `pyflare flamegraph`, `convert` and `diff`: folded stacks from any tool in, any format out.
 *
 * All three read folded stacks, finish the profile and hand it to a writer
 * through out_write_file; flamegraph and diff keep the lines as they were
 * read (out_read_folded_stacks), which the svg writer merges itself, faster
 * and in less memory than the profile's call tree that convert builds for
 * every other format. out_write_file writes atomically: a failed run never
 * leaves a partial output file under the requested name. */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/folded_read.h"
#include "output/writer.h"

/* Which options a command takes. */
enum { OPT_DRAW = 1, OPT_FORMAT = 2, OPT_RATE = 4 };

typedef struct conv_args {
    out_options o;
    const char *out;     /* -o FILE, or NULL */
    const char *format;  /* --format NAME, or NULL */
    double rate;         /* --rate HZ the stacks were sampled at; 0 = not known */
    int lenient;
    const char *pos[3];
    int npos;
} conv_args;

static const char flamegraph_help[] =
    "usage: pyflare flamegraph [options] IN.folded > OUT.svg\n"
    "\n"
    "Draws folded stacks (from pyflare, py-spy, Pyflame, Austin, perf's\n"
    "stackcollapse or anything flamegraph.pl reads) as an interactive SVG flame\n"
    "graph. IN may be '-' for standard input.\n"
    "\n"
    "options:\n"
    "  -o FILE          write to FILE instead of standard output\n"
    "  --title T        title (default \"pyflare\")\n"
    "  --subtitle S     second line under the title\n"
    "  --reverse        merge stacks from the leaf: who calls the hot code\n"
    "  --inverted       icicle graph: roots at the top\n"
    "  --minwidth PX    merge frames narrower than PX pixels (default 0.1)\n"
    "  --lenient        skip malformed lines (and say how many) instead of failing\n";

static const char convert_help[] =
    "usage: pyflare convert [options] IN OUT\n"
    "\n"
    "Converts folded stacks to another format, chosen by OUT's extension\n"
    "(.svg .html .folded .speedscope.json or .json .callgrind .pprof .pstats .text,\n"
    "in any case; .json is speedscope's JSON) or by --format. IN may be '-' for\n"
    "standard input, OUT '-' for standard output (then --format is needed).\n"
    "\n"
    "options:\n"
    "  --format NAME    one of: %s\n"
    "  --title T, --subtitle S, --reverse, --inverted, --minwidth PX\n"
    "                   as for 'pyflare flamegraph' (svg and html)\n"
    "  --rate HZ        the rate the stacks were sampled at, so times can be shown\n"
    "                   (needed for pstats; otherwise weights are stack counts)\n"
    "  --lenient        skip malformed lines (and say how many) instead of failing\n";

static const char diff_help[] =
    "usage: pyflare diff [options] BEFORE.folded AFTER.folded -o OUT.svg\n"
    "\n"
    "Draws AFTER as a flame graph coloured by how each frame's share of the\n"
    "samples spent in it (self) changed since BEFORE: red grew, blue shrank.\n"
    "Without -o the SVG goes to standard output.\n"
    "\n"
    "options:\n"
    "  -o FILE          write to FILE\n"
    "  --title T, --subtitle S, --reverse, --inverted, --minwidth PX\n"
    "                   as for 'pyflare flamegraph'\n"
    "  --lenient        skip malformed lines (and say how many) instead of failing\n";

/* The value of an option given as "--name VALUE" or "--name=VALUE"; NULL if arg is not it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n))
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* Parses argv (argv[0] = the command name). Returns 0, 1 after --help, or an exit status > 1. */
static int parse_args(int argc, char **argv, int allowed, int want_pos, const char *help, conv_args *a) {
    const char *cmd = argv[0];
    memset(a, 0, sizeof *a);
    a->o.minwidth = 0.1;
    a->o.top = 20;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *v;
        int missing = 0;
        if (only_pos || !strcmp(arg, "-") || arg[0] != '-') {
            if (a->npos >= want_pos)
                return cli_usage_error("%s: unexpected argument '%s' (try 'pyflare %s --help')", cmd, arg, cmd);
            a->pos[a->npos++] = arg;
        } else if (!strcmp(arg, "--")) {
            only_pos = 1;
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            printf(help, out_format_names());
            return 1;
        } else if (!strcmp(arg, "--lenient")) {
            a->lenient = 1;
        } else if ((allowed & OPT_DRAW) && !strcmp(arg, "--reverse")) {
            a->o.reverse = 1;
        } else if ((allowed & OPT_DRAW) && !strcmp(arg, "--inverted")) {
            a->o.inverted = 1;
        } else if ((v = opt_value(argc, argv, &i, "-o", &missing)) ||
                   (v = opt_value(argc, argv, &i, "--output", &missing))) {
            a->out = v;
        } else if ((allowed & OPT_FORMAT) && (v = opt_value(argc, argv, &i, "--format", &missing))) {
            a->format = v;
        } else if ((allowed & OPT_DRAW) && (v = opt_value(argc, argv, &i, "--title", &missing))) {
            a->o.title = v;
        } else if ((allowed & OPT_DRAW) && (v = opt_value(argc, argv, &i, "--subtitle", &missing))) {
            a->o.subtitle = v;
        } else if ((allowed & OPT_DRAW) && (v = opt_value(argc, argv, &i, "--minwidth", &missing))) {
            char *end;
            errno = 0;
            double w = strtod(v, &end);
            if (!*v || *end || errno || !isfinite(w) || w < 0 || w > 1200)
                return cli_usage_error("%s: invalid --minwidth '%s': expected pixels, a number from 0 to 1200",
                                       cmd, v);
            a->o.minwidth = w;
        } else if ((allowed & OPT_RATE) && (v = opt_value(argc, argv, &i, "--rate", &missing))) {
            char *end;
            errno = 0;
            double hz = strtod(v, &end);
            if (!*v || *end || errno || !isfinite(hz) || hz <= 0 || hz > 1e9)
                return cli_usage_error("%s: invalid --rate '%s': expected samples per second, a number above 0",
                                       cmd, v);
            a->rate = hz;
        } else if (missing) {
            return cli_usage_error("%s: option '%s' needs a value (try 'pyflare %s --help')", cmd, arg, cmd);
        } else {
            return cli_usage_error("%s: unknown option '%s' (try 'pyflare %s --help')", cmd, arg, cmd);
        }
    }
    if (a->npos != want_pos)
        return cli_usage_error("%s: expected %s (try 'pyflare %s --help')", cmd,
                               want_pos == 1 ? "one input file" : want_pos == 2 && allowed & OPT_FORMAT
                                                                      ? "an input and an output file"
                                                                      : "two input files, BEFORE and AFTER",
                               cmd);
    return 0;
}

/* Reads folded stacks from path ("-" = stdin) into a new, finished profile;
 * with stacks, keeps the lines there for the svg writer instead of building
 * the profile's call tree. */
static pf_profile *load_folded(const char *path, int lenient, double rate, out_stacks *stacks, pf_error *err) {
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
    pf_meta *meta = pf_profile_meta(p);
    meta->mode = PF_MODE_SAMPLED;
    if (rate > 0) { /* only when given: a writer states a rate only when it is known */
        meta->rate_hz = rate;
        meta->period_ns = (uint64_t)(1e9 / rate + 0.5);
    }
    size_t skipped = 0;
    int rc = stacks ? out_read_folded_stacks(in, name, p, stacks, lenient, &skipped, err)
                    : out_read_folded(in, name, p, lenient, &skipped, err);
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

/* Writes p to out (NULL or "-" = stdout) in fmt; returns the exit status. */
static int write_out(const pf_profile *p, const out_format *fmt, const char *out, const out_options *o) {
    pf_error err = {0};
    if (!out)
        out = "-";
    if (!strcmp(out, "-") && fmt->binary && isatty(STDOUT_FILENO))
        return cli_usage_error("the %s format is binary: not writing it to a terminal (use -o FILE)", fmt->name);
    if (out_write_file(p, fmt, out, o, &err) != 0)
        return cli_fail(&err);
    return 0;
}

int cmd_flamegraph(int argc, char **argv) {
    conv_args a;
    int rc = parse_args(argc, argv, OPT_DRAW, 1, flamegraph_help, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    cli_discard_temp_on_signal();
    pf_error err = {0};
    if (a.out && out_check_writable(a.out, &err) != 0)
        return cli_fail(&err);
    out_stacks stacks = {0};
    pf_profile *p = load_folded(a.pos[0], a.lenient, a.rate, &stacks, &err);
    if (!p) {
        out_stacks_free(&stacks);
        return cli_fail(&err);
    }
    a.o.stacks = &stacks;
    rc = write_out(p, out_format_named("svg"), a.out, &a.o);
    pf_profile_free(p);
    out_stacks_free(&stacks);
    return rc;
}

int cmd_convert(int argc, char **argv) {
    conv_args a;
    int rc = parse_args(argc, argv, OPT_DRAW | OPT_FORMAT | OPT_RATE, 2, convert_help, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (a.out)
        return cli_usage_error("convert: the output is the second argument, not -o (try 'pyflare convert --help')");
    const char *out = a.pos[1];
    const out_format *fmt;
    if (a.format) {
        fmt = out_format_named(a.format);
        if (!fmt)
            return cli_usage_error("convert: unknown format '%s' (formats: %s)", a.format, out_format_names());
    } else {
        fmt = out_format_for_path(out);
        if (!fmt)
            return cli_usage_error("convert: cannot tell the format from '%s': use --format NAME (formats: %s)",
                                   out, out_format_names());
    }
    cli_discard_temp_on_signal();
    pf_error err = {0};
    if (out_check_writable(out, &err) != 0)
        return cli_fail(&err);
    pf_profile *p = load_folded(a.pos[0], a.lenient, a.rate, NULL, &err);
    if (!p)
        return cli_fail(&err);
    rc = write_out(p, fmt, out, &a.o);
    pf_profile_free(p);
    return rc;
}

int cmd_diff(int argc, char **argv) {
    conv_args a;
    int rc = parse_args(argc, argv, OPT_DRAW, 2, diff_help, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!strcmp(a.pos[0], "-") && !strcmp(a.pos[1], "-"))
        return cli_usage_error("diff: BEFORE and AFTER cannot both be standard input");
    cli_discard_temp_on_signal();
    pf_error err = {0};
    if (a.out && out_check_writable(a.out, &err) != 0)
        return cli_fail(&err);
    out_stacks sb = {0}, sa = {0};
    pf_profile *before = load_folded(a.pos[0], a.lenient, a.rate, &sb, &err);
    pf_profile *after = before ? load_folded(a.pos[1], a.lenient, a.rate, &sa, &err) : NULL;
    if (after) {
        a.o.baseline = before;
        a.o.stacks = &sa;
        a.o.baseline_stacks = &sb;
        rc = write_out(after, out_format_named("svg"), a.out, &a.o);
    } else {
        rc = cli_fail(&err);
    }
    pf_profile_free(after);
    pf_profile_free(before);
    out_stacks_free(&sa);
    out_stacks_free(&sb);
    return rc;
}
