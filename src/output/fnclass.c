/* fnclass.c — functions merged as a format shows them (see fnclass.h). */
#include "output/fnclass.h"

#include <stdlib.h>
#include <string.h>

int out_fn_classes_build(const pf_profile *p, out_fn_show show, int by_line, size_t extra, out_fn_classes *k) {
    size_t nfn;
    const pf_func *funcs = pf_funcs(p, &nfn);
    memset(k, 0, sizeof *k);
    k->of = calloc(nfn ? nfn : 1, sizeof *k->of);
    k->nshown = nfn + 1 + extra; /* class ids start at 1 */
    k->shown = calloc(k->nshown, sizeof *k->shown);
    if (!k->of || !k->shown)
        return -1;
    for (size_t i = 1; i < nfn; i++) {
        char *file = NULL, *name = NULL;
        int32_t line = 0;
        if (show(p, &funcs[i], &file, &name, &line)) {
            free(file);
            free(name);
            continue;
        }
        size_t flen = file ? strlen(file) : 0, nlen = name ? strlen(name) : 0, lsz = by_line ? sizeof line : 0;
        char *key = file && name ? malloc(flen + 1 + lsz + nlen + 1) : NULL;
        uint32_t c = 0;
        if (key) {
            /* "file\0[line]name": NUL cannot occur inside the strings, so the key is unambiguous. */
            memcpy(key, file, flen + 1);
            memcpy(key + flen + 1, &line, lsz);
            memcpy(key + flen + 1 + lsz, name, nlen);
            c = out_strmap_id(&k->map, key, flen + 1 + lsz + nlen);
        }
        free(key);
        if (!c) {
            free(file);
            free(name);
            return -1;
        }
        k->of[i] = c;
        if (!k->shown[c].name) {
            k->shown[c] = (out_fn_class){file, name, line};
        } else {
            free(file);
            free(name);
        }
    }
    return 0;
}

void out_fn_classes_free(out_fn_classes *k) {
    for (size_t i = 0; k->shown && i < k->nshown; i++) {
        free(k->shown[i].file);
        free(k->shown[i].name);
    }
    free(k->shown);
    free(k->of);
    out_strmap_free(&k->map);
    memset(k, 0, sizeof *k);
}
