/* objects.h — reading Python objects (str, int, dict, module) out of the target.
 *
 * Every object is untrusted: its type is checked by name before its fields are
 * believed, lengths are bounded, and a dict walk is bounded by its own size. */
#ifndef PYFLARE_CPYTHON_OBJECTS_H
#define PYFLARE_CPYTHON_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/proc.h"

enum py_type_kind {
    PY_TYPE_OTHER = 0, PY_TYPE_STR, PY_TYPE_BYTES, PY_TYPE_UNICODE27, PY_TYPE_INT,
    PY_TYPE_LONG, PY_TYPE_DICT, PY_TYPE_MODULE, PY_TYPE_CODE,
    PY_TYPE_COROUTINE, /* a coroutine, or a generator-based one (3.14+ asyncio reading) */
};

/* What kind of object lives at addr (by its type's tp_name, cached per type). */
int py_object_kind(py_proc *p, uint64_t addr, int *kind, pf_error *err);

/* A str (or, on 2.7, a str/unicode) as NUL-terminated UTF-8, at most cap-1 bytes. */
int py_read_text(py_proc *p, uint64_t addr, char *out, size_t cap, pf_error *err);

/* An int (2.7 int/long, 3.x int) that fits in 64 bits. */
int py_read_int(py_proc *p, uint64_t addr, int64_t *value, pf_error *err);

/* dict[key] for a str key; *value = 0 when absent. */
int py_dict_get(py_proc *p, uint64_t dict, const char *key, uint64_t *value, pf_error *err);

/* Calls fn for every (key, value) of a dict until fn returns non-zero. */
typedef int (*py_dict_visit)(py_proc *p, uint64_t key, uint64_t value, void *arg);
int py_dict_each(py_proc *p, uint64_t dict, py_dict_visit fn, void *arg, pf_error *err);

/* The attribute dict entry of an instance: instance.__dict__[name], wherever the
 * version keeps it (tp_dictoffset, managed dict, inline values). *value = 0 when absent. */
int py_instance_attr(py_proc *p, uint64_t obj, const char *name, uint64_t *value, pf_error *err);

/* sys.modules[name].__dict__[attr] (either may be absent: *value = 0). */
int py_module_attr(py_proc *p, uint64_t interp, const char *module, const char *attr,
                   uint64_t *value, pf_error *err);

#endif
