/* threadnames.c — threading._active[ident].name, read from outside (see threadnames.h). */
#include "cpython/threadnames.h"

#include "cpython/objects.h"

struct find_thread {
    uint64_t ident;
    uint64_t thread_obj;
};

static int match_ident(py_proc *p, uint64_t key, uint64_t value, void *arg) {
    struct find_thread *f = arg;
    int64_t ident;
    if (py_read_int(p, key, &ident, NULL) != 0 || (uint64_t)ident != f->ident)
        return 0;
    f->thread_obj = value;
    return 1;
}

int py_thread_name(py_proc *p, uint64_t interp, uint64_t thread_id, char *out, size_t cap, pf_error *err) {
    uint64_t active, name_obj;
    out[0] = 0;
    if (py_module_attr(p, interp, "threading", "_active", &active, err) != 0)
        return -1;
    if (!active)
        return 0; /* threading never imported: no names */
    struct find_thread f = {thread_id, 0};
    if (py_dict_each(p, active, match_ident, &f, err) != 0)
        return -1;
    if (!f.thread_obj)
        return 0;
    /* Python 2 mangles the private attribute name. */
    const char *attr = p->major == 2 ? "_Thread__name" : "_name";
    if (py_instance_attr(p, f.thread_obj, attr, &name_obj, err) != 0)
        return -1;
    if (!name_obj)
        return 0;
    if (py_read_text(p, name_obj, out, cap, err) != 0)
        return -1;
    return 1;
}
