/* proc.c — finding CPython in a target and learning its version and layout.
 *
 * The interpreter's entry points are ELF symbols: _PyRuntime (3.7+),
 * interp_head (2.7, 3.6; a local symbol, so only in unstripped libraries) and
 * Py_Version (3.11+). We look for them in the python binary or libpython
 * mapped into the target, reading the files through /proc/PID/root so that a
 * process in a container is read through its own filesystem.
 *
 * The version always comes from the target's memory: Py_Version where it
 * exists, else sys.version read through sys.modules — which needs a layout, so
 * each candidate layout is tried until one reads a version that agrees with it. */
#include "cpython/proc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/debug_offsets.h"
#include "cpython/objects.h"
#include "target/elf.h"

typedef struct found_symbols {
    uint64_t runtime, py_version, interp_head, tstate_current, gc_collecting;
    int has_python_api;
    char soname[256];
} found_symbols;

static int looks_like_python(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strstr(base, "python") != NULL;
}

/* The load bias of path in the target: where its first mapping begins minus
 * the address the ELF file asks that file offset to be loaded at. */
static int load_bias(const target_mapping *maps, size_t n, const char *path, const elf_image *img,
                     uint64_t *bias) {
    if (elf_is_executable(img)) {
        *bias = 0;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t vaddr;
        if (strcmp(maps[i].path, path) != 0)
            continue;
        if (elf_vaddr_for_offset(img, maps[i].offset, &vaddr) != 0)
            continue;
        *bias = maps[i].start - vaddr;
        return 0;
    }
    return -1;
}

/* Opens the ELF file behind maps[i]: by its path under the target's root,
 * else by the kernel's link to the mapping (a chroot'ed target's maps show
 * paths in pyflare's own view, which the first does not find). */
static int open_mapped_file(py_proc *p, const target_mapping *m, elf_image **img) {
    char real[4096 + 64];
    pf_error err; /* why a file is not CPython's is not reported */
    target_path(p->target, m->path, real, sizeof real);
    if (elf_open(real, img, &err) == 0)
        return 0;
    target_mapping_file(p->target, m, real, sizeof real);
    return elf_open(real, img, &err);
}

/* Looks for CPython's entry points in one mapped file: _PyRuntime by its own
 * section (3.13+ place it in ".PyRuntime", which survives stripping), else by
 * symbol. Returns 1 when the file is CPython. */
static int probe_file(py_proc *p, const target_mapping *maps, size_t n, size_t i, found_symbols *out) {
    elf_image *img;
    memset(out, 0, sizeof *out);
    if (open_mapped_file(p, &maps[i], &img) != 0)
        return 0;
    uint64_t v, size, bias;
    out->has_python_api = elf_symbol(img, "Py_GetVersion", &v, &size) == 0 && v;
    int found = 0;
    if (load_bias(maps, n, maps[i].path, img, &bias) == 0) {
        if (elf_section(img, ".PyRuntime", &v, &size) == 0 && v && size)
            out->runtime = v + bias, found = 1;
        else if (elf_symbol(img, "_PyRuntime", &v, &size) == 0 && v)
            out->runtime = v + bias, found = 1;
        if (elf_symbol(img, "interp_head", &v, &size) == 0 && v)
            out->interp_head = v + bias, found = 1;
        if (elf_symbol(img, "Py_Version", &v, &size) == 0 && v)
            out->py_version = v + bias;
        if (elf_symbol(img, "_PyThreadState_Current", &v, &size) == 0 && v)
            out->tstate_current = v + bias;
        /* gcmodule.c's `static int collecting` (2.7, 3.6): a local symbol of
         * that name and size, which the linker keeps only in unstripped files. */
        if (!out->runtime && elf_symbol(img, "collecting", &v, &size) == 0 && v && size == 4)
            out->gc_collecting = v + bias;
    }
    const char *soname = elf_soname(img);
    snprintf(out->soname, sizeof out->soname, "%s", soname ? soname : "");
    elf_close(img);
    return found || out->has_python_api;
}

/* Why a file that exports the CPython API cannot be read. Only a file without
 * Py_Version (3.11+) can be the stripped 2.7 or 3.6 pyflare needs symbols for. */
static int refuse_without_runtime(py_proc *p, const found_symbols *sym, pf_error *err) {
    int pid = (int)target_pid(p->target);
    uint32_t hex;
    if (sym->py_version && target_read(p->target, sym->py_version, &hex, sizeof hex, NULL) == 0)
        return pf_fail(err, PF_ERR_UNSUPPORTED,
                       "%s in process %d is CPython %d.%d but has neither a .PyRuntime section nor a "
                       "_PyRuntime symbol: pyflare cannot find its runtime state in this build",
                       p->binary, pid, (int)(hex >> 24) & 0xff, (int)(hex >> 16) & 0xff);
    return pf_fail(err, PF_ERR_UNSUPPORTED,
                   "%s in process %d has no .PyRuntime section and no _PyRuntime or interp_head "
                   "symbol: a stripped CPython 2.7 or 3.6 needs its unstripped libpython (its "
                   "debug symbols) for pyflare to find the interpreter", p->binary, pid);
}

/* Which mapped file holds the interpreter: libpython first, then anything named
 * python, then any other executable mapping (an embedding application). */
static int find_interpreter_file(py_proc *p, found_symbols *sym, pf_error *err) {
    const target_mapping *maps;
    size_t n;
    if (target_maps(p->target, &maps, &n, err) != 0)
        return -1;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < n; i++) {
            const char *path = maps[i].path;
            if (path[0] != '/' || maps[i].perms[2] != 'x')
                continue;
            int named_libpython = strstr(path, "libpython") != NULL;
            if ((pass == 0 && !named_libpython) || (pass == 1 && (named_libpython || !looks_like_python(path))) ||
                (pass == 2 && looks_like_python(path)))
                continue;
            if (!probe_file(p, maps, n, i, sym))
                continue;
            snprintf(p->binary, sizeof p->binary, "%s", path);
            if (sym->runtime || sym->interp_head)
                return 0;
            return refuse_without_runtime(p, sym, err);
        }
    }
    char cmd[256];
    target_cmdline(p->target, cmd, sizeof cmd);
    return pf_fail(err, PF_ERR_NOT_PYTHON,
                   "process %d (%s) is not a Python process: no python binary or libpython with "
                   "CPython symbols is mapped in it", (int)target_pid(p->target), cmd);
}

int py_proc_interp_head(py_proc *p, uint64_t *interp, pf_error *err) {
    if (p->runtime)
        return target_read(p->target, p->runtime + (uint64_t)p->layout.runtime.interpreters_head, interp,
                           sizeof *interp, err);
    return target_read(p->target, p->interp_head_var, interp, sizeof *interp, err);
}

/* Parses "3.8.18 (default, ...)" into p's version fields. */
static int parse_version_text(py_proc *p, const char *text) {
    int major, minor, micro, used = 0;
    if (sscanf(text, "%d.%d.%d%n", &major, &minor, &micro, &used) != 3)
        return -1;
    size_t len = (size_t)used;
    while (text[len] && !isspace((unsigned char)text[len]) && len + 1 < sizeof p->version)
        len++;
    if (len >= sizeof p->version)
        return -1;
    memcpy(p->version, text, len);
    p->version[len] = 0;
    p->major = major, p->minor = minor, p->micro = micro;
    return 0;
}

static void format_version_hex(py_proc *p, uint32_t hex) {
    static const char levels[16] = {[0xA] = 'a', [0xB] = 'b', [0xC] = 'c'};
    p->major = (int)(hex >> 24) & 0xff;
    p->minor = (int)(hex >> 16) & 0xff;
    p->micro = (int)(hex >> 8) & 0xff;
    int level = (int)(hex >> 4) & 0xf, serial = (int)hex & 0xf;
    if (level == 0xF || !levels[level])
        snprintf(p->version, sizeof p->version, "%d.%d.%d", p->major, p->minor, p->micro);
    else
        snprintf(p->version, sizeof p->version, "%d.%d.%d%s%d", p->major, p->minor, p->micro,
                 level == 0xC ? "rc" : level == 0xA ? "a" : "b", serial);
}

/* Tries one generated layout before 3.11: does sys.version agree with it? */
static int try_layout(py_proc *p, const py_layout *layout) {
    p->layout = *layout;
    memset(p->types, 0, sizeof p->types); /* kinds learned under another layout */
    uint64_t interp, version_obj;
    char text[128];
    if (py_proc_interp_head(p, &interp, NULL) != 0 || !interp)
        return -1;
    if (py_module_attr(p, interp, "sys", "version", &version_obj, NULL) != 0 || !version_obj)
        return -1;
    if (py_read_text(p, version_obj, text, sizeof text, NULL) != 0 || parse_version_text(p, text) != 0)
        return -1;
    uint32_t hex = layout->version_hex;
    return (p->major == (int)(hex >> 24) && p->minor == (int)((hex >> 16) & 0xff)) ? 0 : -1;
}

/* "libpython3.8.so.1.0" or "libpython3.6m.so" -> 3, 8 */
static int version_from_soname(const char *soname, int *major, int *minor) {
    const char *s = strstr(soname, "libpython");
    return s && sscanf(s, "libpython%d.%d", major, minor) == 2 ? 0 : -1;
}

static int detect_version_from_memory(py_proc *p, const found_symbols *sym, pf_error *err) {
    int major, minor;
    if (version_from_soname(sym->soname, &major, &minor) == 0) {
        const py_layout *layout = py_layout_for(major, minor, 0);
        if (!layout)
            return pf_fail(err, PF_ERR_UNSUPPORTED,
                           "CPython %d.%d is not supported: pyflare reads 2.7 and 3.6 or later", major, minor);
        if (try_layout(p, layout) == 0)
            return 0;
        return pf_fail(err, PF_ERR_READ,
                       "found %s in process %d but could not read sys.version through it (the interpreter "
                       "is not initialised yet, or is shutting down); try again",
                       sym->soname, (int)target_pid(p->target));
    }
    /* A static interpreter without Py_Version: only a layout that reads a
     * version agreeing with itself is believed. */
    for (size_t i = 0; i < py_layouts_count; i++) {
        const py_layout *layout = &py_layouts[i];
        int has_runtime = layout->runtime.interpreters_head != PY_NO_FIELD;
        if (has_runtime != (sym->runtime != 0) || layout->version_hex >= 0x030B0000)
            continue;
        if (try_layout(p, layout) == 0)
            return 0;
    }
    return pf_fail(err, PF_ERR_UNSUPPORTED,
                   "cannot tell which CPython version %s in process %d is: no layout pyflare knows "
                   "reads a matching sys.version", p->binary, (int)target_pid(p->target));
}

static int choose_layout(py_proc *p, const found_symbols *sym, pf_error *err) {
    if (!sym->py_version)
        return detect_version_from_memory(p, sym, err);
    uint32_t hex;
    if (target_read(p->target, sym->py_version, &hex, sizeof hex, err) != 0)
        return -1;
    format_version_hex(p, hex);
    if (p->major != 3 || p->minor < 11)
        return pf_fail(err, PF_ERR_CORRUPT, "implausible Py_Version 0x%08x", hex);
    const py_layout *table = py_layout_for(p->major, p->minor, 0);
    if (p->minor < 13) {
        if (!table)
            return pf_fail(err, PF_ERR_UNSUPPORTED, "CPython %s is not supported", p->version);
        p->layout = *table;
        return 0;
    }
    uint8_t bytes[PY_DEBUG_OFFSETS_MAX_BYTES];
    if (target_read(p->target, p->runtime, bytes, sizeof bytes, err) != 0)
        return -1;
    /* The fields the debug offsets lack come from the nearest generated table
     * of the same build: a free-threaded interpreter (the header's third word)
     * needs its own, as its object header moves every object field. */
    uint64_t free_threaded;
    memcpy(&free_threaded, bytes + 16, sizeof free_threaded);
    if (free_threaded) {
        table = py_layout_for(p->major, p->minor, 1);
        if (!table)
            return pf_fail(err, PF_ERR_UNSUPPORTED,
                           "CPython %d.%d is a free-threaded build, which pyflare reads for 3.13 only "
                           "(%d.%dt's per-thread bytecode and object layout are not known to it); "
                           "profile a build with the GIL instead", p->major, p->minor, p->major, p->minor);
    }
    const py_layout *base = table ? table : &py_layouts[py_layouts_count - 1];
    if (py_layout_from_debug_offsets(bytes, sizeof bytes, base, &p->layout, err) != 0)
        return -1;
    p->debug_offsets_version = p->major * 100 + p->minor;
    return 0;
}

int py_proc_open(target *t, py_proc **out, pf_error *err) {
    py_proc *p = calloc(1, sizeof *p);
    if (!p)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    p->target = t;
    found_symbols sym = {0};
    if (find_interpreter_file(p, &sym, err) != 0) {
        free(p);
        return -1;
    }
    p->runtime = sym.runtime;
    if (!p->runtime) {
        p->interp_head_var = sym.interp_head;
        p->tstate_current_var = sym.tstate_current;
        p->gc_collecting_var = sym.gc_collecting;
    }
    if (choose_layout(p, &sym, err) != 0) {
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

void py_proc_close(py_proc *p) { free(p); }
