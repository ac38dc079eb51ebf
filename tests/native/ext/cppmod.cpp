// cppmod.cpp — the C++ test extension for tests/native: a namespaced class
// template and a function template that call back into Python and spin, so
// `dump --native` must show their demangled names
// (pfns::Caller<int>::invoke(_object*), pfns::spin_tpl<long>(long)).
// Built like nativemod.c (-O1 -fno-omit-frame-pointer -g, noinline, no tail calls).
#include <Python.h>

#define KEEP __attribute__((noinline, used))

namespace pfns {
static volatile unsigned long sink;

template <typename T> KEEP T spin_tpl(T n) {
    unsigned long x = 3;
    while (n < 0 || n-- > 0) {
        x = x * 5 + 1;
        sink = x;
    }
    return (T)x;
}

template <typename T> struct Caller {
    KEEP static PyObject *invoke(PyObject *callable) {
        PyObject *r = PyObject_CallObject(callable, NULL);
        sink += sizeof(T);
        return r;
    }
};
}  // namespace pfns

extern "C" {
KEEP static PyObject *cpp_spin(PyObject *, PyObject *) {
    long r = pfns::spin_tpl<long>(-1);
    pfns::sink = (unsigned long)r;
    Py_RETURN_NONE;
}

KEEP static PyObject *cpp_call_back(PyObject *, PyObject *args) {
    PyObject *callable;
    if (!PyArg_ParseTuple(args, "O", &callable))
        return NULL;
    PyObject *r = pfns::Caller<int>::invoke(callable);
    pfns::sink++;
    return r;
}

static PyMethodDef methods[] = {
    {"spin", cpp_spin, METH_NOARGS, "spin for ever in pfns::spin_tpl<long>"},
    {"call_back", cpp_call_back, METH_VARARGS, "call f() through pfns::Caller<int>::invoke"},
    {NULL, NULL, 0, NULL},
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cppmod", NULL, -1, methods, NULL, NULL, NULL, NULL};
PyMODINIT_FUNC PyInit_cppmod(void) { return PyModule_Create(&module); }
#else
PyMODINIT_FUNC initcppmod(void) { Py_InitModule("cppmod", methods); }
#endif
}
