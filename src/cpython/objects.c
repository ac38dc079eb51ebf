/* objects.c — reading Python objects (str, int, dict, module, instance
 * attributes) out of the target; see objects.h.
 *
 * These are the slow, general readers used once per process or per thread
 * (names, versions), not per sample: clarity over speed here. */
#include "cpython/objects.h"

#include <string.h>

#include "cpython/pystr.h"

#define MAX_TEXT_UNITS 1024        /* longer names are truncated */
#define MAX_DICT_ENTRIES (1 << 20) /* bigger means we are reading garbage */

static int read_u64(py_proc *p, uint64_t addr, uint64_t *v, pf_error *err) {
    return target_read(p->target, addr, v, sizeof *v, err);
}

static int type_kind_from_name(const py_proc *p, const char *name) {
    int py2 = p->layout.str == PY_STR_BYTES27; /* the version may not be known yet */
    if (!strcmp(name, "str")) return py2 ? PY_TYPE_BYTES : PY_TYPE_STR;
    if (!strcmp(name, "bytes")) return PY_TYPE_BYTES;
    if (!strcmp(name, "unicode")) return PY_TYPE_UNICODE27;
    if (!strcmp(name, "int")) return py2 ? PY_TYPE_INT : PY_TYPE_LONG;
    if (!strcmp(name, "long")) return PY_TYPE_LONG;
    if (!strcmp(name, "dict")) return PY_TYPE_DICT;
    if (!strcmp(name, "module")) return PY_TYPE_MODULE;
    if (!strcmp(name, "code")) return PY_TYPE_CODE;
    if (!strcmp(name, "coroutine") || !strcmp(name, "generator")) return PY_TYPE_COROUTINE;
    return PY_TYPE_OTHER;
}

int py_object_kind(py_proc *p, uint64_t addr, int *kind, pf_error *err) {
    uint64_t type;
    if (read_u64(p, addr + p->layout.type.ob_type, &type, err) != 0)
        return -1;
    size_t ntypes = sizeof p->types / sizeof p->types[0];
    for (size_t i = 0; i < ntypes; i++)
        if (p->types[i].addr == type && type) {
            *kind = p->types[i].kind;
            return 0;
        }
    uint64_t name_ptr;
    char name[32];
    if (read_u64(p, type + p->layout.type.tp_name, &name_ptr, err) != 0 ||
        target_read_cstring(p->target, name_ptr, name, sizeof name, err) != 0)
        return -1;
    *kind = type_kind_from_name(p, name);
    /* Remember it in the first free slot, else replace one in rotation. */
    static size_t victim;
    size_t slot = ntypes;
    for (size_t i = 0; i < ntypes && slot == ntypes; i++)
        if (!p->types[i].addr)
            slot = i;
    if (slot == ntypes)
        slot = victim++ % ntypes;
    p->types[slot].addr = type;
    p->types[slot].kind = *kind;
    return 0;
}

static int read_pep393(py_proc *p, uint64_t addr, char *out, size_t cap, pf_error *err) {
    const py_layout *L = &p->layout;
    uint8_t hdr[256];
    size_t hdr_len = (size_t)L->unicode.compact_size;
    if (hdr_len > sizeof hdr)
        return pf_fail(err, PF_ERR_CORRUPT, "unicode header too large");
    /* A short ASCII string may end right at a page boundary: retry smaller. */
    if (target_read(p->target, addr, hdr, hdr_len, NULL) != 0) {
        hdr_len = (size_t)L->unicode.ascii_size;
        if (target_read(p->target, addr, hdr, hdr_len, err) != 0)
            return -1;
    }
    py_str_shape shape;
    if (py_str_shape_of(L, hdr, hdr_len, &shape) != 0)
        return pf_fail(err, PF_ERR_CORRUPT, "not a valid str object at 0x%llx", (unsigned long long)addr);
    int64_t units = shape.length < MAX_TEXT_UNITS ? shape.length : MAX_TEXT_UNITS;
    uint8_t data[MAX_TEXT_UNITS * 4];
    if (target_read(p->target, addr + (uint64_t)shape.data_offset, data, (size_t)units * (size_t)shape.kind, err) != 0)
        return -1;
    py_str_to_utf8(data, (size_t)units, shape.kind, out, cap);
    return 0;
}

static int read_bytes_object(py_proc *p, uint64_t addr, char *out, size_t cap, pf_error *err) {
    int64_t size;
    if (target_read(p->target, addr + p->layout.bytes.ob_size, &size, sizeof size, err) != 0)
        return -1;
    if (size < 0 || size > (1 << 24))
        return pf_fail(err, PF_ERR_CORRUPT, "implausible bytes length %lld", (long long)size);
    uint8_t data[MAX_TEXT_UNITS * 4];
    size_t n = (size_t)size < sizeof data ? (size_t)size : sizeof data;
    if (target_read(p->target, addr + p->layout.bytes.ob_sval, data, n, err) != 0)
        return -1;
    py_bytes_to_utf8(data, n, out, cap);
    return 0;
}

/* 2.7 unicode: a length and a pointer to Py_UNICODE units (the generated 2.7
 * layout keeps the pointer's offset in ascii_size and the unit width in compact_size). */
static int read_unicode27(py_proc *p, uint64_t addr, char *out, size_t cap, pf_error *err) {
    const py_layout *L = &p->layout;
    int64_t length;
    uint64_t units_ptr;
    int width = (int)L->unicode.compact_size;
    if (target_read(p->target, addr + L->unicode.length, &length, sizeof length, err) != 0 ||
        read_u64(p, addr + L->unicode.ascii_size, &units_ptr, err) != 0)
        return -1;
    if (length < 0 || (width != 2 && width != 4))
        return pf_fail(err, PF_ERR_CORRUPT, "implausible unicode object");
    int64_t units = length < MAX_TEXT_UNITS ? length : MAX_TEXT_UNITS;
    uint8_t data[MAX_TEXT_UNITS * 4];
    if (target_read(p->target, units_ptr, data, (size_t)units * (size_t)width, err) != 0)
        return -1;
    py_str_to_utf8(data, (size_t)units, width, out, cap);
    return 0;
}

int py_read_text(py_proc *p, uint64_t addr, char *out, size_t cap, pf_error *err) {
    int kind;
    out[0] = 0;
    if (py_object_kind(p, addr, &kind, err) != 0)
        return -1;
    switch (kind) {
    case PY_TYPE_STR: return read_pep393(p, addr, out, cap, err);
    case PY_TYPE_BYTES: return read_bytes_object(p, addr, out, cap, err);
    case PY_TYPE_UNICODE27: return read_unicode27(p, addr, out, cap, err);
    default: return pf_fail(err, PF_ERR_CORRUPT, "expected a string at 0x%llx", (unsigned long long)addr);
    }
}

int py_read_int(py_proc *p, uint64_t addr, int64_t *value, pf_error *err) {
    const py_layout *L = &p->layout;
    int kind;
    if (py_object_kind(p, addr, &kind, err) != 0)
        return -1;
    if (kind == PY_TYPE_INT)
        return target_read(p->target, addr + L->misc.ob_ival, value, sizeof *value, err);
    if (kind != PY_TYPE_LONG)
        return pf_fail(err, PF_ERR_CORRUPT, "expected an int at 0x%llx", (unsigned long long)addr);
    int64_t size_or_tag;
    if (target_read(p->target, addr + L->misc.ob_size, &size_or_tag, sizeof size_or_tag, err) != 0)
        return -1;
    int negative;
    uint64_t ndigits;
    if (L->ints == PY_LONG_TAG) {
        ndigits = (uint64_t)size_or_tag >> 3;
        negative = (size_or_tag & 3) == 2;
    } else {
        negative = size_or_tag < 0;
        ndigits = negative ? (uint64_t)-size_or_tag : (uint64_t)size_or_tag;
    }
    int bits = (int)L->misc.digit_bits;
    size_t digit_size = bits > 16 ? 4 : 2;
    if (ndigits * (uint64_t)bits > 64 + (uint64_t)bits)
        return pf_fail(err, PF_ERR_CORRUPT, "int too large");
    uint8_t digits[5 * 4];
    if (ndigits * digit_size > sizeof digits)
        return pf_fail(err, PF_ERR_CORRUPT, "int too large");
    if (target_read(p->target, addr + L->misc.ob_digit, digits, ndigits * digit_size, err) != 0)
        return -1;
    uint64_t v = 0;
    for (uint64_t i = ndigits; i-- > 0;) {
        uint32_t d = 0;
        memcpy(&d, digits + i * digit_size, digit_size);
        v = (v << bits) | d;
    }
    *value = negative ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* One dict's entries, however this version stores them. */
typedef struct dict_view {
    uint64_t entries;      /* address of the first entry */
    uint64_t count;        /* entries to scan */
    uint64_t entry_size;
    int has_hash;          /* entries start with the hash */
    uint64_t values;       /* split tables: the values array, else 0 */
} dict_view;

static int keys_view(py_proc *p, uint64_t keys, uint64_t values, dict_view *v, pf_error *err) {
    const py_layout *L = &p->layout;
    memset(v, 0, sizeof *v);
    v->values = values;
    if (L->dicts == PY_DICT_36) {
        int64_t size, nentries;
        if (target_read(p->target, keys + L->dict.dk_size, &size, sizeof size, err) != 0 ||
            target_read(p->target, keys + L->dict.dk_nentries, &nentries, sizeof nentries, err) != 0)
            return -1;
        if (size <= 0 || size > MAX_DICT_ENTRIES * 2 || nentries < 0 || nentries > size)
            return pf_fail(err, PF_ERR_CORRUPT, "implausible dict keys");
        int width = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffLL ? 4 : 8;
        v->entries = keys + L->dict.dk_indices + (uint64_t)size * width;
        v->count = (uint64_t)nentries;
        v->entry_size = L->dict.entry_size;
        v->has_hash = 1;
        return 0;
    }
    /* PY_DICT_311 */
    uint8_t log2_size, log2_index_bytes, kind;
    int64_t nentries;
    if (target_read(p->target, keys + L->dict.dk_log2_size, &log2_size, 1, err) != 0 ||
        target_read(p->target, keys + L->dict.dk_log2_index_bytes, &log2_index_bytes, 1, err) != 0 ||
        target_read(p->target, keys + L->dict.dk_kind, &kind, 1, err) != 0 ||
        target_read(p->target, keys + L->dict.dk_nentries, &nentries, sizeof nentries, err) != 0)
        return -1;
    if (log2_size > 30 || log2_index_bytes > 33 || nentries < 0 || nentries > MAX_DICT_ENTRIES)
        return pf_fail(err, PF_ERR_CORRUPT, "implausible dict keys");
    v->entries = keys + L->dict.dk_indices + ((uint64_t)1 << log2_index_bytes);
    v->count = (uint64_t)nentries;
    v->has_hash = kind == 0; /* DICT_KEYS_GENERAL; unicode and split keys drop the hash */
    v->entry_size = v->has_hash ? L->dict.entry_size : L->dict.unicode_entry_size;
    return 0;
}

static int dict_view_of(py_proc *p, uint64_t dict, dict_view *v, pf_error *err) {
    const py_layout *L = &p->layout;
    int kind;
    if (py_object_kind(p, dict, &kind, err) != 0)
        return -1;
    if (kind != PY_TYPE_DICT)
        return pf_fail(err, PF_ERR_CORRUPT, "expected a dict at 0x%llx", (unsigned long long)dict);
    if (L->dicts == PY_DICT_27) {
        int64_t mask;
        uint64_t table;
        if (target_read(p->target, dict + L->dict.ma_mask, &mask, sizeof mask, err) != 0 ||
            read_u64(p, dict + L->dict.ma_keys, &table, err) != 0)
            return -1;
        if (mask < 0 || mask >= MAX_DICT_ENTRIES)
            return pf_fail(err, PF_ERR_CORRUPT, "implausible dict size");
        *v = (dict_view){table, (uint64_t)mask + 1, (uint64_t)L->dict.entry_size, 1, 0};
        return 0;
    }
    uint64_t keys, values = 0;
    if (read_u64(p, dict + L->dict.ma_keys, &keys, err) != 0 ||
        read_u64(p, dict + L->dict.ma_values, &values, err) != 0)
        return -1;
    if (values && L->dict.values_array != PY_NO_FIELD)
        values += (uint64_t)L->dict.values_array;
    return keys_view(p, keys, values, v, err);
}

static int view_each(py_proc *p, const dict_view *v, py_dict_visit fn, void *arg, pf_error *err) {
    enum { CHUNK = 256 };
    uint64_t buf[CHUNK * 3];
    uint64_t words = v->entry_size / 8;
    if (words < 2 || words > 3)
        return pf_fail(err, PF_ERR_CORRUPT, "unexpected dict entry size");
    for (uint64_t start = 0; start < v->count; start += CHUNK) {
        uint64_t n = v->count - start < CHUNK ? v->count - start : CHUNK;
        if (target_read(p->target, v->entries + start * v->entry_size, buf, n * v->entry_size, err) != 0)
            return -1;
        for (uint64_t i = 0; i < n; i++) {
            const uint64_t *e = buf + i * words + (v->has_hash ? 1 : 0);
            uint64_t key = e[0], value = e[1];
            if (v->values && read_u64(p, v->values + (start + i) * 8, &value, err) != 0)
                return -1;
            if (!key || !value)
                continue; /* empty or deleted slot */
            if (fn(p, key, value, arg))
                return 0;
        }
    }
    return 0;
}

int py_dict_each(py_proc *p, uint64_t dict, py_dict_visit fn, void *arg, pf_error *err) {
    dict_view v;
    if (dict_view_of(p, dict, &v, err) != 0)
        return -1;
    return view_each(p, &v, fn, arg, err);
}

struct find_key {
    const char *key;
    uint64_t value;
};

static int match_key(py_proc *p, uint64_t key, uint64_t value, void *arg) {
    struct find_key *f = arg;
    char text[256];
    if (py_read_text(p, key, text, sizeof text, NULL) != 0)
        return 0; /* not a str key (or unreadable): not ours */
    if (strcmp(text, f->key) != 0)
        return 0;
    f->value = value;
    return 1;
}

int py_dict_get(py_proc *p, uint64_t dict, const char *key, uint64_t *value, pf_error *err) {
    struct find_key f = {key, 0};
    if (py_dict_each(p, dict, match_key, &f, err) != 0)
        return -1;
    *value = f.value;
    return 0;
}

/* Attributes stored as values against the type's shared keys (3.11+). */
static int shared_keys_get(py_proc *p, uint64_t type, uint64_t values, const char *name,
                           uint64_t *value, pf_error *err) {
    uint64_t keys;
    dict_view v;
    if (read_u64(p, type + p->layout.type.ht_cached_keys, &keys, err) != 0)
        return -1;
    if (!keys)
        return 0;
    if (keys_view(p, keys, values, &v, err) != 0)
        return -1;
    struct find_key f = {name, 0};
    if (view_each(p, &v, match_key, &f, err) != 0)
        return -1;
    *value = f.value;
    return 0;
}

int py_instance_attr(py_proc *p, uint64_t obj, const char *name, uint64_t *value, pf_error *err) {
    const py_layout *L = &p->layout;
    enum { TPFLAGS_INLINE_VALUES = 1 << 2, TPFLAGS_MANAGED_DICT = 1 << 4 };
    uint64_t type, flags;
    int64_t dictoffset, basicsize;
    *value = 0;
    if (read_u64(p, obj + L->type.ob_type, &type, err) != 0 ||
        read_u64(p, type + L->type.tp_flags, &flags, err) != 0 ||
        target_read(p->target, type + L->type.tp_dictoffset, &dictoffset, sizeof dictoffset, err) != 0 ||
        target_read(p->target, type + L->type.tp_basicsize, &basicsize, sizeof basicsize, err) != 0)
        return -1;
    uint64_t dict = 0;
    int managed = L->managed != PY_MANAGED_NONE && (flags & TPFLAGS_MANAGED_DICT);
    if (!managed) {
        if (dictoffset <= 0)
            return 0; /* no instance dict we know how to find */
        if (read_u64(p, obj + (uint64_t)dictoffset, &dict, err) != 0)
            return -1;
        return dict ? py_dict_get(p, dict, name, value, err) : 0;
    }
    /* The managed dict pointer: 3 words before the object behind the GC
     * pre-header, 1 word in the free-threaded build (which has none). */
    uint64_t slot3;
    if (read_u64(p, obj - (L->managed == PY_MANAGED_313_FT ? 1 : 3) * 8, &slot3, err) != 0)
        return -1;
    switch (L->managed) {
    case PY_MANAGED_311: {
        if (slot3)
            return py_dict_get(p, slot3, name, value, err);
        uint64_t values;
        if (read_u64(p, obj - 4 * 8, &values, err) != 0)
            return -1;
        return values ? shared_keys_get(p, type, values, name, value, err) : 0;
    }
    case PY_MANAGED_312:
        if (slot3 & 1) /* tagged: the values array's address minus one, not a dict */
            return shared_keys_get(p, type, slot3 + 1, name, value, err);
        return slot3 ? py_dict_get(p, slot3, name, value, err) : 0;
    case PY_MANAGED_313:
    case PY_MANAGED_313_FT:
        if (slot3)
            return py_dict_get(p, slot3, name, value, err);
        if (!(flags & TPFLAGS_INLINE_VALUES) || basicsize <= 0 || basicsize > 4096)
            return 0;
        return shared_keys_get(p, type, obj + (uint64_t)basicsize + (uint64_t)L->dict.values_array,
                               name, value, err);
    default:
        return 0;
    }
}

int py_module_attr(py_proc *p, uint64_t interp, const char *module, const char *attr,
                   uint64_t *value, pf_error *err) {
    uint64_t modules, mod, dict;
    *value = 0;
    if (read_u64(p, interp + p->layout.interp.modules, &modules, err) != 0)
        return -1;
    if (!modules)
        return 0;
    if (py_dict_get(p, modules, module, &mod, err) != 0)
        return -1;
    if (!mod)
        return 0;
    if (read_u64(p, mod + p->layout.misc.md_dict, &dict, err) != 0)
        return -1;
    return dict ? py_dict_get(p, dict, attr, value, err) : 0;
}
