/* nativemod.c — a test extension for tests/native: known native functions
 * that call back into Python and spin, so `pyflare dump/record --native` can
 * be checked against a stack known by construction. Built by the suite with
 * -O1 -fno-omit-frame-pointer -g, every pf_ function noinline and none a tail
 * call (each does work after its call), so each keeps a frame of its own.
 * MODNAME (default nativemod) names the module: the suite builds a stripped
 * copy under another name. Python 2.7 and 3.6+. */
#include <Python.h>

#ifndef MODNAME
#define MODNAME nativemod
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

#define KEEP __attribute__((noinline, used))

static volatile unsigned long sink;
static volatile int stop_spinning;

/* Burns CPU for n rounds (n < 0: until stop() is called). */
KEEP static unsigned long pf_spin_leaf(long n) {
    unsigned long x = 1;
    for (long i = 0; n < 0 ? !stop_spinning : i < n; i++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        sink = x;
    }
    return x;
}

KEEP static unsigned long pf_spin_outer(long n) {
    unsigned long r = pf_spin_leaf(n);
    sink = r;
    return r + sink;
}

/* spin(n=-1): burns CPU in pf_spin_outer -> pf_spin_leaf, without the GIL
 * (as zlib or hashlib do), so several threads spin at once. */
KEEP static PyObject *nat_spin(PyObject *self, PyObject *args) {
    long n = -1;
    unsigned long r;
    if (!PyArg_ParseTuple(args, "|l", &n))
        return NULL;
    stop_spinning = 0;
    Py_BEGIN_ALLOW_THREADS
    r = pf_spin_outer(n);
    Py_END_ALLOW_THREADS
    sink = r;
    Py_RETURN_NONE;
}

/* burn(n): the split test's native work, in pf_burn_leaf. */
KEEP static unsigned long pf_burn_leaf(long n) {
    unsigned long x = 7;
    for (long i = 0; i < n; i++) {
        x = x * 2862933555777941757ul + 3037000493ul;
        sink = x;
    }
    return x;
}

KEEP static PyObject *nat_burn(PyObject *self, PyObject *args) {
    long n;
    if (!PyArg_ParseTuple(args, "l", &n))
        return NULL;
    unsigned long r = pf_burn_leaf(n);
    sink = r;
    Py_RETURN_NONE;
}

KEEP static PyObject *pf_call_middle(PyObject *callable) {
    PyObject *r = PyObject_CallObject(callable, NULL);
    sink++;
    return r;
}

/* call_back(f): calls f() from nat_call_back -> pf_call_middle. */
KEEP static PyObject *nat_call_back(PyObject *self, PyObject *args) {
    PyObject *callable;
    if (!PyArg_ParseTuple(args, "O", &callable))
        return NULL;
    PyObject *r = pf_call_middle(callable);
    sink++;
    return r;
}

#if defined(__x86_64__) && defined(__linux__)
#include <sys/mman.h>
/* pf_lost_spin(top): moves the stack pointer to top (a fresh mapping, all
 * zeros), clears the frame pointer and spins for ever. Written in assembler
 * without CFI, so no unwinder can go past it: tests/native's "lost" job sees
 * what pyflare shows for a native stack that cannot be unwound. */
void pf_lost_spin(void *top);
__asm__(".text\n"
        ".p2align 4\n"
        ".type pf_lost_spin, @function\n"
        "pf_lost_spin:\n"
        "    mov %rdi, %rsp\n"
        "    xor %ebp, %ebp\n"
        "1:  pause\n"
        "    jmp 1b\n"
        ".size pf_lost_spin, .-pf_lost_spin\n");

/* lost(): spins in pf_lost_spin on a stack of its own, without the GIL, until killed. */
KEEP static PyObject *nat_lost(PyObject *self, PyObject *args) {
    size_t len = 1 << 16;
    char *stack = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    pf_lost_spin(stack + len / 2);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}
#else
static PyObject *nat_lost(PyObject *self, PyObject *args) {
    PyErr_SetString(PyExc_NotImplementedError, "lost() is x86-64 Linux only");
    return NULL;
}
#endif

static PyObject *nat_stop(PyObject *self, PyObject *args) {
    stop_spinning = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"spin", nat_spin, METH_VARARGS, "burn CPU in pf_spin_outer -> pf_spin_leaf"},
    {"burn", nat_burn, METH_VARARGS, "burn n rounds in pf_burn_leaf"},
    {"call_back", nat_call_back, METH_VARARGS, "call f() through pf_call_middle"},
    {"stop", nat_stop, METH_NOARGS, "end spin() in every thread"},
    {"lost", nat_lost, METH_NOARGS, "spin for ever on a stack no unwinder can follow"},
    {NULL, NULL, 0, NULL},
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, STR(MODNAME), NULL, -1, methods, NULL, NULL, NULL, NULL};
PyMODINIT_FUNC CAT(PyInit_, MODNAME)(void) { return PyModule_Create(&module); }
#else
PyMODINIT_FUNC CAT(init, MODNAME)(void) { Py_InitModule(STR(MODNAME), methods); }
#endif
