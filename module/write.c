/* write.c — write(path, format=None, title=None) and the small conversions the
 * tracer's Profile (tracer.c) and a loaded capture (load.c) share (write.h). */
#include "write.h"

#include <string.h>

int write_call_parse(PyObject *args, PyObject *kw, write_call *w) {
    static char *kwlist[] = {"path", "format", "title", NULL};
    const char *format = NULL;
    memset(w, 0, sizeof *w);
#if PY_MAJOR_VERSION >= 3
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|zz:write", kwlist, PyUnicode_FSConverter, &w->pathobj, &format,
                                     &w->title))
        return -1;
    w->path = PyBytes_AS_STRING(w->pathobj);
#else
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zz:write", kwlist, &w->path, &format, &w->title))
        return -1;
#endif
    w->fmt = format ? out_format_named(format) : out_format_for_path(w->path);
    if (w->fmt)
        return 0;
    if (format)
        PyErr_Format(PyExc_ValueError, "unknown format '%s' (known: %s)", format, out_format_names());
    else
        PyErr_Format(PyExc_ValueError, "cannot tell the format from '%s': pass format= (one of: %s)", w->path,
                     out_format_names());
    return -1;
}

PyObject *write_call_run(const write_call *w, const pf_profile *p, const out_options *o) {
    pf_error err;
    memset(&err, 0, sizeof err);
    if (out_write_file(p, w->fmt, w->path, o, &err) < 0)
        return module_raise(&err);
    Py_RETURN_NONE;
}

void write_call_done(write_call *w) {
    Py_CLEAR(w->pathobj);
}

PyObject *module_text(const char *s) {
#if PY_MAJOR_VERSION >= 3
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
#else
    return PyString_FromString(s);
#endif
}

PyObject *module_raise(const pf_error *err) {
    PyErr_SetString(err->kind == PF_ERR_IO      ? PyExc_IOError
                    : err->kind == PF_ERR_NOMEM ? PyExc_MemoryError
                                                : PyExc_ValueError,
                    err->msg);
    return NULL;
}

PyObject *module_tree(const pf_profile *p) {
    size_t n, nf, nfn;
    const pf_node *nodes = pf_nodes(p, &n);
    const pf_frame *frames = pf_frames(p, &nf);
    const pf_func *funcs = pf_funcs(p, &nfn);
    PyObject *out = PyList_New(0);
    for (size_t i = 1; out && i < n; i++) {
        const pf_func *fn = &funcs[frames[nodes[i].frame].func];
        PyObject *name = module_text(pf_str(p, fn->name)), *file = module_text(pf_str(p, fn->file));
        PyObject *row = name && file ? Py_BuildValue("(IIOOiKKK)", (unsigned)i, (unsigned)nodes[i].parent, name,
                                                     file, (int)fn->firstline, (unsigned long long)nodes[i].calls,
                                                     (unsigned long long)nodes[i].self,
                                                     (unsigned long long)nodes[i].total)
                                     : NULL;
        if (!row || PyList_Append(out, row) < 0)
            Py_CLEAR(out);
        Py_XDECREF(name);
        Py_XDECREF(file);
        Py_XDECREF(row);
    }
    return out;
}
