/* native.c — a stopped thread's native stack and its symbols (see native.h).
 *
 * libdwfl is given the process as we see it: one module per mapped file (from
 * target_maps, opened through /proc/PID/root, else by the path itself — a
 * target chroot'ed below our root — else by /proc/PID/map_files, which is
 * also the only way to a library deleted or replaced on disk since it was
 * loaded: the maps name it "PATH (deleted)", which no path opens), the vDSO
 * from the target's memory, and a "process state" whose memory reads go
 * through target_read and whose registers come from PTRACE_GETREGS. The one
 * thing to know: the registers can only be read from a thread we have stopped
 * (target_pause), and a module list goes stale as libraries are loaded, so a
 * frame outside every module asks for the list to be read again (at most every
 * 100 ms: JIT code lies outside every module for ever). */
#include "target/native.h"

#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include "base/u64map.h"

/* libstdc++'s demangler (the Itanium C++ ABI's), linked with -lstdc++. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define BLOCK 512      /* bytes of stack read at once */
#define NBLOCKS 8
#define REPORT_EVERY_MS 100 /* at most this often, the mappings read again for an unknown address */

struct target_native {
    target *target;
    Dwfl *dwfl;
    int attached;           /* dwfl_attach_state done */
    pid_t tid;              /* the thread being unwound */
    uint64_t *pcs, *sps;    /* its frames, as the walk finds them */
    size_t npcs, cap;
    int stale;              /* a frame lay outside every module: read the mappings again */
    struct timespec reported; /* when they were last read */
    uint8_t *vdso;          /* the vDSO's bytes, read from the target */
    size_t vdso_len;
    struct { uint64_t addr; int ok; uint8_t bytes[BLOCK]; } blocks[NBLOCKS]; /* this unwind's reads */
    size_t next_block;
    u64map syms;            /* pc -> index in sym */
    struct native_sym { uint64_t pc; target_native_sym pub; } *sym; /* every one looked up, strings owned */
    size_t nsym, sym_cap;
};

/* ---- modules ---- */

/* Opens the file a module names, as the target sees it. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base, char **file_name,
                    Elf **elfp) {
    target_native *n = *userdata;
    *elfp = NULL;
    if (!n)
        return -1;
    if (strcmp(name, "[vdso]") == 0) {
        if (!n->vdso)
            return -1;
        *elfp = elf_memory((char *)n->vdso, n->vdso_len);
        return -1;
    }
    char path[4096];
    target_path(n->target, name, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(path, sizeof path, "%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        const target_mapping *maps;
        size_t nmaps;
        if (target_maps(n->target, &maps, &nmaps, NULL) == 0)
            for (size_t i = 0; i < nmaps && fd < 0; i++)
                if (strcmp(maps[i].path, name) == 0) {
                    target_mapping_file(n->target, &maps[i], path, sizeof path);
                    fd = open(path, O_RDONLY | O_CLOEXEC);
                }
    }
    if (fd >= 0)
        *file_name = strdup(path);
    return fd;
}

/* A separate debug file, found by build ID under /usr/lib/debug, in the
 * target's root, then in ours. Only there: libdwfl's standard search would
 * also ask a debuginfod server over the network when DEBUGINFOD_URLS is set,
 * in the middle of a recording. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                          char **debuginfo_file_name) {
    target_native *n = *userdata;
    const unsigned char *id;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &id, &vaddr);
    if (!n || len < 2 || len > 64)
        return -1;
    char rel[200], path[4096];
    int at = snprintf(rel, sizeof rel, "/usr/lib/debug/.build-id/%02x/", id[0]);
    for (int i = 1; i < len; i++)
        at += snprintf(rel + at, sizeof rel - (size_t)at, "%02x", id[i]);
    snprintf(rel + at, sizeof rel - (size_t)at, ".debug");
    target_path(n->target, rel, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fd = open(snprintf(path, sizeof path, "%s", rel) > 0 ? path : rel, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        *debuginfo_file_name = strdup(path);
    return fd;
}

static char *no_debuginfo_path = NULL;
static const Dwfl_Callbacks callbacks = {
    .find_elf = find_elf,
    .find_debuginfo = find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &no_debuginfo_path,
};

static void read_vdso(target_native *n, const target_mapping *m) {
    size_t len = (size_t)(m->end - m->start);
    if (n->vdso || len > (1u << 20))
        return;
    uint8_t *bytes = malloc(len);
    if (bytes && target_read(n->target, m->start, bytes, len, NULL) == 0) {
        n->vdso = bytes;
        n->vdso_len = len;
    } else {
        free(bytes);
    }
}

/* Reports every mapped file (and the vDSO) as a module: its lowest to its
 * highest mapped address. */
static int report_modules(target_native *n, pf_error *err) {
    const target_mapping *maps;
    size_t nmaps;
    if (target_maps(n->target, &maps, &nmaps, err) != 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &n->reported);
    dwfl_report_begin(n->dwfl);
    for (size_t i = 0; i < nmaps;) {
        const char *name = maps[i].path;
        size_t j = i + 1;
        uint64_t low = maps[i].start, high = maps[i].end;
        int file = name[0] == '/';
        while (file && j < nmaps && strcmp(maps[j].path, name) == 0)
            high = maps[j++].end;
        if (strcmp(name, "[vdso]") == 0) {
            read_vdso(n, &maps[i]);
            file = n->vdso != NULL;
        }
        if (file) { /* "(deleted)" too: find_elf opens what is mapped, not what the path holds now */
            Dwfl_Module *mod = dwfl_report_module(n->dwfl, name, low, high);
            void **userdata;
            if (mod && dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
                *userdata = n;
        }
        i = j;
    }
    dwfl_report_end(n->dwfl, NULL, NULL);
    return 0;
}

/* ---- the process state libdwfl unwinds from ---- */

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp) {
    return 0; /* threads are asked for one by one (get_thread) */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp) {
    *thread_argp = arg;
    return true;
}

/* One word of the target's memory, through a few cached blocks: an unwind
 * reads the stack upwards, word after word. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg) {
    target_native *n = arg;
    uint64_t base = addr & ~(uint64_t)(BLOCK - 1);
    if (addr - base > BLOCK - 8)
        return target_read(n->target, addr, result, 8, NULL) == 0;
    for (size_t i = 0; i < NBLOCKS; i++)
        if (n->blocks[i].ok && n->blocks[i].addr == base) {
            memcpy(result, n->blocks[i].bytes + (addr - base), 8);
            return true;
        }
    size_t slot = n->next_block++ % NBLOCKS;
    n->blocks[slot].ok = target_read(n->target, base, n->blocks[slot].bytes, BLOCK, NULL) == 0;
    n->blocks[slot].addr = base;
    if (!n->blocks[slot].ok)
        return target_read(n->target, addr, result, 8, NULL) == 0;
    memcpy(result, n->blocks[slot].bytes + (addr - base), 8);
    return true;
}

/* x86-64's registers in DWARF's numbering: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip. */
static bool set_initial_registers(Dwfl_Thread *thread, void *arg) {
    target_native *n = arg;
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, n->tid, NULL, &r) != 0)
        return false;
    Dwarf_Word regs[17] = {r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8,
                           r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip};
    if (!dwfl_thread_state_registers(thread, 0, 17, regs))
        return false;
    dwfl_thread_state_register_pc(thread, r.rip);
    return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

/* ---- symbols ---- */

static int grow_syms(target_native *n) {
    size_t cap = n->sym_cap ? n->sym_cap * 2 : 256;
    struct native_sym *bigger = realloc(n->sym, cap * sizeof *bigger);
    if (!bigger)
        return -1;
    n->sym = bigger;
    n->sym_cap = cap;
    return 0;
}

/* Forgets the addresses that lay outside every module (their strings stay,
 * as callers may hold them), so the new module list is asked again. */
static void drop_unknown(target_native *n) {
    for (size_t i = 0; i < n->nsym; i++)
        if (!n->sym[i].pub.object[0])
            u64map_del(&n->syms, n->sym[i].pc);
}

static const char *basename_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the public part ---- */

int target_native_open(target *t, target_native **out, pf_error *err) {
    target_native *n = calloc(1, sizeof *n);
    if (!n)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    n->target = t;
    n->dwfl = dwfl_begin(&callbacks);
    if (!n->dwfl) {
        free(n);
        return pf_fail(err, PF_ERR_NOMEM, "cannot start libdwfl: %s", dwfl_errmsg(-1));
    }
    if (report_modules(n, err) != 0) {
        target_native_close(n);
        return -1;
    }
    *out = n;
    return 0;
}

void target_native_close(target_native *n) {
    if (!n)
        return;
    dwfl_end(n->dwfl);
    for (size_t i = 0; i < n->nsym; i++) {
        free((char *)n->sym[i].pub.function);
        free((char *)n->sym[i].pub.object);
    }
    free(n->sym);
    u64map_free(&n->syms);
    free(n->vdso);
    free(n);
}

static int frame_seen(Dwfl_Frame *state, void *arg) {
    target_native *n = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(state, &pc, &activation))
        return DWARF_CB_ABORT;
    if (!activation && pc)
        pc--; /* a return address: the call lies before it */
    Dwarf_Word sp = 0;
    if (n->sps)
        n->sps[n->npcs] = dwfl_frame_reg(state, 7, &sp) == 0 ? sp : 0; /* DWARF 7: rsp */
    n->pcs[n->npcs++] = pc;
    return n->npcs < n->cap ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int target_native_unwind(target_native *n, pid_t tid, uint64_t *pcs, uint64_t *sps, size_t cap, pf_error *err) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t since_ms = (int64_t)(now.tv_sec - n->reported.tv_sec) * 1000 + (now.tv_nsec - n->reported.tv_nsec) / 1000000;
    if (n->stale && since_ms >= REPORT_EVERY_MS) {
        n->stale = 0;
        if (report_modules(n, err) != 0)
            return -1;
        drop_unknown(n);
    }
    if (!n->attached) {
        if (!dwfl_attach_state(n->dwfl, NULL, target_pid(n->target), &thread_callbacks, n)) {
            return pf_fail(err, PF_ERR_UNSUPPORTED, "cannot unwind process %d: %s", (int)target_pid(n->target),
                           dwfl_errmsg(-1));
        }
        n->attached = 1;
    }
    for (size_t i = 0; i < NBLOCKS; i++)
        n->blocks[i].ok = 0;
    n->tid = tid;
    n->pcs = pcs;
    n->sps = sps;
    n->npcs = 0;
    n->cap = cap;
    if (cap)
        dwfl_getthread_frames(n->dwfl, tid, frame_seen, n); /* ends in an error at the outermost frame */
    if (n->npcs == 0) {
        return pf_fail(err, PF_ERR_READ, "cannot unwind thread %d (gone, or not stopped by us): %s", (int)tid,
                       dwfl_errmsg(-1));
    }
    return (int)n->npcs;
}

/* Keeps a looked-up symbol (its strings, owned here) under pc. */
static void remember(target_native *n, uint64_t pc, char *function, char *object, int named,
                     target_native_sym *out) {
    static const char unknown[] = "[unknown]";
    if (!function || !object || (n->nsym == n->sym_cap && grow_syms(n) != 0) ||
        u64map_set(&n->syms, pc, (uint32_t)n->nsym) != 0) {
        free(function);
        free(object);
        *out = (target_native_sym){unknown, "", 0};
        return;
    }
    n->sym[n->nsym] = (struct native_sym){pc, {function, object, named}};
    *out = n->sym[n->nsym++].pub;
}

void target_native_symbol(target_native *n, uint64_t pc, target_native_sym *out) {
    uint32_t id = u64map_get(&n->syms, pc);
    if (id != U64MAP_NONE) {
        *out = n->sym[id].pub;
        return;
    }
    char label[320];
    Dwfl_Module *mod = dwfl_addrmodule(n->dwfl, pc);
    if (!mod) {
        n->stale = 1; /* the next module list may know it (see drop_unknown) */
        snprintf(label, sizeof label, "0x%llx", (unsigned long long)pc);
        remember(n, pc, strdup(label), strdup(""), 0, out);
        return;
    }
    Dwarf_Addr start = 0;
    const char *path = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
    const char *object = path ? basename_of(path) : "";
    GElf_Off off;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
    char *function = NULL;
    if (name && name[0] == '_' && name[1] == 'Z') {
        int status = -1;
        function = __cxa_demangle(name, NULL, NULL, &status);
        if (status != 0) {
            free(function);
            function = NULL;
        }
    }
    if (!function && name) /* without a symbol version ("__libc_start_main@@GLIBC_2.34") */
        function = strndup(name, strcspn(name, "@"));
    if (!name) {
        snprintf(label, sizeof label, "%.280s+0x%llx", object, (unsigned long long)(pc - start));
        function = strdup(label);
    }
    remember(n, pc, function, strdup(object), name != NULL, out);
}
