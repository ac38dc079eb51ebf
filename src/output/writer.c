/* writer.c — the format registry and atomic file output (see writer.h). */
#include "output/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const out_format formats[] = {
    {"svg", ".svg", out_write_svg, 0},
    {"html", ".html .htm", out_write_html, 0},
    {"folded", ".folded .txt .collapsed", out_write_folded, 0},
    {"speedscope", ".speedscope .speedscope.json", out_write_speedscope, 0},
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

static int ends_with(const char *s, const char *suffix, size_t suffix_len) {
    size_t len = strlen(s);
    return len >= suffix_len && !strncmp(s + len - suffix_len, suffix, suffix_len);
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

int out_check_writable(const char *path, pf_error *err) {
    if (!strcmp(path, "-"))
        return 0;
    char *copy = strdup(path);
    if (!copy)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    const char *dir = dirname(copy);
    int ok = access(dir, W_OK | X_OK) == 0;
    int saved = errno;
    free(copy);
    if (!ok)
        return pf_fail(err, PF_ERR_IO, "cannot write %s: directory not writable (%s)", path, strerror(saved));
    return 0;
}

int out_write_file(const pf_profile *p, const out_format *fmt, const char *path, const out_options *o,
                   pf_error *err) {
    if (!strcmp(path, "-")) {
        if (fmt->write(p, stdout, o, err) != 0)
            return -1;
        if (fflush(stdout) != 0)
            return pf_fail(err, PF_ERR_IO, "cannot write to standard output: %s", strerror(errno));
        return 0;
    }
    size_t len = strlen(path);
    char *tmp = malloc(len + 32);
    if (!tmp)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    snprintf(tmp, len + 32, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        free(tmp);
        return pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(saved));
    }
    int rc = fmt->write(p, f, o, err);
    if (rc == 0 && (ferror(f) || fflush(f) != 0))
        rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == 0)
        rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}
