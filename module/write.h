/* write.h — what the module's two kinds of profile (the tracer's Profile and a
 * capture opened by pyflare.load) share: write(path, format=None, title=None),
 * tree(), a text object from C, and a pf_error raised as a Python exception. */
#ifndef PYFLARE_MODULE_WRITE_H
#define PYFLARE_MODULE_WRITE_H

#include <Python.h>

#include "base/error.h"
#include "output/writer.h"
#include "profile/profile.h"

/* One call of write(): its arguments, and the format they name. */
typedef struct write_call {
    const char *path;
    const char *title;          /* NULL: the profile's own */
    const out_format *fmt;
    PyObject *pathobj;          /* 3.x: the path encoded by the file system's codec */
} write_call;

/* Parses write()'s arguments and picks the format: named by format=, else told
 * from the path's extension. -1 with an exception set (write_call_done still owed). */
int write_call_parse(PyObject *args, PyObject *kw, write_call *w);
/* Writes p to the call's path with options o; None, or NULL with an exception. */
PyObject *write_call_run(const write_call *w, const pf_profile *p, const out_options *o);
void write_call_done(write_call *w);

/* tree(): [(node, parent, name, file, firstline, calls, self, total)],
 * parents before children; node 0 (the root) left out. */
PyObject *module_tree(const pf_profile *p);
/* A str (3.x; bytes on 2.7) from UTF-8, undecodable bytes replaced. */
PyObject *module_text(const char *s);
/* Raises err as IOError, MemoryError or ValueError; returns NULL. */
PyObject *module_raise(const pf_error *err);

#endif
