/* folded.c — folded stacks: one line per unique stack, root first, frames
 * joined by ';', a space, then the count. Read by flamegraph.pl, inferno,
 * speedscope and `pyflare flamegraph`. */
#include "output/outbuf.h"
#include "output/writer.h"

#include <inttypes.h>
#include <stdlib.h>

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
            int len = out_frame_label(p, nodes[path[k]].frame, label, cap);
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
                out_frame_label(p, nodes[path[k]].frame, label, cap);
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
