/* load.c — pyflare._tracer._load(path): a capture (.pyflare) opened in
 * Python, as pyflare.load() returns it (pyflare.Capture).
 *
 * The file is read by the one capture reader (src/input/capture_read.c),
 * into the same profile model the command line rebuilds, so everything here
 * is what `record` or `trace` saw: write() makes the bytes `pyflare convert`
 * makes from the same file, stats() is the per-function figures the pstats
 * and text writers aggregate (report/aggregate.c, cProfile's recursion
 * rules), and samples() walks the time-ordered log. A truncated or corrupt
 * file raises ValueError with the reader's one line (it names the offset);
 * a file that cannot be read, OSError. Nothing here changes the profile, so
 * a Capture needs no lock on free-threaded builds. Compiled into the same
 * extension as tracer.c, which calls load_setup() from its module setup. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/capture_read.h"
#include "output/fnclass.h"
#include "output/writer.h"
#include "profile/profile.h"
#include "report/aggregate.h"
#include "write.h"

int load_setup(PyObject *m);

typedef struct Capture {
    PyObject_HEAD
    pf_profile *prof;
    in_capture_info info;
} Capture;

typedef struct SampleIter {
    PyObject_HEAD
    Capture *cap;
    size_t at;
} SampleIter;

static PyObject *str_of(const Capture *c, pf_str_id id) { return module_text(pf_str(c->prof, id)); }

static const char *const kind_names[] = {"python", "native", "thread", "process", "other"};
static const char *const origin_names[] = {"unknown", "own", "stdlib", "third-party"};

static PyObject *kind_obj(unsigned kind) { return module_text(kind <= PF_FUNC_OTHER ? kind_names[kind] : "other"); }
static PyObject *origin_obj(unsigned o) {
    return module_text(o <= PF_ORIGIN_THIRD_PARTY ? origin_names[o] : "unknown");
}

static void Capture_dealloc(Capture *self) {
    if (self->prof)
        pf_profile_free(self->prof);
    in_capture_info_free(&self->info);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* meta: what the recording was, as a dict made on each access. */
static PyObject *Capture_get_meta(Capture *self, void *closure) {
    const pf_meta *m = pf_profile_meta_const(self->prof);
    size_t ns;
    pf_samples(self->prof, &ns);
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    PyObject *title = self->info.title ? module_text(self->info.title) : (Py_INCREF(Py_None), Py_None);
    PyObject *subtitle = self->info.subtitle ? module_text(self->info.subtitle) : (Py_INCREF(Py_None), Py_None);
    PyObject *vals[] = {
        module_text(m->mode == PF_MODE_TRACED ? "traced" : "sampled"),
        PyFloat_FromDouble(m->rate_hz),
        PyLong_FromUnsignedLongLong(m->period_ns),
        module_text(m->weight_unit ? m->weight_unit : "samples"),
        PyBool_FromLong(m->cpu_weighted),
        PyLong_FromUnsignedLongLong(m->cpu_ns),
        str_of(self, m->command),
        str_of(self, m->python),
        PyLong_FromUnsignedLongLong(m->start_unix_ns),
        PyLong_FromUnsignedLongLong(m->duration_ns),
        PyLong_FromSize_t(ns),
        PyLong_FromUnsignedLongLong(pf_total_weight(self->prof)),
        PyLong_FromUnsignedLong(self->info.version),
        title,
        subtitle,
        PyBool_FromLong(self->info.has_sources),
    };
    static const char *const keys[] = {"mode", "rate_hz", "period_ns", "weight_unit", "cpu_weighted", "cpu_ns",
                                       "command", "python", "start_unix_ns", "duration_ns", "samples",
                                       "total_weight", "format_version", "title", "subtitle", "has_sources"};
    int ok = 1;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        if (!vals[i] || PyDict_SetItemString(d, keys[i], vals[i]) < 0)
            ok = 0;
        Py_XDECREF(vals[i]);
    }
    if (!ok)
        Py_CLEAR(d);
    return d;
}

/* threads(): [{index, process, thread_id, native_id, name}] by thread index. */
static PyObject *Capture_threads(Capture *self, PyObject *unused) {
    size_t n;
    const pf_thread *th = pf_threads(self->prof, &n);
    PyObject *out = PyList_New(0);
    for (size_t i = 0; out && i < n; i++) {
        PyObject *name = th[i].name ? str_of(self, th[i].name) : (Py_INCREF(Py_None), Py_None);
        PyObject *row = name ? Py_BuildValue("{s:n,s:I,s:K,s:L,s:O}", "index", (Py_ssize_t)i, "process",
                                             (unsigned)th[i].process, "thread_id",
                                             (unsigned long long)th[i].thread_id, "native_id",
                                             (long long)th[i].native_id, "name", name)
                             : NULL;
        if (!row || PyList_Append(out, row) < 0)
            Py_CLEAR(out);
        Py_XDECREF(row);
        Py_XDECREF(name);
    }
    return out;
}

/* processes(): [{pid, command}] by process index. */
static PyObject *Capture_processes(Capture *self, PyObject *unused) {
    size_t n;
    const pf_process *pr = pf_processes(self->prof, &n);
    PyObject *out = PyList_New(0);
    for (size_t i = 0; out && i < n; i++) {
        PyObject *cmd = str_of(self, pr[i].command);
        PyObject *row = cmd ? Py_BuildValue("{s:i,s:O}", "pid", (int)pr[i].pid, "command", cmd) : NULL;
        if (!row || PyList_Append(out, row) < 0)
            Py_CLEAR(out);
        Py_XDECREF(row);
        Py_XDECREF(cmd);
    }
    return out;
}

/* functions(): [(name, file, firstline, kind, origin)] by function id (id 0, none, is None). */
static PyObject *Capture_functions(Capture *self, PyObject *unused) {
    size_t n;
    const pf_func *fn = pf_funcs(self->prof, &n);
    PyObject *out = PyList_New(0);
    if (out && PyList_Append(out, Py_None) < 0)
        Py_CLEAR(out);
    for (size_t i = 1; out && i < n; i++) {
        PyObject *name = str_of(self, fn[i].name), *file = str_of(self, fn[i].file);
        PyObject *kind = kind_obj(fn[i].kind), *origin = origin_obj(fn[i].origin);
        PyObject *row = name && file && kind && origin
                            ? Py_BuildValue("(OOiOO)", name, file, (int)fn[i].firstline, kind, origin)
                            : NULL;
        if (!row || PyList_Append(out, row) < 0)
            Py_CLEAR(out);
        Py_XDECREF(row);
        Py_XDECREF(name);
        Py_XDECREF(file);
        Py_XDECREF(kind);
        Py_XDECREF(origin);
    }
    return out;
}

/* tree(): [(node, parent, name, file, firstline, calls, self, total)], parents
 * before children, the root (node 0) left out: Profile.tree()'s shape, in the
 * profile's weight unit (meta["weight_unit"]). */
static PyObject *Capture_tree(Capture *self, PyObject *unused) { return module_tree(self->prof); }

/* stack(node): [(function id, line)] from the outermost frame to node's own
 * (functions() names them); thread and process roots included. */
static PyObject *Capture_stack(Capture *self, PyObject *args) {
    unsigned long node;
    if (!PyArg_ParseTuple(args, "k:stack", &node))
        return NULL;
    size_t n, nf;
    const pf_node *nodes = pf_nodes(self->prof, &n);
    const pf_frame *frames = pf_frames(self->prof, &nf);
    if (node >= n) {
        PyErr_Format(PyExc_IndexError, "node %lu is out of range (%zu nodes)", node, n);
        return NULL;
    }
    size_t depth = 0;
    for (pf_node_id at = (pf_node_id)node; at != PF_ROOT; at = nodes[at].parent)
        depth++;
    PyObject *out = PyList_New((Py_ssize_t)depth);
    for (pf_node_id at = (pf_node_id)node; out && at != PF_ROOT; at = nodes[at].parent) {
        PyObject *row = Py_BuildValue("(Ii)", (unsigned)frames[nodes[at].frame].func, (int)frames[nodes[at].frame].line);
        if (!row)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, (Py_ssize_t)--depth, row);
    }
    return out;
}

/* stats(): {(file, firstline, name): {calls, primitive_calls, self, total,
 * self_ns, total_ns, builtin, kind, origin}}: per function (functions that
 * show the same key merged, as pstats merges them), thread and process roots
 * left out, recursion counted once (report/aggregate.c). self and total are
 * in the profile's unit; a function no node uses is left out; *_ns are nanoseconds (samples times the period when
 * sampled, None when the period is not known). Sampled: calls counts the
 * samples a function was on the stack in, as the pstats writer does. */
static int show_raw(const pf_profile *p, const pf_func *fn, char **file, char **name, int32_t *line) {
    if (fn->kind == PF_FUNC_THREAD || fn->kind == PF_FUNC_PROCESS)
        return 1;
    *file = strdup(pf_str(p, fn->file));
    *name = strdup(pf_str(p, fn->name));
    *line = fn->firstline;
    return 0;
}

static PyObject *ns_obj(const pf_meta *m, uint64_t w) {
    if (m->mode == PF_MODE_TRACED)
        return PyLong_FromUnsignedLongLong(w);
    if (!m->period_ns)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(w * m->period_ns);
}

static PyObject *Capture_stats(Capture *self, PyObject *unused) {
    const pf_meta *m = pf_profile_meta_const(self->prof);
    size_t nfn;
    const pf_func *funcs = pf_funcs(self->prof, &nfn);
    out_fn_classes fc;
    out_agg a;
    if (out_fn_classes_build(self->prof, show_raw, 1, 0, &fc) != 0) {
        out_fn_classes_free(&fc);
        return PyErr_NoMemory();
    }
    if (out_aggregate(self->prof, fc.of, fc.map.n + 1, 0, &a) != 0) {
        out_fn_classes_free(&fc);
        return PyErr_NoMemory();
    }
    /* A class's kind and origin: its first function's. */
    uint32_t *first = calloc(fc.map.n + 1, sizeof *first);
    PyObject *out = first ? PyDict_New() : PyErr_NoMemory();
    for (size_t f = 1; first && f < nfn; f++)
        if (fc.of[f] && !first[fc.of[f]])
            first[fc.of[f]] = (uint32_t)f;
    for (size_t k = 1; out && k <= fc.map.n; k++) {
        const out_agg_fn *s = &a.fns[k];
        const pf_func *fn = &funcs[first[k]];
        if (!s->calls && !s->self && !s->total && !s->called)
            continue; /* no node uses it (pstats leaves it out too) */
        PyObject *file = module_text(fc.shown[k].file ? fc.shown[k].file : "");
        PyObject *name = module_text(fc.shown[k].name ? fc.shown[k].name : "");
        PyObject *key = file && name ? Py_BuildValue("(OiO)", file, (int)fc.shown[k].line, name) : NULL;
        PyObject *self_ns = ns_obj(m, s->self), *total_ns = ns_obj(m, s->total);
        PyObject *kind = kind_obj(fn->kind), *origin = origin_obj(fn->origin);
        PyObject *val = key && self_ns && total_ns && kind && origin
                            ? Py_BuildValue("{s:K,s:K,s:K,s:K,s:O,s:O,s:O,s:O,s:O}", "calls",
                                            (unsigned long long)s->calls, "primitive_calls",
                                            (unsigned long long)s->prim_calls, "self", (unsigned long long)s->self,
                                            "total", (unsigned long long)s->total, "self_ns", self_ns, "total_ns",
                                            total_ns, "builtin", fn->kind == PF_FUNC_NATIVE ? Py_True : Py_False,
                                            "kind", kind, "origin", origin)
                            : NULL;
        if (!val || PyDict_SetItem(out, key, val) < 0)
            Py_CLEAR(out);
        Py_XDECREF(file);
        Py_XDECREF(name);
        Py_XDECREF(key);
        Py_XDECREF(self_ns);
        Py_XDECREF(total_ns);
        Py_XDECREF(kind);
        Py_XDECREF(origin);
        Py_XDECREF(val);
    }
    free(first);
    out_agg_free(&a);
    out_fn_classes_free(&fc);
    return out;
}

/* write(path, format=None, title=None): what `pyflare convert` writes from
 * this file (its title and subtitle, and the source text it keeps, unless
 * title is given). */
static PyObject *Capture_write(Capture *self, PyObject *args, PyObject *kw) {
    write_call w;
    PyObject *result = NULL;
    if (write_call_parse(args, kw, &w) == 0) {
        out_options o;
        memset(&o, 0, sizeof o);
        o.minwidth = 0.1; /* convert's defaults */
        o.top = 20;
        o.title = w.title ? w.title : self->info.title;
        o.subtitle = self->info.subtitle;
        if (self->info.has_sources) {
            o.read_source = in_capture_read_source;
            o.source_ctx = &self->info;
        }
        result = write_call_run(&w, self->prof, &o);
    }
    write_call_done(&w);
    return result;
}

/* ------------------------------------------------------- samples() */

static PyTypeObject SampleIterType;

/* samples(): an iterator of (time_ns, thread, node, weight) in time order:
 * time since the recording started, the thread's index in threads(), the
 * call-tree node (tree(), stack()), the weight it added to that node. */
static PyObject *Capture_samples(Capture *self, PyObject *unused) {
    SampleIter *it = PyObject_New(SampleIter, &SampleIterType);
    if (!it)
        return NULL;
    Py_INCREF(self);
    it->cap = self;
    it->at = 0;
    return (PyObject *)it;
}

static void SampleIter_dealloc(SampleIter *self) {
    Py_XDECREF(self->cap);
    PyObject_Del(self);
}

static PyObject *SampleIter_next(SampleIter *self) {
    size_t n;
    const pf_sample *s = pf_samples(self->cap->prof, &n);
    if (self->at >= n)
        return NULL; /* StopIteration */
    const pf_sample *x = &s[self->at++];
    return Py_BuildValue("(KIII)", (unsigned long long)x->time_ns, (unsigned)x->thread, (unsigned)x->node,
                         (unsigned)x->weight);
}

static PyTypeObject SampleIterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyflare._tracer.SampleIterator",
    .tp_basicsize = sizeof(SampleIter),
    .tp_dealloc = (destructor)SampleIter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)SampleIter_next,
};

/* ------------------------------------------------------- the type */

#define NOARGS_FN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef capture_methods[] = {
    {"write", NOARGS_FN(Capture_write), METH_VARARGS | METH_KEYWORDS,
     "write(path, format=None, title=None): write the capture in any of pyflare.formats(), as\n"
     "`pyflare convert` would (format is a name; without it, the file name's extension chooses)."},
    {"stats", NOARGS_FN(Capture_stats), METH_NOARGS,
     "{(file, firstline, name): {calls, primitive_calls, self, total, self_ns, total_ns, builtin, kind, origin}}"},
    {"tree", NOARGS_FN(Capture_tree), METH_NOARGS, "[(node, parent, name, file, firstline, calls, self, total)]"},
    {"stack", NOARGS_FN(Capture_stack), METH_VARARGS, "stack(node) -> [(function id, line)], outermost first"},
    {"samples", NOARGS_FN(Capture_samples), METH_NOARGS,
     "an iterator of (time_ns, thread index, node, weight), in time order"},
    {"threads", NOARGS_FN(Capture_threads), METH_NOARGS, "[{index, process, thread_id, native_id, name}]"},
    {"processes", NOARGS_FN(Capture_processes), METH_NOARGS, "[{pid, command}]"},
    {"functions", NOARGS_FN(Capture_functions), METH_NOARGS,
     "[(name, file, firstline, kind, origin)] by function id (0: None)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef capture_getset[] = {
    {"meta", (getter)Capture_get_meta, NULL, "what the recording was: mode, rate, command, version, start, ...",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CaptureType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyflare.Capture",
    .tp_basicsize = sizeof(Capture),
    .tp_dealloc = (destructor)Capture_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A pyflare capture (.pyflare) opened with pyflare.load(path).",
    .tp_methods = capture_methods,
    .tp_getset = capture_getset,
};

/* _load(path) -> Capture. */
static PyObject *load(PyObject *module, PyObject *args) {
    (void)module;
#if PY_MAJOR_VERSION >= 3
    PyObject *pathobj = NULL;
    if (!PyArg_ParseTuple(args, "O&:load", PyUnicode_FSConverter, &pathobj))
        return NULL;
    const char *path = PyBytes_AS_STRING(pathobj);
#else
    const char *path;
    if (!PyArg_ParseTuple(args, "s:load", &path))
        return NULL;
#endif
    Capture *c = NULL;
    pf_error err;
    memset(&err, 0, sizeof err);
    FILE *f = fopen(path, "rb");
    if (!f) {
        PyErr_SetFromErrnoWithFilename(PyExc_IOError, path);
        goto done;
    }
    c = PyObject_New(Capture, &CaptureType);
    if (!c) {
        fclose(f);
        goto done;
    }
    memset(&c->info, 0, sizeof c->info);
    c->prof = pf_profile_new();
    int rc = -1;
    if (!c->prof)
        pf_fail(&err, PF_ERR_NOMEM, "out of memory");
    else {
        Py_BEGIN_ALLOW_THREADS /* a long recording takes a while to rebuild */
        rc = in_read_capture(f, path, c->prof, &c->info, &err);
        Py_END_ALLOW_THREADS
    }
    fclose(f);
    if (rc != 0) {
        module_raise(&err);
        Py_CLEAR(c);
    }
done:
#if PY_MAJOR_VERSION >= 3
    Py_XDECREF(pathobj);
#endif
    return (PyObject *)c;
}

static PyMethodDef load_def = {"_load", load, METH_VARARGS, "_load(path) -> Capture: a .pyflare capture, read whole"};

int load_setup(PyObject *m) {
    if (PyType_Ready(&CaptureType) < 0 || PyType_Ready(&SampleIterType) < 0)
        return -1;
    Py_INCREF(&CaptureType);
    if (PyModule_AddObject(m, "Capture", (PyObject *)&CaptureType) < 0)
        return -1;
    PyObject *fn = PyCFunction_New(&load_def, NULL);
    if (!fn || PyModule_AddObject(m, "_load", fn) < 0) {
        Py_XDECREF(fn);
        return -1;
    }
    return 0;
}
