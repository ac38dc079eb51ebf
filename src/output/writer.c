/* writer.c — the format registry (see writer.h); where a file goes is outfile.c. */
#include "output/writer.h"

#include <string.h>
#include <strings.h>

static const out_format formats[] = {
    {"svg", ".svg", out_write_svg, 0},
    {"html", ".html .htm", out_write_html, 0},
    {"folded", ".folded .txt .collapsed", out_write_folded, 0},
    {"speedscope", ".speedscope .speedscope.json .json", out_write_speedscope, 0}, /* JSON: speedscope's */
    {"callgrind", ".callgrind", out_write_callgrind, 0},
    {"pprof", ".pprof .pb.gz .pb", out_write_pprof, 1},
    {"pstats", ".pstats .prof", out_write_pstats, 1},
    {"text", ".text", out_write_text, 0},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const out_format *out_format_named(const char *name) {
    for (size_t i = 0; i < NFORMATS; i++)
        if (!strcmp(formats[i].name, name))
            return &formats[i];
    return NULL;
}

/* Suffixes match whatever their case: "OUT.SVG" is an SVG. */
static int ends_with(const char *s, const char *suffix, size_t suffix_len) {
    size_t len = strlen(s);
    return len >= suffix_len && !strncasecmp(s + len - suffix_len, suffix, suffix_len);
}

const out_format *out_format_for_path(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!strncmp(base, "callgrind.out", 13))
        return out_format_named("callgrind");
    /* The longest matching suffix wins (".speedscope.json" over ".json"). */
    const out_format *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < NFORMATS; i++) {
        const char *e = formats[i].extensions;
        while (*e) {
            size_t len = strcspn(e, " ");
            if (len > best_len && ends_with(base, e, len)) {
                best = &formats[i];
                best_len = len;
            }
            e += len;
            while (*e == ' ')
                e++;
        }
    }
    return best;
}

const char *out_format_names(void) { return "svg html folded speedscope callgrind pprof pstats text"; }

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
