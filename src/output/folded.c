/* folded.c — folded stacks: one line per unique stack, root first, frames
 * joined by ';', a space, then the count. Read by flamegraph.pl, inferno,
 * speedscope and `pyflare flamegraph`.
 *
 * The format has no place for a frame's origin but its file name, and a name
 * shortened to its import root no longer says it (threading.py is standard
 * library only while it is .../lib/python3.12/threading.py). So a shortened
 * name keeps its root here, "lib/python3.12/threading.py" or
 * "site-packages/django/db/models/query.py": every reader still sees a path,
 * and profile/origin.c reads the origin back from it. */
#include "output/outbuf.h"
#include "output/writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "profile/origin.h"

/* out_frame_label, with the file's import root put back where the shortened
 * name lost it. snprintf-like. */
static int folded_label(const pf_profile *p, pf_frame_id frame, char *buf, size_t cap) {
    size_t n;
    const pf_frame *fr = &pf_frames(p, &n)[frame];
    const pf_func *fn = &pf_funcs(p, &n)[fr->func];
    const char *file = pf_str(p, fn->file);
    char root[64];
    if (fn->kind != PF_FUNC_PYTHON || !*file ||
        pf_origin_root_for(file, (pf_origin)fn->origin, pf_str(p, pf_profile_meta_const(p)->python), root,
                           sizeof root) <= 0)
        return out_frame_label(p, frame, buf, cap);
    if (fr->line > 0)
        return snprintf(buf, cap, "%s (%s%s:%d)", pf_str(p, fn->name), root, file, fr->line);
    return snprintf(buf, cap, "%s (%s%s)", pf_str(p, fn->name), root, file);
}

static int write_folded(const pf_profile *p, out_buf *out, const out_options *o, pf_error *err) {
    size_t n;
    const pf_node *nodes = pf_nodes(p, &n);
    pf_node_id *path = malloc((n ? n : 1) * sizeof *path);
    if (!path)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    /* Labels are never cut (a cut could split a UTF-8 character or merge two names): the buffer grows. */
    size_t cap = 8192;
    char *label = malloc(cap);
    if (!label) {
        free(path);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 1; i < n; i++) {
        if (!nodes[i].self)
            continue;
        size_t depth = 0;
        for (pf_node_id at = (pf_node_id)i; at != PF_ROOT; at = nodes[at].parent)
            path[depth++] = at;
        for (size_t k = depth; k-- > 0;) {
            int len = folded_label(p, nodes[path[k]].frame, label, cap);
            if (len >= 0 && (size_t)len >= cap) {
                char *bigger = malloc((size_t)len + 1);
                if (!bigger) {
                    free(label);
                    free(path);
                    return pf_fail(err, PF_ERR_NOMEM, "out of memory");
                }
                free(label);
                label = bigger;
                cap = (size_t)len + 1;
                folded_label(p, nodes[path[k]].frame, label, cap);
            }
            /* ';' separates frames and a newline ends the line: neither may appear inside one. */
            for (char *c = label; *c; c++)
                if (*c == ';' || *c == '\n' || *c == '\r')
                    *c = k ? ':' : ' ';
            out_buf_puts(out, label);
            if (k)
                out_buf_putc(out, ';');
        }
        out_buf_putc(out, ' ');
        out_buf_u64(out, nodes[i].self);
        out_buf_putc(out, '\n');
    }
    free(label);
    free(path);
    return 0;
}

int out_write_folded(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    return out_buf_write(p, f, o, "folded", write_folded, err);
}
