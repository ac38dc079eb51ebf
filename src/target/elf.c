/* elf.c — reads the symbols, segments and sections of an ELF64 x86-64 file
 * (the target's executable or a shared library it maps), so the profiler can
 * find interpreter globals such as _PyRuntime, without a libelf dependency.
 *
 * The file is untrusted: it may be truncated, corrupted or hostile. So:
 *  - every read goes through a bounds check against the file size, written so
 *    that no addition or multiplication can wrap;
 *  - structures are copied out with memcpy, because offsets inside a file need
 *    not be aligned and a cast pointer could fault (or trip UBSan);
 *  - everything the accessors rely on (header tables, symbol tables and their
 *    string tables, the soname) is validated once in elf_open_bytes, so that
 *    the accessors only ever index into ranges already known to be inside the
 *    file.
 * Validation messages do not name the file: the caller knows which it opened. */

#include "target/elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fields are read with native loads after memcpy, which is only right on a
 * little-endian host (x86-64, the only target we support). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "elf.c assumes a little-endian host"
#endif

/* The x86-64 page size: the loader maps each PT_LOAD from its offset rounded
 * down to a page, so /proc/PID/maps shows page-aligned offsets. */
#define ELF_PAGE 4096u

/* A symbol table and its string table, both already checked to lie within
 * the file. count == 0 means absent. */
typedef struct {
    uint64_t off;
    uint64_t count;
    uint64_t stroff;
    uint64_t strsize;
} elf_symtab;

struct elf_image {
    const uint8_t *data;
    size_t size;
    size_t map_len;            /* nonzero when data is our own mmap */
    uint16_t type;
    uint64_t phoff, phnum;     /* program headers, within the file */
    uint64_t shoff, shnum;     /* section headers, within the file */
    uint64_t shstroff, shstrsize; /* section name table; size 0 if none */
    elf_symtab dynsym, symtab;
    const char *soname;        /* points into data, NUL-terminated there */
};

/* [off, off+len) lies within the file; written so it cannot overflow. */
static int in_file(const elf_image *img, uint64_t off, uint64_t len) {
    return off <= img->size && len <= img->size - off;
}

/* n * sz without wrapping; -1 if it would. */
static int mul_ok(uint64_t n, uint64_t sz, uint64_t *out) {
    if (sz && n > UINT64_MAX / sz)
        return -1;
    *out = n * sz;
    return 0;
}

/* Copies len bytes at off; -1 (and nothing copied) if out of the file. */
static int read_at(const elf_image *img, uint64_t off, void *dst, size_t len) {
    if (!in_file(img, off, len))
        return -1;
    memcpy(dst, img->data + off, len);
    return 0;
}

/* Header tables were range-checked at open, so these reads cannot fail. */
static void get_phdr(const elf_image *img, uint64_t i, Elf64_Phdr *ph) {
    memcpy(ph, img->data + img->phoff + i * sizeof *ph, sizeof *ph);
}

static void get_shdr(const elf_image *img, uint64_t i, Elf64_Shdr *sh) {
    memcpy(sh, img->data + img->shoff + i * sizeof *sh, sizeof *sh);
}

/* Maps a virtual address (as found in the dynamic section) to its file offset
 * through the PT_LOAD that holds it in its file-backed part. *avail is how
 * many bytes from there on belong to both that segment and the file, so a
 * table found this way can be bounded even without a size of its own. */
static int vaddr_to_off(const elf_image *img, uint64_t vaddr, uint64_t *off, uint64_t *avail) {
    for (uint64_t i = 0; i < img->phnum; i++) {
        Elf64_Phdr ph;
        get_phdr(img, i, &ph);
        if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr)
            continue;
        uint64_t delta = vaddr - ph.p_vaddr;
        if (delta >= ph.p_filesz || ph.p_offset > img->size || delta >= img->size - ph.p_offset)
            continue;
        *off = ph.p_offset + delta;
        uint64_t in_seg = ph.p_filesz - delta, in_f = img->size - *off;
        *avail = in_seg < in_f ? in_seg : in_f;
        return 0;
    }
    return -1;
}

/* Validates a SHT_SYMTAB/SHT_DYNSYM section and its linked string table. */
static int load_symtab(elf_image *img, const Elf64_Shdr *sh, elf_symtab *t, pf_error *err) {
    if (sh->sh_entsize != sizeof(Elf64_Sym))
        return pf_fail(err, PF_ERR_CORRUPT, "bad symbol table entry size %llu", (unsigned long long)sh->sh_entsize);
    if (!in_file(img, sh->sh_offset, sh->sh_size))
        return pf_fail(err, PF_ERR_CORRUPT, "truncated symbol table");
    if (sh->sh_link == SHN_UNDEF || sh->sh_link >= img->shnum)
        return pf_fail(err, PF_ERR_CORRUPT, "bad symbol table string link %u", (unsigned)sh->sh_link);
    Elf64_Shdr str;
    get_shdr(img, sh->sh_link, &str);
    if (str.sh_type != SHT_STRTAB)
        return pf_fail(err, PF_ERR_CORRUPT, "symbol table linked to a non-string section");
    if (!in_file(img, str.sh_offset, str.sh_size))
        return pf_fail(err, PF_ERR_CORRUPT, "truncated string table");
    t->off = sh->sh_offset;
    t->count = sh->sh_size / sizeof(Elf64_Sym);
    t->stroff = str.sh_offset;
    t->strsize = str.sh_size;
    return 0;
}

/* Number of .dynsym entries from a DT_GNU_HASH table: one past the highest
 * symbol reachable from a bucket, found by walking that bucket's chain to its
 * end marker (low bit set). All reads stay within *avail of the table. */
static int gnu_hash_count(const elf_image *img, uint64_t vaddr, uint64_t *count) {
    uint64_t off, avail;
    uint32_t hdr[4];
    if (vaddr_to_off(img, vaddr, &off, &avail) < 0 || avail < sizeof hdr)
        return -1;
    memcpy(hdr, img->data + off, sizeof hdr);
    uint64_t nbuckets = hdr[0], symoffset = hdr[1], bloom_words = hdr[2];
    /* Each term is below 2^36, so these sums cannot wrap. */
    uint64_t buckets_at = sizeof hdr + bloom_words * 8;
    uint64_t chains_at = buckets_at + nbuckets * 4;
    if (chains_at > avail)
        return -1;
    uint64_t max = 0;
    for (uint64_t b = 0; b < nbuckets; b++) {
        uint32_t v;
        memcpy(&v, img->data + off + buckets_at + b * 4, sizeof v);
        if (v > max)
            max = v;
    }
    if (max == 0) { /* every bucket empty: only the unhashed symbols exist */
        *count = symoffset;
        return 0;
    }
    if (max < symoffset)
        return -1;
    for (uint64_t idx = max;; idx++) {
        uint64_t pos = chains_at + (idx - symoffset) * 4;
        if (pos > avail || avail - pos < 4)
            return -1;
        uint32_t h;
        memcpy(&h, img->data + off + pos, sizeof h);
        if (h & 1) {
            *count = idx + 1;
            return 0;
        }
    }
}

/* Reads PT_DYNAMIC for the soname and, when there is no .dynsym section (the
 * section headers were stripped or are absent), for the dynamic symbol table,
 * whose size the ELF format records only indirectly, through the hash table. */
static int parse_dynamic(elf_image *img, const Elf64_Phdr *dyn, int have_dynsym_section,
                         pf_error *err) {
    if (!in_file(img, dyn->p_offset, dyn->p_filesz))
        return pf_fail(err, PF_ERR_CORRUPT, "truncated dynamic segment");
    uint64_t strtab = 0, strsz = 0, soname = 0, symtab = 0, syment = 0, hash = 0, gnu_hash = 0;
    int has_strtab = 0, has_strsz = 0, has_soname = 0, has_symtab = 0, has_syment = 0,
        has_hash = 0, has_gnu_hash = 0;
    uint64_t n = dyn->p_filesz / sizeof(Elf64_Dyn);
    for (uint64_t i = 0; i < n; i++) {
        Elf64_Dyn d;
        memcpy(&d, img->data + dyn->p_offset + i * sizeof d, sizeof d);
        if (d.d_tag == DT_NULL)
            break;
        /* First occurrence wins, so a later duplicate cannot override. */
        switch (d.d_tag) {
        case DT_STRTAB:   if (!has_strtab)   { strtab = d.d_un.d_ptr;   has_strtab = 1; }   break;
        case DT_STRSZ:    if (!has_strsz)    { strsz = d.d_un.d_val;    has_strsz = 1; }    break;
        case DT_SONAME:   if (!has_soname)   { soname = d.d_un.d_val;   has_soname = 1; }   break;
        case DT_SYMTAB:   if (!has_symtab)   { symtab = d.d_un.d_ptr;   has_symtab = 1; }   break;
        case DT_SYMENT:   if (!has_syment)   { syment = d.d_un.d_val;   has_syment = 1; }   break;
        case DT_HASH:     if (!has_hash)     { hash = d.d_un.d_ptr;     has_hash = 1; }     break;
        case DT_GNU_HASH: if (!has_gnu_hash) { gnu_hash = d.d_un.d_ptr; has_gnu_hash = 1; } break;
        default: break;
        }
    }

    uint64_t stroff = 0, stravail = 0;
    if (has_strtab) {
        if (vaddr_to_off(img, strtab, &stroff, &stravail) < 0)
            return pf_fail(err, PF_ERR_CORRUPT, "bad DT_STRTAB");
        if (has_strsz && strsz < stravail)
            stravail = strsz;
    }

    if (has_soname) {
        if (!has_strtab)
            return pf_fail(err, PF_ERR_CORRUPT, "DT_SONAME without DT_STRTAB");
        if (soname >= stravail || !memchr(img->data + stroff + soname, 0, stravail - soname))
            return pf_fail(err, PF_ERR_CORRUPT, "bad DT_SONAME");
        img->soname = (const char *)img->data + stroff + soname;
    }

    if (have_dynsym_section || !has_symtab || !has_strtab)
        return 0;
    if (has_syment && syment != sizeof(Elf64_Sym))
        return pf_fail(err, PF_ERR_CORRUPT, "bad DT_SYMENT %llu", (unsigned long long)syment);
    uint64_t count;
    if (has_hash) {
        uint64_t off, avail;
        uint32_t words[2]; /* nbucket, nchain: nchain is the symbol count */
        if (vaddr_to_off(img, hash, &off, &avail) < 0 || avail < sizeof words)
            return pf_fail(err, PF_ERR_CORRUPT, "bad DT_HASH");
        memcpy(words, img->data + off, sizeof words);
        count = words[1];
    } else if (has_gnu_hash) {
        if (gnu_hash_count(img, gnu_hash, &count) < 0)
            return pf_fail(err, PF_ERR_CORRUPT, "bad DT_GNU_HASH");
    } else {
        return 0; /* no way to tell the table's length: leave it unused */
    }
    uint64_t symoff, symavail, bytes;
    if (vaddr_to_off(img, symtab, &symoff, &symavail) < 0)
        return pf_fail(err, PF_ERR_CORRUPT, "bad DT_SYMTAB");
    if (mul_ok(count, sizeof(Elf64_Sym), &bytes) < 0 || bytes > symavail)
        return pf_fail(err, PF_ERR_CORRUPT, "dynamic symbol table runs past its segment");
    img->dynsym.off = symoff;
    img->dynsym.count = count;
    img->dynsym.stroff = stroff;
    img->dynsym.strsize = stravail;
    return 0;
}

static int parse(elf_image *img, pf_error *err) {
    const uint8_t *d = img->data;
    if (img->size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG) != 0)
        return pf_fail(err, PF_ERR_CORRUPT, "not an ELF file");
    if (d[EI_CLASS] != ELFCLASS64)
        return pf_fail(err, PF_ERR_UNSUPPORTED, "not a 64-bit ELF file");
    if (d[EI_DATA] != ELFDATA2LSB)
        return pf_fail(err, PF_ERR_UNSUPPORTED, "not a little-endian ELF file");
    if (d[EI_VERSION] != EV_CURRENT)
        return pf_fail(err, PF_ERR_UNSUPPORTED, "unsupported ELF version %u", (unsigned)d[EI_VERSION]);
    Elf64_Ehdr eh;
    if (read_at(img, 0, &eh, sizeof eh) < 0)
        return pf_fail(err, PF_ERR_CORRUPT, "truncated ELF header");
    if (eh.e_machine != EM_X86_64)
        return pf_fail(err, PF_ERR_UNSUPPORTED, "not an x86-64 ELF file (machine %u)", (unsigned)eh.e_machine);
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return pf_fail(err, PF_ERR_UNSUPPORTED, "not an executable or shared library (ELF type %u)",
                       (unsigned)eh.e_type);
    img->type = eh.e_type;

    /* Section headers. Section 0 carries the real counts when they overflow
     * the 16-bit header fields (e_shnum == 0, e_shstrndx == SHN_XINDEX,
     * e_phnum == PN_XNUM), so it is read first. */
    Elf64_Shdr sh0;
    memset(&sh0, 0, sizeof sh0);
    uint64_t shstrndx = SHN_UNDEF;
    if (eh.e_shoff != 0) {
        if (eh.e_shentsize != sizeof(Elf64_Shdr))
            return pf_fail(err, PF_ERR_CORRUPT, "bad section header size %u", (unsigned)eh.e_shentsize);
        if (read_at(img, eh.e_shoff, &sh0, sizeof sh0) < 0)
            return pf_fail(err, PF_ERR_CORRUPT, "truncated section headers");
        uint64_t bytes;
        img->shnum = eh.e_shnum ? eh.e_shnum : sh0.sh_size;
        if (mul_ok(img->shnum, sizeof(Elf64_Shdr), &bytes) < 0 || !in_file(img, eh.e_shoff, bytes))
            return pf_fail(err, PF_ERR_CORRUPT, "truncated section headers");
        img->shoff = eh.e_shoff;
        shstrndx = eh.e_shstrndx == SHN_XINDEX ? sh0.sh_link : eh.e_shstrndx;
    }

    img->phnum = eh.e_phnum == PN_XNUM && img->shnum > 0 ? sh0.sh_info : eh.e_phnum;
    if (img->phnum > 0) {
        uint64_t bytes;
        if (eh.e_phentsize != sizeof(Elf64_Phdr))
            return pf_fail(err, PF_ERR_CORRUPT, "bad program header size %u", (unsigned)eh.e_phentsize);
        if (mul_ok(img->phnum, sizeof(Elf64_Phdr), &bytes) < 0 || !in_file(img, eh.e_phoff, bytes))
            return pf_fail(err, PF_ERR_CORRUPT, "truncated program headers");
        img->phoff = eh.e_phoff;
    }

    if (img->shnum > 0 && shstrndx != SHN_UNDEF) {
        if (shstrndx >= img->shnum)
            return pf_fail(err, PF_ERR_CORRUPT, "bad section name table index %llu", (unsigned long long)shstrndx);
        Elf64_Shdr s;
        get_shdr(img, shstrndx, &s);
        if (s.sh_type != SHT_STRTAB)
            return pf_fail(err, PF_ERR_CORRUPT, "section name table is not a string table");
        if (!in_file(img, s.sh_offset, s.sh_size))
            return pf_fail(err, PF_ERR_CORRUPT, "truncated section name table");
        img->shstroff = s.sh_offset;
        img->shstrsize = s.sh_size;
    }

    /* The first table of each kind; a well-formed file has at most one. */
    int have_dynsym_section = 0, have_symtab_section = 0;
    for (uint64_t i = 0; i < img->shnum; i++) {
        Elf64_Shdr s;
        get_shdr(img, i, &s);
        if (s.sh_type == SHT_DYNSYM && !have_dynsym_section) {
            if (load_symtab(img, &s, &img->dynsym, err) < 0)
                return -1;
            have_dynsym_section = 1;
        } else if (s.sh_type == SHT_SYMTAB && !have_symtab_section) {
            if (load_symtab(img, &s, &img->symtab, err) < 0)
                return -1;
            have_symtab_section = 1;
        }
    }

    for (uint64_t i = 0; i < img->phnum; i++) {
        Elf64_Phdr ph;
        get_phdr(img, i, &ph);
        if (ph.p_type == PT_DYNAMIC)
            return parse_dynamic(img, &ph, have_dynsym_section, err);
    }
    return 0;
}

int elf_open_bytes(const uint8_t *data, size_t size, elf_image **out, pf_error *err) {
    *out = NULL;
    elf_image *img = calloc(1, sizeof *img);
    if (!img)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    img->data = data;
    img->size = data ? size : 0;
    if (parse(img, err) < 0) {
        free(img);
        return -1;
    }
    *out = img;
    return 0;
}

int elf_open(const char *path, elf_image **out, pf_error *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pf_fail(err, errno == EACCES || errno == EPERM ? PF_ERR_PERMISSION : PF_ERR_IO, "cannot open %s: %s",
                       path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return pf_fail(err, PF_ERR_IO, "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pf_fail(err, PF_ERR_USAGE, "%s: not a regular file", path);
    }
    if (st.st_size == 0) { /* mmap refuses a zero length */
        close(fd);
        return pf_fail(err, PF_ERR_CORRUPT, "not an ELF file");
    }
    size_t len = (size_t)st.st_size;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping stays valid without the descriptor */
    if (p == MAP_FAILED)
        return pf_fail(err, PF_ERR_IO, "cannot map %s: %s", path, strerror(e));
    if (elf_open_bytes(p, len, out, err) < 0) {
        munmap(p, len);
        return -1;
    }
    (*out)->map_len = len;
    return 0;
}

void elf_close(elf_image *img) {
    if (!img)
        return;
    if (img->map_len)
        munmap((void *)img->data, img->map_len);
    free(img);
}

int elf_is_executable(const elf_image *img) {
    return img->type == ET_EXEC;
}

/* Index of the first defined symbol called name in t, preferring a global
 * (or weak) one: a static variable's name may recur as a local in several
 * object files, while the global, if any, is the one the linker resolved. */
static int find_in(const elf_image *img, const elf_symtab *t, const char *name, Elf64_Sym *out) {
    size_t namelen = strlen(name);
    const uint8_t *strs = img->data + t->stroff;
    int found_local = 0;
    for (uint64_t i = 0; i < t->count; i++) {
        Elf64_Sym s;
        memcpy(&s, img->data + t->off + i * sizeof s, sizeof s);
        /* An undefined entry names a symbol another file provides; its value
         * means nothing here. */
        if (s.st_shndx == SHN_UNDEF || s.st_name >= t->strsize)
            continue;
        /* Comparing namelen bytes plus the terminator, all inside the table,
         * also proves the entry's string is terminated in bounds. */
        if (namelen >= t->strsize - s.st_name || memcmp(strs + s.st_name, name, namelen) != 0 ||
            strs[s.st_name + namelen] != '\0')
            continue;
        if (ELF64_ST_BIND(s.st_info) != STB_LOCAL) {
            *out = s;
            return 0;
        }
        if (!found_local) {
            *out = s;
            found_local = 1;
        }
    }
    return found_local ? 0 : -1;
}

int elf_symbol(const elf_image *img, const char *name, uint64_t *value, uint64_t *size) {
    Elf64_Sym s;
    if (name[0] == '\0') /* would match section and null symbols, which have no name */
        return -1;
    if (find_in(img, &img->dynsym, name, &s) < 0 && find_in(img, &img->symtab, name, &s) < 0)
        return -1;
    if (value)
        *value = s.st_value;
    if (size)
        *size = s.st_size;
    return 0;
}

const char *elf_soname(const elf_image *img) {
    return img->soname;
}

int elf_vaddr_for_offset(const elf_image *img, uint64_t off, uint64_t *vaddr) {
    /* A segment is mapped from its page-rounded offset, so a mapping's file
     * offset is usually exactly that; try that first, because the same page
     * may also hold the tail of the previous segment, which the loader maps
     * separately at a different address. Failing that, any page the segment
     * covers (a mapping split by mprotect, e.g. for RELRO). */
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t i = 0; i < img->phnum; i++) {
            Elf64_Phdr ph;
            get_phdr(img, i, &ph);
            if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
                continue;
            uint64_t start = ph.p_offset & ~(uint64_t)(ELF_PAGE - 1);
            int hit = pass == 0 ? off == start
                                : off >= start && (off < ph.p_offset || off - ph.p_offset < ph.p_filesz);
            if (hit) {
                /* Unsigned arithmetic: wraps only for nonsense headers, and
                 * then yields a meaningless (but harmless) address. */
                *vaddr = ph.p_vaddr - ph.p_offset + off;
                return 0;
            }
        }
    }
    return -1;
}

int elf_section(const elf_image *img, const char *name, uint64_t *addr, uint64_t *size) {
    if (img->shstrsize == 0)
        return -1;
    size_t namelen = strlen(name);
    const uint8_t *strs = img->data + img->shstroff;
    for (uint64_t i = 0; i < img->shnum; i++) {
        Elf64_Shdr s;
        get_shdr(img, i, &s);
        if (s.sh_name >= img->shstrsize || namelen >= img->shstrsize - s.sh_name)
            continue;
        if (memcmp(strs + s.sh_name, name, namelen) != 0 || strs[s.sh_name + namelen] != '\0')
            continue;
        if (addr)
            *addr = s.sh_addr;
        if (size)
            *size = s.sh_size;
        return 0;
    }
    return -1;
}
