/* threadnames.c — threading._active[ident].name, read from outside (see threadnames.h). */
#include "cpython/threadnames.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/u64map.h"
#include "cpython/objects.h"

#define MAX_BOOK_INTERPS 64

/* What one reading of one interpreter's threading._active found. */
typedef struct interp_reading {
    uint64_t interp;
    uint64_t sample;              /* the sample it was read in */
    u64map thread_of_ident;       /* ident -> index in objects */
    uint64_t *objects;            /* the Thread objects */
    size_t nobjects, cap;
} interp_reading;

struct py_name_book {
    py_proc *proc;
    uint64_t sample;              /* starts at 1: a reading from sample 0 is none */
    interp_reading readings[MAX_BOOK_INTERPS];
    size_t nreadings;
};

py_name_book *py_name_book_new(py_proc *p) {
    py_name_book *b = calloc(1, sizeof *b);
    if (b) {
        b->proc = p;
        b->sample = 1;
    }
    return b;
}

void py_name_book_free(py_name_book *b) {
    if (!b)
        return;
    for (size_t i = 0; i < b->nreadings; i++) {
        u64map_free(&b->readings[i].thread_of_ident);
        free(b->readings[i].objects);
    }
    free(b);
}

void py_name_book_new_sample(py_name_book *b) { b->sample++; }

static int note_thread(py_proc *p, uint64_t key, uint64_t value, void *arg) {
    interp_reading *r = arg;
    int64_t ident;
    if (py_read_int(p, key, &ident, NULL) != 0 || u64map_get(&r->thread_of_ident, (uint64_t)ident) != U64MAP_NONE)
        return 0;
    if (PF_GROW(r->objects, r->cap, r->nobjects + 1, 64) != 0)
        return 0;
    if (u64map_put(&r->thread_of_ident, (uint64_t)ident, (uint32_t)r->nobjects) != 0)
        return 0;
    r->objects[r->nobjects++] = value;
    return 0; /* visit every entry */
}

/* Reads interp's threading._active anew into r. */
static int read_active(py_name_book *b, interp_reading *r, pf_error *err) {
    u64map *m = &r->thread_of_ident;
    for (size_t i = 0; i < m->cap; i++)
        m->slots[i].value = U64MAP_NONE;
    m->used = 0;
    r->nobjects = 0;
    r->sample = b->sample;
    uint64_t active;
    if (py_module_attr(b->proc, r->interp, "threading", "_active", &active, err) != 0)
        return -1;
    if (!active)
        return 0; /* threading never imported: no names */
    return py_dict_each(b->proc, active, note_thread, r, err);
}

static interp_reading *reading_for(py_name_book *b, uint64_t interp) {
    for (size_t i = 0; i < b->nreadings; i++)
        if (b->readings[i].interp == interp)
            return &b->readings[i];
    if (b->nreadings == MAX_BOOK_INTERPS)
        return NULL;
    interp_reading *r = &b->readings[b->nreadings++];
    memset(r, 0, sizeof *r);
    r->interp = interp;
    return r;
}

static int still_has_ident(py_proc *p, uint64_t thread_obj, uint64_t thread_id) {
    uint64_t ident_obj;
    int64_t ident;
    const char *attr = p->major == 2 ? "_Thread__ident" : "_ident";
    return py_instance_attr(p, thread_obj, attr, &ident_obj, NULL) == 0 && ident_obj &&
           py_read_int(p, ident_obj, &ident, NULL) == 0 && (uint64_t)ident == thread_id;
}

int py_name_book_lookup(py_name_book *b, uint64_t interp, uint64_t thread_id, char *out, size_t cap,
                        pf_error *err) {
    out[0] = 0;
    interp_reading *r = reading_for(b, interp);
    if (!r)
        return 0;
    uint32_t at = u64map_get(&r->thread_of_ident, thread_id);
    /* An older reading may lack a new thread, or name an ended one whose ident
     * was reused: trust it only when that Thread object still has this ident. */
    if (at != U64MAP_NONE && r->sample != b->sample && !still_has_ident(b->proc, r->objects[at], thread_id))
        at = U64MAP_NONE;
    if (at == U64MAP_NONE && r->sample != b->sample) {
        if (read_active(b, r, err) != 0)
            return -1;
        at = u64map_get(&r->thread_of_ident, thread_id);
    }
    if (at == U64MAP_NONE)
        return 0;
    uint64_t name_obj;
    /* Python 2 mangles the private attribute name. */
    const char *attr = b->proc->major == 2 ? "_Thread__name" : "_name";
    if (py_instance_attr(b->proc, r->objects[at], attr, &name_obj, err) != 0)
        return -1;
    if (!name_obj)
        return 0;
    if (py_read_text(b->proc, name_obj, out, cap, err) != 0)
        return -1;
    return 1;
}
