/* test_elf.c — checks src/target/elf.c against independent truth.
 *
 * The expected symbol values, segments and sections come from binutils (nm,
 * readelf) run on the same real files, not from hard-coded addresses, so the
 * test stays valid when the machine's interpreters are rebuilt. A file or
 * tool that is missing is reported as "skipped: ...", never silently passed.
 * Malformed inputs (truncated, zeroed, non-ELF, 32-bit, corrupted headers)
 * must give -1 and a message, never a crash: run under ASan/UBSan via
 * `make asan` to make that meaningful. */

#include "target/elf.h"

#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define PY311 "/usr/bin/python3.11"
/* pyenv's builds, under $PYENV_ROOT (the Makefile sets it from `pyenv root`). */
static char PY312[512], PY36[512], PY27[512];

static void pyenv_path(char *buf, size_t size, const char *rel) {
    const char *root = getenv("PYENV_ROOT");
    snprintf(buf, size, "%s/versions/%s", root && *root ? root : "(PYENV_ROOT unset)", rel);
}

static int present(const char *path) {
    if (access(path, R_OK) == 0)
        return 1;
    check_skip("%s not present", path);
    return 0;
}

/* The value and size nm reports for a defined symbol (from .dynsym when
 * dynamic, else .symtab). The first definition listed wins. */
static int nm_symbol(const char *path, int dynamic, const char *name, uint64_t *value, uint64_t *size) {
    char cmd[512], line[1024];
    snprintf(cmd, sizeof cmd, "nm -S --defined-only %s '%s' 2>/dev/null", dynamic ? "-D" : "", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, p)) {
        unsigned long long v, s;
        char type, sym[512];
        if (sscanf(line, "%llx %llx %c %511s", &v, &s, &type, sym) == 4 && strcmp(sym, name) == 0) {
            *value = v, *size = s, found = 0;
        } else if (sscanf(line, "%llx %c %511s", &v, &type, sym) == 3 && strcmp(sym, name) == 0) {
            *value = v, *size = 0, found = 0;
        }
    }
    pclose(p);
    return found;
}

/* Address and size of a section according to `readelf -SW`. */
static int readelf_section(const char *path, const char *name, uint64_t *addr, uint64_t *size) {
    char cmd[512], line[1024];
    snprintf(cmd, sizeof cmd, "readelf -SW '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, p)) {
        const char *rb = strchr(line, ']');
        char sname[256], stype[64];
        unsigned long long a, off, sz;
        if (rb && sscanf(rb + 1, "%255s %63s %llx %llx %llx", sname, stype, &a, &off, &sz) == 5 &&
            strcmp(sname, name) == 0)
            *addr = a, *size = sz, found = 0;
    }
    pclose(p);
    return found;
}

/* Checks elf_vaddr_for_offset against every PT_LOAD line of `readelf -lW`:
 * the segment's own offset, its page-rounded mapping offset, and its last
 * file byte. Returns how many segments were checked.
 * In a small file two segments can start in the same page (one's tail, the
 * next one's head, mapped twice at different addresses); a bare offset cannot
 * tell them apart, and elf.c answers for the first, so the test expects that. */
static int check_loads(const char *path, const elf_image *img) {
    char cmd[512], line[1024];
    unsigned long long seen_page[64], seen_va[64];
    snprintf(cmd, sizeof cmd, "readelf -lW '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    int n = 0;
    while (fgets(line, sizeof line, p) && n < 64) {
        unsigned long long off, va, pa, fsz, msz;
        if (sscanf(line, " LOAD %llx %llx %llx %llx %llx", &off, &va, &pa, &fsz, &msz) != 5 || fsz == 0)
            continue;
        uint64_t v = 0, page = off & ~0xfffull, page_va = va - (off - page);
        seen_page[n] = page, seen_va[n] = page_va;
        for (int i = 0; i < n; i++)
            if (seen_page[i] == page) {
                page_va = seen_va[i];
                break;
            }
        CHECK_EQ_INT(elf_vaddr_for_offset(img, off, &v), 0);
        CHECK_EQ_INT(v, va);
        CHECK_EQ_INT(elf_vaddr_for_offset(img, page, &v), 0);
        CHECK_EQ_INT(v, page_va);
        CHECK_EQ_INT(elf_vaddr_for_offset(img, off + fsz - 1, &v), 0);
        CHECK_EQ_INT(v, va + fsz - 1);
        n++;
    }
    pclose(p);
    return n;
}

static void check_symbol(const char *path, const elf_image *img, int dynamic, const char *name) {
    uint64_t want_v, want_s, v = 0, s = 0;
    if (nm_symbol(path, dynamic, name, &want_v, &want_s) < 0) {
        check_skip("nm%s does not list %s in %s", dynamic ? " -D" : "", name, path);
        return;
    }
    CHECK_EQ_INT(elf_symbol(img, name, &v, &s), 0);
    CHECK_EQ_INT(v, want_v);
    CHECK_EQ_INT(s, want_s);
}

static void check_sections(const char *path, const elf_image *img) {
    static const char *const names[] = {".text", ".rodata", ".data", ".bss", ".dynsym"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint64_t want_a, want_s, a = 0, s = 0;
        if (readelf_section(path, names[i], &want_a, &want_s) < 0) {
            CHECK_EQ_INT(elf_section(img, names[i], &a, &s), -1);
            continue;
        }
        CHECK_EQ_INT(elf_section(img, names[i], &a, &s), 0);
        CHECK_EQ_INT(a, want_a);
        CHECK_EQ_INT(s, want_s);
    }
    CHECK_EQ_INT(elf_section(img, ".no_such_section", NULL, NULL), -1);
    CHECK_EQ_INT(elf_section(img, "", NULL, NULL) == 0, 1); /* section 0 is named "" */
}

/* One real file: symbols (dynamic and static), soname, type, segments, sections. */
static void check_real(const char *path, int executable, const char *soname,
                       const char *const *dyn, const char *const *stat) {
    if (!present(path))
        return;
    elf_image *img = NULL;
    pf_error err = {0};
    CHECK_EQ_INT(elf_open(path, &img, &err), 0);
    if (!img) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return;
    }
    CHECK_EQ_INT(elf_is_executable(img), executable);
    if (soname)
        CHECK_EQ_STR(elf_soname(img), soname);
    else
        CHECK(elf_soname(img) == NULL);
    for (; dyn && *dyn; dyn++)
        check_symbol(path, img, 1, *dyn);
    for (; stat && *stat; stat++)
        check_symbol(path, img, 0, *stat);
    CHECK_EQ_INT(elf_symbol(img, "pyflare_no_such_symbol", NULL, NULL), -1);
    CHECK_EQ_INT(elf_symbol(img, "", NULL, NULL), -1);
    CHECK(check_loads(path, img) >= 2);
    uint64_t v;
    CHECK_EQ_INT(elf_vaddr_for_offset(img, UINT64_MAX - 5, &v), -1);
    check_sections(path, img);
    elf_close(img);
}

static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = buf ? (size_t)n : 0;
    return buf;
}

/* Opening bytes must fail with a message containing want, of the given kind. */
static void expect_error(const uint8_t *data, size_t size, const char *want, pf_error_kind kind, const char *what) {
    elf_image *img = (elf_image *)1;
    pf_error err = {0};
    int rc = elf_open_bytes(data, size, &img, &err);
    CHECK_EQ_INT(rc, -1);
    CHECK(img == NULL);
    CHECK_EQ_INT(err.kind, kind);
    if (!strstr(err.msg, want)) {
        check_failed++;
        fprintf(stderr, "%s: error \"%s\" lacks \"%s\"\n", what, err.msg, want);
    } else {
        check_passed++;
    }
    if (rc == 0)
        elf_close(img);
}

static void test_garbage(void) {
    uint8_t zeros[4096] = {0};
    expect_error(zeros, sizeof zeros, "not an ELF file", PF_ERR_CORRUPT, "zeros");
    const char *text = "#!/bin/sh\necho this is not an ELF file\n";
    expect_error((const uint8_t *)text, strlen(text), "not an ELF file", PF_ERR_CORRUPT, "text");
    expect_error(NULL, 0, "not an ELF file", PF_ERR_CORRUPT, "empty");

    uint8_t hdr[sizeof(Elf64_Ehdr)] = {0};
    memcpy(hdr, ELFMAG, SELFMAG);
    hdr[EI_CLASS] = ELFCLASS32;
    hdr[EI_DATA] = ELFDATA2LSB;
    hdr[EI_VERSION] = EV_CURRENT;
    expect_error(hdr, sizeof(Elf32_Ehdr), "not a 64-bit ELF file", PF_ERR_UNSUPPORTED, "32-bit");
    hdr[EI_CLASS] = ELFCLASS64;
    hdr[EI_DATA] = ELFDATA2MSB;
    expect_error(hdr, sizeof hdr, "not a little-endian ELF file", PF_ERR_UNSUPPORTED, "big-endian");
    hdr[EI_DATA] = ELFDATA2LSB;
    expect_error(hdr, 40, "truncated ELF header", PF_ERR_CORRUPT, "short header");
    Elf64_Ehdr eh;
    memcpy(&eh, hdr, sizeof eh);
    eh.e_machine = EM_AARCH64;
    eh.e_type = ET_DYN;
    memcpy(hdr, &eh, sizeof eh);
    expect_error(hdr, sizeof hdr, "not an x86-64 ELF file", PF_ERR_UNSUPPORTED, "aarch64");
    eh.e_machine = EM_X86_64;
    eh.e_type = ET_REL;
    memcpy(hdr, &eh, sizeof eh);
    expect_error(hdr, sizeof hdr, "not an executable or shared library", PF_ERR_UNSUPPORTED, "relocatable");

    /* A bare, valid header with no tables at all opens, and finds nothing. */
    eh.e_type = ET_DYN;
    memcpy(hdr, &eh, sizeof eh);
    elf_image *img = NULL;
    pf_error err = {0};
    CHECK_EQ_INT(elf_open_bytes(hdr, sizeof hdr, &img, &err), 0);
    if (img) {
        uint64_t v;
        CHECK_EQ_INT(elf_symbol(img, "x", &v, NULL), -1);
        CHECK(elf_soname(img) == NULL);
        CHECK_EQ_INT(elf_section(img, ".data", &v, NULL), -1);
        CHECK_EQ_INT(elf_vaddr_for_offset(img, 0, &v), -1);
        elf_close(img);
    }

    CHECK_EQ_INT(elf_open("/nonexistent/pyflare/elf", &img, &err), -1);
    CHECK(strstr(err.msg, "cannot open") != NULL);
    CHECK_EQ_INT(err.kind, PF_ERR_IO);
    CHECK_EQ_INT(elf_open("/", &img, &err), -1);
    CHECK(strstr(err.msg, "not a regular file") != NULL);
}

/* Writes size bytes to a fresh temporary file and returns its path. */
static int write_temp(const uint8_t *data, size_t size, char *path, size_t pathlen) {
    snprintf(path, pathlen, "/tmp/pyflare_test_elf_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    ssize_t w = size ? write(fd, data, size) : 0;
    close(fd);
    return w == (ssize_t)size ? 0 : -1;
}

/* A copy of a real file, cut short or with one header field corrupted. */
static void test_corrupted(const char *path) {
    if (!present(path))
        return;
    size_t size;
    uint8_t *orig = slurp(path, &size);
    CHECK(orig != NULL);
    if (!orig)
        return;
    Elf64_Ehdr eh;
    memcpy(&eh, orig, sizeof eh);

    /* Truncated copies, through elf_open on a real file on disk. Section
     * headers sit at the end of a linked file, so cutting anywhere past the
     * ELF header loses them. */
    size_t cuts[] = {0, 10, 40, 100, size / 2, size - 1};
    const char *want[] = {"not an ELF file", "not an ELF file", "truncated ELF header",
                          "truncated section headers", "truncated section headers",
                          "truncated section headers"};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char tmp[64];
        pf_error err = {0};
        elf_image *img = NULL;
        if (write_temp(orig, cuts[i], tmp, sizeof tmp) < 0) {
            check_skip("cannot write a temporary file");
            break;
        }
        CHECK_EQ_INT(elf_open(tmp, &img, &err), -1);
        if (!strstr(err.msg, want[i])) {
            check_failed++;
            fprintf(stderr, "cut at %zu: error \"%s\" lacks \"%s\"\n", cuts[i], err.msg, want[i]);
        } else {
            check_passed++;
        }
        elf_close(img);
        unlink(tmp);
    }
    expect_error(orig, 40, "truncated ELF header", PF_ERR_CORRUPT, "40 bytes");

    uint8_t *buf = malloc(size);
    Elf64_Ehdr e;
#define WITH_HEADER(mutation, msg)            \
    do {                                      \
        memcpy(buf, orig, size);              \
        e = eh;                               \
        mutation;                             \
        memcpy(buf, &e, sizeof e);            \
        expect_error(buf, size, msg, PF_ERR_CORRUPT, #mutation); \
    } while (0)
    WITH_HEADER(e.e_shnum = 0xfff0, "truncated section headers");
    WITH_HEADER(e.e_shoff = UINT64_MAX - 8, "truncated section headers");
    WITH_HEADER(e.e_shentsize = 32, "bad section header size");
    WITH_HEADER(e.e_phoff = size - 8, "truncated program headers");
    WITH_HEADER(e.e_phoff = UINT64_MAX - 8, "truncated program headers");
    WITH_HEADER(e.e_phoff = size - e.e_phnum * sizeof(Elf64_Phdr) + 1, "truncated program headers");
    WITH_HEADER(e.e_phentsize = 40, "bad program header size");
    WITH_HEADER(e.e_shstrndx = e.e_shnum, "bad section name table index");
#undef WITH_HEADER

    /* Corrupt the symbol tables' section headers one field at a time. */
    for (int field = 0; field < 4; field++) {
        static const char *const msg[] = {"bad symbol table string link", "symbol table linked to a non-string",
                                          "truncated symbol table", "bad symbol table entry size"};
        memcpy(buf, orig, size);
        int hit = 0;
        for (uint64_t i = 0; i < eh.e_shnum; i++) {
            Elf64_Shdr sh;
            uint8_t *at = buf + eh.e_shoff + i * sizeof sh;
            memcpy(&sh, at, sizeof sh);
            if (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB)
                continue;
            if (field == 0) sh.sh_link = eh.e_shnum + 3;
            if (field == 1) sh.sh_link = (uint32_t)i; /* linked to itself */
            if (field == 2) sh.sh_size = size;
            if (field == 3) sh.sh_entsize = 16;
            memcpy(at, &sh, sizeof sh);
            hit = 1;
        }
        CHECK(hit);
        expect_error(buf, size, msg[field], PF_ERR_CORRUPT, "symbol table header");
    }

    /* A string offset past the table's end, or an unterminated table: the
     * symbol is simply not found, and nothing is read out of bounds. */
    memcpy(buf, orig, size);
    elf_image *img = NULL;
    pf_error err = {0};
    for (uint64_t i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, buf + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type == SHT_STRTAB) { /* drop each string table's final NUL */
            sh.sh_size -= 1;
            memcpy(buf + eh.e_shoff + i * sizeof sh, &sh, sizeof sh);
        }
    }
    CHECK_EQ_INT(elf_open_bytes(buf, size, &img, &err), 0);
    if (img) {
        uint64_t v;
        CHECK_EQ_INT(elf_symbol(img, "pyflare_no_such_symbol", &v, NULL), -1);
        CHECK_EQ_INT(elf_section(img, ".no_such_section", &v, NULL), -1);
        elf_close(img);
    }
    free(buf);
    free(orig);
}

/* With the section headers gone, .dynsym and the soname must still be found
 * through PT_DYNAMIC (the symbol count coming from DT_GNU_HASH or DT_HASH);
 * .symtab and sections are lost. */
static void check_no_sections(const char *path, const char *const *dyn, const char *soname) {
    size_t size;
    uint8_t *buf = slurp(path, &size);
    CHECK(buf != NULL);
    if (!buf)
        return;
    Elf64_Ehdr eh;
    memcpy(&eh, buf, sizeof eh);
    eh.e_shoff = 0, eh.e_shnum = 0, eh.e_shstrndx = 0;
    memcpy(buf, &eh, sizeof eh);
    elf_image *img = NULL;
    pf_error err = {0};
    CHECK_EQ_INT(elf_open_bytes(buf, size, &img, &err), 0);
    if (!img) {
        fprintf(stderr, "%s without sections: %s\n", path, err.msg);
        free(buf);
        return;
    }
    for (; *dyn; dyn++)
        check_symbol(path, img, 1, *dyn);
    if (soname)
        CHECK_EQ_STR(elf_soname(img), soname);
    CHECK_EQ_INT(elf_section(img, ".data", NULL, NULL), -1);
    CHECK_EQ_INT(elf_symbol(img, "pyflare_no_such_symbol", NULL, NULL), -1);
    elf_close(img);
    free(buf);
}

/* DT_HASH is rare nowadays (every file here uses DT_GNU_HASH), so build a
 * tiny library with a SysV hash table to exercise that path. */
static void test_sysv_hash(void) {
    char dir[] = "/tmp/pyflare_test_elf_dir_XXXXXX";
    if (!mkdtemp(dir)) {
        check_skip("DT_HASH test (no temporary directory)");
        return;
    }
    char src[128], lib[128], cmd[512];
    snprintf(src, sizeof src, "%s/t.c", dir);
    snprintf(lib, sizeof lib, "%s/libt.so", dir);
    FILE *f = fopen(src, "w");
    if (f) {
        fputs("int pyflare_a = 1; long pyflare_b[7]; int pyflare_f(void) { return 3; }\n", f);
        fclose(f);
    }
    snprintf(cmd, sizeof cmd,
             "cc -shared -fPIC -Wl,--hash-style=sysv -Wl,-soname,libt.so.9 -o %s %s >/dev/null 2>&1", lib, src);
    if (!f || system(cmd) != 0) {
        check_skip("DT_HASH test (cannot build a shared library with cc)");
    } else {
        static const char *const syms[] = {"pyflare_a", "pyflare_b", "pyflare_f", NULL};
        check_real(lib, 0, "libt.so.9", syms, NULL);
        check_no_sections(lib, syms, "libt.so.9");
    }
    unlink(lib);
    unlink(src);
    rmdir(dir);
}

int main(void) {
    static const char *const py311_dyn[] = {"_PyRuntime", "Py_Version", NULL};
    static const char *const py312_dyn[] = {"_PyRuntime", "Py_Version", "PyEval_EvalFrameEx", NULL};
    static const char *const py27_dyn[] = {"_PyThreadState_Current", "PyEval_EvalFrameEx", NULL};
    static const char *const interp_head[] = {"interp_head", NULL};
    pyenv_path(PY312, sizeof PY312, "3.12.1/lib/libpython3.12.so.1.0");
    pyenv_path(PY36, sizeof PY36, "3.6.15/lib/libpython3.6m.so.1.0");
    pyenv_path(PY27, sizeof PY27, "2.7.18/lib/libpython2.7.so.1.0");

    check_real(PY311, 1, NULL, py311_dyn, NULL);
    check_real(PY312, 0, "libpython3.12.so.1.0", py312_dyn, NULL);
    check_real(PY27, 0, "libpython2.7.so.1.0", py27_dyn, interp_head);
    check_real(PY36, 0, "libpython3.6m.so.1.0", NULL, interp_head);
    check_real("/bin/true", 0, NULL, NULL, NULL);

    if (present(PY312))
        check_no_sections(PY312, py312_dyn, "libpython3.12.so.1.0");
    if (present(PY311))
        check_no_sections(PY311, py311_dyn, NULL);
    test_sysv_hash();

    test_garbage();
    test_corrupted(PY27);
    test_corrupted("/bin/true");
    return check_report("test_elf");
}
