/* writer.c — the format registry (see writer.h); where a file goes is outfile.c. */
#include "output/writer.h"

#include "base/readfile.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The media types are what a web server sends: callgrind's text goes as a
 * download (application/octet-stream), as its readers are desktop programs. */
static const out_format formats[] = {
    {"svg", ".svg", out_write_svg, 0, "", "interactive flame graph", "image/svg+xml"},
    {"html", ".html .htm", out_write_html, 0, "", "flame graph, icicle and table in one page",
     "text/html; charset=utf-8"},
    {"folded", ".folded .txt .collapsed", out_write_folded, 0, "", "folded stacks: flamegraph.pl, inferno",
     "text/plain; charset=utf-8"},
    {"speedscope", ".speedscope .speedscope.json .json", out_write_speedscope, 0, "",
     "speedscope's JSON", "application/json"},
    {"callgrind", ".callgrind", out_write_callgrind, 0, "callgrind.out.", "KCachegrind, callgrind_annotate",
     "application/octet-stream"},
    {"pprof", ".pprof .pb.gz .pb", out_write_pprof, 1, "", "go tool pprof, gzipped protobuf",
     "application/octet-stream"},
    {"pstats", ".pstats .prof", out_write_pstats, 1, "", "Python's pstats, snakeviz",
     "application/octet-stream"},
    {"text", ".text", out_write_text, 0, "", "a report: top functions, hottest paths",
     "text/plain; charset=utf-8"},
    {"pyflare", ".pyflare", out_write_capture, 1, "", "pyflare's own capture: everything, for any view later",
     "application/octet-stream"},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const out_format *out_format_named(const char *name) {
    for (size_t i = 0; i < NFORMATS; i++)
        if (!strcmp(formats[i].name, name))
            return &formats[i];
    return NULL;
}

const out_format *out_format_at(size_t i) { return i < NFORMATS ? &formats[i] : NULL; }

/* Suffixes match whatever their case: "OUT.SVG" is an SVG. */
static int ends_with(const char *s, const char *suffix, size_t suffix_len) {
    size_t len = strlen(s);
    return len >= suffix_len && !strncasecmp(s + len - suffix_len, suffix, suffix_len);
}

const out_format *out_format_for_path(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* The longest matching suffix wins (".speedscope.json" over ".json"); a
     * matching beginning (callgrind.out.1234) wins over any suffix. */
    const out_format *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < NFORMATS; i++) {
        for (const char *e = formats[i].prefixes; *e; e += strspn(e, " ")) {
            size_t len = strcspn(e, " ");
            if (!strncmp(base, e, len))
                return &formats[i];
            e += len;
        }
        for (const char *e = formats[i].extensions; *e; e += strspn(e, " ")) {
            size_t len = strcspn(e, " ");
            if (len > best_len && ends_with(base, e, len)) {
                best = &formats[i];
                best_len = len;
            }
            e += len;
        }
    }
    return best;
}

static char format_names[256];

static void make_format_names(void) {
    size_t used = 0;
    for (size_t i = 0; i < NFORMATS && used < sizeof format_names; i++)
        used += (size_t)snprintf(format_names + used, sizeof format_names - used, "%s%s", i ? " " : "",
                                 formats[i].name);
}

const char *out_format_names(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* the tracer module may ask from several threads */
    pthread_once(&once, make_format_names);
    return format_names;
}

int out_check_terminal(const out_format *fmt, const char *path, pf_error *err) {
    if (!fmt->binary)
        return 0;
    int tty = 0;
    struct stat st;
    if (!path || !strcmp(path, "-")) {
        tty = isatty(STDOUT_FILENO);
    } else if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
        /* Opening a terminal does nothing to it (O_NOCTTY: it never becomes ours). */
        int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        tty = fd >= 0 && isatty(fd);
        if (fd >= 0)
            close(fd);
    }
    if (tty)
        return pf_fail(err, PF_ERR_USAGE, "the %s format is binary: not writing it to a terminal (give -o FILE)",
                       fmt->name);
    return 0;
}

int out_frame_label(const pf_profile *p, pf_frame_id frame, char *buf, size_t cap) {
    size_t n;
    const pf_frame *frames = pf_frames(p, &n);
    const pf_func *funcs = pf_funcs(p, &n);
    const pf_frame *fr = &frames[frame];
    const pf_func *fn = &funcs[fr->func];
    const char *file = pf_str(p, fn->file);
    if (fn->kind == PF_FUNC_THREAD || fn->kind == PF_FUNC_PROCESS || fn->kind == PF_FUNC_OTHER || !*file)
        return snprintf(buf, cap, "%s", pf_str(p, fn->name));
    if (fr->line > 0)
        return snprintf(buf, cap, "%s (%s:%d)", pf_str(p, fn->name), file, fr->line);
    return snprintf(buf, cap, "%s (%s)", pf_str(p, fn->name), file);
}

int out_read_source_named(void *ctx, const pf_profile *p, pf_str_id file, size_t max, char **text, size_t *len) {
    (void)ctx;
    const char *name = pf_str(p, file);
    if (!*name || *name == '<') /* "<frozen ...>", "<string>": not files */
        return -1;
    return pf_read_file(name, max, text, len);
}
