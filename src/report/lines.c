/* lines.c — per-line figures (see lines.h): one depth-first pass over the call
 * tree, counting how often each line and each file is open on the current
 * stack, so a stack adds to a line's (or file's) total only at its outermost
 * appearance. */
#include "report/lines.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/u64map.h"
#include "report/aggregate.h"

typedef struct acc {
    u64map line_ids, file_ids;
    rp_line *lines;      /* by dense id, file = dense file id */
    size_t nlines, cap;
    rp_file *files;
    size_t nfiles, fcap;
} acc;

/* Dense id of key in m, made by add() when new; U64MAP_NONE when out of memory. */
static uint32_t dense(u64map *m, uint64_t key, size_t next) {
    uint32_t v = u64map_get(m, key);
    if (v != U64MAP_NONE)
        return v;
    u64map_slot *s = u64map_slot_for(m, key);
    if (s) {
        s->key = key;
        s->value = (uint32_t)next;
        m->used++;
    } else if (u64map_put(m, key, (uint32_t)next) != 0)
        return U64MAP_NONE;
    return (uint32_t)next;
}

static uint32_t file_id(acc *a, pf_str_id name) {
    uint32_t id = dense(&a->file_ids, name, a->nfiles);
    if (id == U64MAP_NONE || id < a->nfiles)
        return id;
    if (PF_GROW(a->files, a->fcap, a->nfiles + 1, 64) != 0)
        return U64MAP_NONE;
    a->files[a->nfiles] = (rp_file){.name = name};
    return (uint32_t)a->nfiles++;
}

static uint32_t line_id(acc *a, uint32_t file, int32_t line, pf_frame_id frame) {
    uint32_t id = dense(&a->line_ids, (uint64_t)file << 32 | (uint32_t)line, a->nlines);
    if (id == U64MAP_NONE || id < a->nlines)
        return id;
    if (PF_GROW(a->lines, a->cap, a->nlines + 1, 256) != 0)
        return U64MAP_NONE;
    a->lines[a->nlines] = (rp_line){.file = file, .line = line, .frame = frame};
    return (uint32_t)a->nlines++;
}

static const rp_file *sort_files; /* qsort has no context argument */
static const pf_profile *sort_profile;

static int file_hotter(const void *x, const void *y) {
    const rp_file *a = &sort_files[*(const uint32_t *)x], *b = &sort_files[*(const uint32_t *)y];
    if (a->self != b->self)
        return a->self > b->self ? -1 : 1;
    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return strcmp(pf_str(sort_profile, a->name), pf_str(sort_profile, b->name));
}

static int line_order(const void *x, const void *y) {
    const rp_line *a = x, *b = y;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

int rp_lines_build(const pf_profile *p, rp_lines *l) {
    memset(l, 0, sizeof *l);
    size_t nn, nfr, nfn;
    const pf_node *nodes = pf_nodes(p, &nn);
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_func *funcs = pf_funcs(p, &nfn);
    acc a = {0};
    uint64_t *tot = out_node_totals(p);
    uint32_t *lid = malloc((nn ? nn : 1) * sizeof *lid);
    uint32_t *open_line = NULL, *open_file = NULL, *rank = NULL, *where = NULL;
    int rc = -1;
    if (!tot || !lid)
        goto out;
    /* Each node's line, and the dense ids. */
    for (size_t i = 0; i < nn; i++) {
        lid[i] = U64MAP_NONE;
        pf_frame_id fr = nodes[i].frame;
        if (i == PF_ROOT || fr >= nfr || frames[fr].line <= 0 || frames[fr].func >= nfn ||
            funcs[frames[fr].func].kind != PF_FUNC_PYTHON)
            continue;
        uint32_t f = file_id(&a, funcs[frames[fr].func].file);
        if (f == U64MAP_NONE || (lid[i] = line_id(&a, f, frames[fr].line, fr)) == U64MAP_NONE)
            goto out;
    }
    open_line = calloc(a.nlines + 1, sizeof *open_line);
    open_file = calloc(a.nfiles + 1, sizeof *open_file);
    if (!open_line || !open_file)
        goto out;
    /* Depth first, without recursion: enter a node, go down, else leave and climb. */
    pf_node_id n = nn ? nodes[PF_ROOT].first_child : 0;
    while (n) {
        uint32_t li = lid[n];
        if (li != U64MAP_NONE) {
            rp_line *ln = &a.lines[li];
            ln->self += nodes[n].self;
            if (!open_line[li]++)
                ln->total += tot[n];
            a.files[ln->file].self += nodes[n].self;
            if (!open_file[ln->file]++)
                a.files[ln->file].total += tot[n];
        }
        if (nodes[n].first_child) {
            n = nodes[n].first_child;
            continue;
        }
        for (;;) {
            if (lid[n] != U64MAP_NONE) {
                open_line[lid[n]]--;
                open_file[a.lines[lid[n]].file]--;
            }
            if (nodes[n].next_sibling) {
                n = nodes[n].next_sibling;
                break;
            }
            n = nodes[n].parent;
            if (n == PF_ROOT)
                break;
        }
    }
    /* Files hottest first; their lines by number. */
    rank = malloc((a.nfiles + 1) * sizeof *rank);
    where = malloc((a.nfiles + 1) * sizeof *where);
    if (!rank || !where)
        goto out;
    for (size_t i = 0; i < a.nfiles; i++)
        rank[i] = (uint32_t)i;
    sort_files = a.files, sort_profile = p;
    if (a.nfiles)
        qsort(rank, a.nfiles, sizeof *rank, file_hotter);
    for (size_t i = 0; i < a.nfiles; i++)
        where[rank[i]] = (uint32_t)i;
    size_t kept = 0;
    for (size_t i = 0; i < a.nlines; i++)
        if (a.lines[i].total || a.lines[i].self) {
            a.lines[kept] = a.lines[i];
            a.lines[kept++].file = where[a.lines[i].file];
        }
    if (kept) /* a profile without Python lines has no array at all */
        qsort(a.lines, kept, sizeof *a.lines, line_order);
    l->files = malloc((a.nfiles + 1) * sizeof *l->files);
    if (!l->files)
        goto out;
    for (size_t i = 0; i < a.nfiles; i++)
        l->files[i] = a.files[rank[i]];
    size_t nf = 0;
    for (size_t i = 0; i < kept; i++)
        l->files[a.lines[i].file].n++;
    for (size_t i = 0; i < a.nfiles; i++) {
        l->files[i].first = nf;
        nf += l->files[i].n;
    }
    /* files whose lines all weigh nothing sort last (no own, no total) and are dropped */
    while (a.nfiles && !l->files[a.nfiles - 1].n)
        a.nfiles--;
    l->nfiles = a.nfiles;
    l->lines = a.lines, a.lines = NULL;
    l->nlines = kept;
    l->grand_total = nn ? tot[PF_ROOT] : 0;
    rc = 0;
out:
    free(a.lines);
    free(a.files);
    u64map_free(&a.line_ids);
    u64map_free(&a.file_ids);
    free(tot);
    free(lid);
    free(open_line);
    free(open_file);
    free(rank);
    free(where);
    if (rc != 0)
        rp_lines_free(l);
    return rc;
}

static const rp_lines *sort_lines;

static int line_hotter(const void *x, const void *y) {
    const rp_line *a = &sort_lines->lines[*(const uint32_t *)x], *b = &sort_lines->lines[*(const uint32_t *)y];
    if (a->self != b->self)
        return a->self > b->self ? -1 : 1;
    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

long rp_lines_hottest(const rp_lines *l, uint32_t *out, size_t max) {
    uint32_t *all = malloc((l->nlines + 1) * sizeof *all);
    if (!all)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < l->nlines; i++)
        if (l->lines[i].self)
            all[n++] = (uint32_t)i;
    sort_lines = l;
    qsort(all, n, sizeof *all, line_hotter);
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof *all);
    free(all);
    return (long)n;
}

void rp_lines_free(rp_lines *l) {
    free(l->files);
    free(l->lines);
    memset(l, 0, sizeof *l);
}
