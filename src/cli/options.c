/* options.c — the option table and its parser (see options.h). */
#include "cli/options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLING (CMD_RECORD | CMD_PYFLAME | CMD_TOP)
#define DRAWING (CMD_RECORD | CMD_PYFLAME | CMD_FLAMEGRAPH | CMD_CONVERT | CMD_DIFF)
#define FOLDED_IN (CMD_FLAMEGRAPH | CMD_CONVERT | CMD_DIFF)
#define TRACING (CMD_TRACE | CMD_MODULE)
#define ALL 0xffffu

/* One row per option and meaning; a spelling may mean another thing in
 * another command only where Pyflame's form needs it (-r: an interval there). */
static const cli_option table[] = {
    {OPT_HELP, "-h --help", CLI_FLAG, NULL, 0, 0, NULL, ALL, "this help"},
    {OPT_VERSION, "-V --version", CLI_FLAG, NULL, 0, 0, NULL, ALL, "print pyflare's version"},
    {OPT_PID, "-p --pid", CLI_PID, "PID", 0, 0, NULL, CMD_DUMP | SAMPLING, "the process to read"},
    {OPT_OUTPUT, "-o --output", CLI_TEXT, "FILE", 0, 0, NULL, ALL & ~CMD_DUMP,
     "where to write ('-' = standard output)"},
    {OPT_FORMAT, "-f --format", CLI_FORMAT, "NAME", 0, 0, NULL, SAMPLING | CMD_CONVERT | TRACING,
     "the format, whatever the output is called\n(default: from its name)"},
    {OPT_JSON, "--json", CLI_FLAG, NULL, 0, 0, NULL, CMD_DUMP, "one JSON object instead of text"},
    {OPT_BLOCKING, "--blocking", CLI_FLAG, NULL, 0, 0, NULL, CMD_DUMP | SAMPLING,
     "pause the program while reading: consistent stacks, slower"},
    {OPT_NATIVE, "--native", CLI_FLAG, NULL, 0, 0, NULL, CMD_DUMP | SAMPLING,
     "also the C/C++ frames, merged with the Python ones (pauses\neach thread while its registers are read)"},
    {OPT_RATE, "-r --rate", CLI_NUMBER, "HZ", 0.001, 1e6, NULL, CMD_RECORD | CMD_TOP | CMD_CONVERT,
     "samples per second (record: default 100; convert: the rate the stacks\n"
     "were sampled at, so times can be shown: pstats needs it)"},
    {OPT_RATE, "--rate", CLI_NUMBER, "HZ", 0.001, 1e6, NULL, CMD_PYFLAME, "samples per second"},
    {OPT_INTERVAL, "-r --rate-interval", CLI_NUMBER, "S", 0.000001, 1000, NULL, CMD_PYFLAME,
     "seconds between samples (default 0.001)"},
    {OPT_DURATION, "-d --duration -s --seconds", CLI_NUMBER, "S", 0.001, 1e9, NULL, SAMPLING,
     "stop after S seconds (default: until the program exits)"},
    {OPT_IDLE, "--idle", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING,
     "also sample waiting threads, one sample each\n(default: running ones, weighed by CPU time)"},
    {OPT_EXCLUDE_IDLE, "-x --exclude-idle", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING & ~CMD_TOP,
     "only running threads (record's default;\nPyflame's form counts idle ones without it)"},
    {OPT_GIL, "--gil", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING, "only the thread holding the GIL"},
    {OPT_THREADS, "--threads", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING | TRACING, "a root frame per thread"},
    {OPT_FUNCTION, "--function", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING, "aggregate by function (no line numbers)"},
    {OPT_FULL_PATHS, "--full-paths", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING,
     "keep file names whole (default: relative to import roots)"},
    {OPT_SPIN, "--spin", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING & ~CMD_TOP,
     "busy-wait before each sample: exact spacing, for a whole CPU"},
    {OPT_SUBPROCESSES, "--subprocesses", CLI_FLAG, NULL, 0, 0, NULL, SAMPLING,
     "also sample child Python processes, each under a process root"},
    {OPT_ASYNC, "--async", CLI_FLAG, NULL, 0, 0, NULL, CMD_DUMP | CMD_RECORD | CMD_TOP,
     "asyncio tasks (CPython 3.14+): dump lists them and who awaits whom;\n"
     "record puts the running task's stack under the tasks awaiting it"},
    {OPT_TRACE_COMMAND, "-t --trace", CLI_COMMAND, NULL, 0, 0, NULL, SAMPLING & ~CMD_TOP,
     "what follows is the command to run (Pyflame's spelling of '--')"},
    {OPT_TITLE, "--title", CLI_TEXT, "T", 0, 0, NULL, DRAWING, "flame graph title (default \"pyflare\")"},
    {OPT_SUBTITLE, "--subtitle", CLI_TEXT, "S", 0, 0, NULL, DRAWING, "second line under the title"},
    {OPT_REVERSE, "--reverse", CLI_FLAG, NULL, 0, 0, NULL, DRAWING,
     "merge stacks from the leaf: who calls the hot code"},
    {OPT_INVERTED, "--inverted", CLI_FLAG, NULL, 0, 0, NULL, DRAWING, "icicle graph: roots at the top"},
    {OPT_MINWIDTH, "--minwidth", CLI_NUMBER, "PX", 0, 1200, NULL, DRAWING,
     "merge frames narrower than PX pixels of the 1200 (default 0.1)"},
    {OPT_LENIENT, "--lenient", CLI_FLAG, NULL, 0, 0, NULL, FOLDED_IN,
     "skip malformed lines (and say how many) instead of failing"},
    {OPT_CLOCK, "--clock", CLI_CHOICE, "CLOCK", 0, 0, "wall cpu", TRACING,
     "elapsed time (wall, the default) or each thread's CPU time (cpu)"},
    {OPT_NO_BUILTINS, "--no-builtins", CLI_FLAG, NULL, 0, 0, NULL, TRACING, "do not time builtin (C) functions"},
    {OPT_QUIET, "-q --quiet", CLI_FLAG, NULL, 0, 0, NULL, TRACING, "do not say where the profile went"},
    {OPT_OUTPUT_NAME, "--output-name", CLI_TEXT, "NAME", 0, 0, NULL, CMD_MODULE,
     "the name to say the profile went to (pyflare trace passes it)"},
    {OPT_MODULE, "-m", CLI_LAST_VALUE, "MODULE", 0, 0, NULL, CMD_MODULE, "run a module, as python -m does"},
    {OPT_CODE, "-c", CLI_LAST_VALUE, "CODE", 0, 0, NULL, CMD_MODULE, "run code, as python -c does"},
    {OPT_SPEED, "--speed", CLI_NUMBER, "X", 0.015625, 1024, NULL, CMD_TOP,
     "replaying a capture: X times the recorded pace (default 1)"},
};
#define NOPTIONS (sizeof table / sizeof table[0])

const cli_option *cli_option_for(cli_opt id, unsigned cmd) {
    for (size_t i = 0; i < NOPTIONS; i++)
        if (table[i].id == id && (table[i].commands & cmd))
            return &table[i];
    return NULL;
}

void cli_option_name(const cli_option *o, char *buf, size_t cap) {
    const char *name = strstr(o->names, "--");
    if (!name)
        name = o->names;
    snprintf(buf, cap, "%.*s", (int)strcspn(name, " "), name);
}

/* 1 when word is one of the space-separated names. */
static int has_name(const char *names, const char *word, size_t len) {
    for (const char *n = names; *n; n += strspn(n, " ")) {
        size_t k = strcspn(n, " ");
        if (k == len && !strncmp(n, word, len))
            return 1;
        n += k;
    }
    return 0;
}

static const cli_option *find(unsigned cmd, const char *word, size_t len) {
    for (size_t i = 0; i < NOPTIONS; i++)
        if ((table[i].commands & cmd) && has_name(table[i].names, word, len))
            return &table[i];
    return NULL;
}

int cli_pid(const char *text, pid_t *pid, pf_error *err) {
    char *end;
    errno = 0;
    long value = text && *text >= '0' && *text <= '9' ? strtol(text, &end, 10) : -1;
    if (value <= 0 || *end || errno || value > INT_MAX)
        return pf_fail(err, PF_ERR_USAGE, "invalid PID '%s': expected a process id, a positive whole number",
                       text ? text : "");
    *pid = (pid_t)value;
    return 0;
}

/* Checks and stores one option's value. */
static int take_value(const cli_option *o, const char *spelled, const char *v, cli_args *a, pf_error *err) {
    char *end;
    double x;
    switch (o->kind) {
    case CLI_NUMBER:
        errno = 0;
        x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || x < o->min || x > o->max)
            return pf_fail(err, PF_ERR_USAGE, "invalid %s '%s': expected a number from %g to %g", spelled, v,
                           o->min, o->max);
        a->number[o->id] = x;
        break;
    case CLI_PID:
        if (cli_pid(v, &a->pid, err) != 0)
            return pf_fail(err, PF_ERR_USAGE, "invalid %s '%s': expected a process id, a positive whole number",
                           spelled, v);
        break;
    case CLI_FORMAT:
        if (!out_format_named(v))
            return pf_fail(err, PF_ERR_USAGE, "unknown format '%s' given to %s (formats: %s)", v, spelled,
                           out_format_names());
        break;
    case CLI_CHOICE:
        if (!has_name(o->choices, v, strlen(v)))
            return pf_fail(err, PF_ERR_USAGE, "invalid %s '%s': expected one of: %s", spelled, v, o->choices);
        break;
    default:
        break;
    }
    a->text[o->id] = v;
    return 0;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a, pf_error *err) {
    memset(a, 0, sizeof *a);
    for (int k = 0; k < OPT_COUNT; k++)
        a->index[k] = -1;
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        char *w = argv[i];
        if (!only_files && !strcmp(w, "--")) {
            if (!cmd->command_after_dashes) {
                only_files = 1;
                continue;
            }
            if (i + 1 >= argc)
                return pf_fail(err, PF_ERR_USAGE, "nothing to run after '--'");
            a->command = argv + i + 1;
            a->command_index = i + 1;
            break;
        }
        if (only_files || w[0] != '-' || !w[1]) { /* a word, or "-" (standard input or output) */
            if (cmd->command_at_word && !only_files) {
                a->command = argv + i;
                a->command_index = i;
                break;
            }
            if (a->nfiles >= cmd->max_files || a->nfiles >= 4)
                return pf_fail(err, PF_ERR_USAGE, "unexpected argument '%s' (try '%s --help')", w, cmd->display);
            a->files[a->nfiles++] = w;
            continue;
        }
        /* --name, --name=VALUE, -n, -nVALUE */
        int is_long = w[1] == '-';
        size_t len = is_long ? strcspn(w, "=") : 2;
        const char *attached = is_long ? (w[len] ? w + len + 1 : NULL) : (w[2] ? w + 2 : NULL);
        const cli_option *o = find(cmd->id, w, len);
        if (!o)
            return pf_fail(err, PF_ERR_USAGE, "unknown option '%.*s' (try '%s --help')", (int)len, w, cmd->display);
        a->given[o->id] = 1;
        a->spelled[o->id] = w;
        if (o->kind == CLI_FLAG || o->kind == CLI_COMMAND) {
            if (attached)
                return pf_fail(err, PF_ERR_USAGE, "%.*s takes no value, got '%s'", (int)len, w, attached);
            if (o->id == OPT_HELP || o->id == OPT_VERSION)
                return 0;
            if (o->kind == CLI_COMMAND) {
                if (i + 1 >= argc)
                    return pf_fail(err, PF_ERR_USAGE, "nothing to run after '%s'", w);
                a->command = argv + i + 1;
                a->command_index = i + 1;
                break;
            }
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, w);
        if (!attached && i + 1 >= argc)
            return pf_fail(err, PF_ERR_USAGE, "%s needs a value (%s)", name, o->metavar);
        a->index[o->id] = attached ? i : i + 1;
        const char *v = attached ? attached : argv[++i];
        if (take_value(o, name, v, a, err) != 0)
            return -1;
        if (o->id == OPT_OUTPUT) {
            if (a->noutputs == CLI_MAX_OUTPUTS)
                return pf_fail(err, PF_ERR_USAGE, "%s is given more than %d times", name, CLI_MAX_OUTPUTS);
            a->outputs[a->noutputs++] = v;
        }
        if (o->kind == CLI_LAST_VALUE) {
            a->command = argv + i + 1;
            a->command_index = i + 1;
            break;
        }
    }
    if (a->nfiles < cmd->min_files)
        return pf_fail(err, PF_ERR_USAGE, "expected %s (try '%s --help')", cmd->files, cmd->display);
    return 0;
}

/* "-o, --output FILE" */
static int spellings(const cli_option *o, char *buf, size_t cap) {
    size_t used = 0;
    for (const char *n = o->names; *n && used < cap; n += strspn(n, " ")) {
        size_t k = strcspn(n, " ");
        used += (size_t)snprintf(buf + used, cap - used, "%s%.*s", used ? ", " : "", (int)k, n);
        n += k;
    }
    if (o->metavar && used < cap)
        used += (size_t)snprintf(buf + used, cap - used, " %s", o->metavar);
    return (int)used;
}

void cli_help(const cli_command *cmd, FILE *f) {
    fputs(cmd->usage, f);
    fputs("\noptions:\n", f);
    int formats = 0;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const cli_option *o = &table[i];
        if (!(o->commands & cmd->id))
            continue;
        formats |= o->kind == CLI_FORMAT;
        char left[128];
        int n = spellings(o, left, sizeof left);
        fprintf(f, "  %s", left);
        if (n > 22)
            fprintf(f, "\n%26s", "");
        else
            fprintf(f, "%*s", 24 - n, "");
        for (const char *h = o->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n')
                fprintf(f, "%26s", "");
        }
        fputc('\n', f);
    }
    if (formats) {
        fputs("\nformats (by --format, else by the output's name in any case; binary ones never to a terminal):\n", f);
        for (size_t i = 0; out_format_at(i); i++) {
            const out_format *fmt = out_format_at(i);
            fprintf(f, "  %-11s %s (%s%s%s%s)\n", fmt->name, fmt->about, fmt->extensions, *fmt->prefixes ? " " : "",
                    fmt->prefixes, *fmt->prefixes ? "*" : "");
        }
    }
    if (cmd->epilog)
        fprintf(f, "\n%s", cmd->epilog);
}

const out_format *cli_output_format(const cli_args *a, const char *path, const char *dflt, pf_error *err) {
    const out_format *fmt = NULL;
    const char *format = a->text[OPT_FORMAT];
    if (format)
        fmt = out_format_named(format); /* checked when parsed */
    else if (path && strcmp(path, "-"))
        fmt = out_format_for_path(path);
    else if (dflt)
        fmt = out_format_named(dflt);
    if (!fmt) {
        if (path && strcmp(path, "-"))
            pf_fail(err, PF_ERR_USAGE, "cannot tell the format of '%s' from its name: add --format NAME (formats: %s)",
                    path, out_format_names());
        else
            pf_fail(err, PF_ERR_USAGE, "which format for standard output? add --format NAME (formats: %s)",
                    out_format_names());
        return NULL;
    }
    return out_check_terminal(fmt, path, err) == 0 ? fmt : NULL;
}

static const cli_command module_command = {
    .id = CMD_MODULE, .display = "python -m pyflare", .command_after_dashes = 1, .command_at_word = 1,
    .usage = "usage: python -m pyflare [options] (SCRIPT | -m MODULE | -c CODE) [ARGS...]\n\n"
             "Runs a script (or module, or code as python -c does) as __main__ under\n"
             "pyflare's deterministic profiler, like python -m cProfile, and writes the\n"
             "profile when it ends, however it ends. The exit status is the script's.\n",
};

int cli_parse_module(int argc, char **argv, int (*put)(const char *key, const char *value, int index, void *arg),
                     void *arg, pf_error *err) {
    cli_args a;
    if (cli_parse(&module_command, argc, argv, &a, err) != 0)
        return -1;
    if (a.given[OPT_HELP] || a.given[OPT_VERSION]) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
            return pf_fail(err, PF_ERR_IO, "out of memory");
        if (a.given[OPT_HELP])
            cli_help(&module_command, f);
        else
            fputs("pyflare " PYFLARE_VERSION "\n", f);
        int failed = fclose(f) != 0 || put(a.given[OPT_HELP] ? "help" : "version", text, -1, arg) != 0;
        free(text);
        return failed ? pf_fail(err, PF_ERR_IO, "out of memory") : argc;
    }
    /* Without -o the profile is a text report on standard output. */
    const out_format *fmt = cli_output_format(&a, a.text[OPT_OUTPUT], "text", err);
    if (!fmt)
        return -1;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const cli_option *o = &table[i];
        if (!(o->commands & CMD_MODULE) || !a.given[o->id] || o->id == OPT_FORMAT)
            continue;
        char name[32];
        cli_option_name(o, name, sizeof name);
        if (put(name + strspn(name, "-"), a.text[o->id], a.index[o->id], arg) != 0)
            return pf_fail(err, PF_ERR_IO, "out of memory");
    }
    if (put("format", fmt->name, -1, arg) != 0)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    return a.command ? a.command_index : argc;
}
