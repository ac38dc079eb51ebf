/* code.c — the cache of decoded code objects (see code.h). */
#include "cpython/code.h"

#include <stdlib.h>
#include <string.h>

#include "cpython/linetable.h"
#include "cpython/objects.h"

#define MAX_LINETABLE (1u << 20)

/* Slots hold pointers so an entry never moves when the table grows: frames
 * returned by the walker point at entries while later ones are decoded. */
struct py_code_cache {
    py_code **slots;  /* open addressing, NULL = empty */
    size_t cap, used; /* cap is a power of two */
};

py_code_cache *py_code_cache_new(void) {
    py_code_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

static void code_release(py_code *code) {
    free(code->function);
    free(code->file);
    free(code->linetable);
    memset(code, 0, sizeof *code);
}

void py_code_cache_free(py_code_cache *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i]) {
            code_release(c->slots[i]);
            free(c->slots[i]);
        }
    free(c->slots);
    free(c);
}

static size_t slot_of(const py_code_cache *c, uint64_t addr) {
    uint64_t h = addr * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (c->cap - 1);
}

static py_code **find_slot(py_code_cache *c, uint64_t addr) {
    size_t i = slot_of(c, addr);
    while (c->slots[i] && c->slots[i]->addr != addr)
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static int grow(py_code_cache *c) {
    py_code_cache bigger = {calloc(c->cap * 2, sizeof *c->slots), c->cap * 2, c->used};
    if (!bigger.slots)
        return -1;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i])
            *find_slot(&bigger, c->slots[i]->addr) = c->slots[i];
    free(c->slots);
    *c = bigger;
    return 0;
}

static int read_linetable(py_proc *p, uint64_t bytes_obj, py_code *code, pf_error *err) {
    int64_t size;
    if (target_read(p->target, bytes_obj + p->layout.bytes.ob_size, &size, sizeof size, err) != 0)
        return -1;
    if (size < 0 || size > MAX_LINETABLE)
        return pf_fail(err, PF_ERR_CORRUPT, "implausible line table size %lld", (long long)size);
    code->linetable = malloc(size ? (size_t)size : 1);
    if (!code->linetable)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    code->linetable_len = (size_t)size;
    return target_read(p->target, bytes_obj + p->layout.bytes.ob_sval, code->linetable, (size_t)size, err);
}

static int decode(py_proc *p, uint64_t addr, py_code *code, pf_error *err) {
    const py_layout *L = &p->layout;
    int kind;
    if (py_object_kind(p, addr, &kind, err) != 0)
        return -1;
    if (kind != PY_TYPE_CODE)
        return pf_fail(err, PF_ERR_CORRUPT, "frame points at 0x%llx, which is not a code object",
                       (unsigned long long)addr);
    uint64_t name_field = L->code.qualname != PY_NO_FIELD ? (uint64_t)L->code.qualname : (uint64_t)L->code.name;
    uint64_t table_ptr;
    int32_t firstlineno;
    char text[4096];
    memset(code, 0, sizeof *code);
    code->addr = addr;
    if (target_read(p->target, addr + name_field, &code->name_ptr, 8, err) != 0 ||
        target_read(p->target, addr + (uint64_t)L->code.filename, &code->file_ptr, 8, err) != 0 ||
        target_read(p->target, addr + (uint64_t)L->code.linetable, &table_ptr, 8, err) != 0 ||
        target_read(p->target, addr + (uint64_t)L->code.firstlineno, &firstlineno, 4, err) != 0)
        return -1;
    code->firstlineno = firstlineno;
    code->table_ptr = table_ptr;
    if (py_read_text(p, code->name_ptr, text, sizeof text, err) != 0 || !(code->function = strdup(text)))
        goto fail;
    if (py_read_text(p, code->file_ptr, text, sizeof text, err) != 0 || !(code->file = strdup(text)))
        goto fail;
    if (read_linetable(p, table_ptr, code, err) != 0)
        goto fail;
    return 0;
fail:
    code_release(code);
    return -1;
}

py_code *py_code_find(py_code_cache *c, uint64_t addr) { return *find_slot(c, addr); }

py_code *py_code_get(py_code_cache *c, py_proc *p, uint64_t addr, pf_error *err) {
    py_code **slot = find_slot(c, addr);
    if (*slot)
        return *slot;
    if ((c->used + 1) * 2 > c->cap) {
        if (grow(c) != 0) {
            pf_fail(err, PF_ERR_NOMEM, "out of memory");
            return NULL;
        }
        slot = find_slot(c, addr);
    }
    py_code *code = malloc(sizeof *code);
    if (!code) {
        pf_fail(err, PF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (decode(p, addr, code, err) != 0) {
        free(code);
        return NULL;
    }
    *slot = code;
    c->used++;
    return code;
}

static int64_t name_offset(const py_layout *L) {
    return L->code.qualname != PY_NO_FIELD ? L->code.qualname : L->code.name;
}

void py_code_identity_span(const py_layout *L, int64_t *lo, size_t *len) {
    int64_t at[] = {name_offset(L), L->code.filename, L->code.linetable, L->code.firstlineno};
    int64_t low = at[0], high = at[0] + 8;
    for (size_t i = 1; i < sizeof at / sizeof at[0]; i++) {
        if (at[i] < low)
            low = at[i];
        if (at[i] + 8 > high)
            high = at[i] + 8;
    }
    *lo = low;
    *len = (size_t)(high - low);
}

static uint64_t word(const uint8_t *bytes, int64_t at) {
    uint64_t v;
    memcpy(&v, bytes + at, 8);
    return v;
}

int py_code_same(const py_layout *L, const py_code *code, const uint8_t *identity, int64_t lo) {
    int32_t firstlineno;
    memcpy(&firstlineno, identity + (L->code.firstlineno - lo), 4);
    return word(identity, name_offset(L) - lo) == code->name_ptr && word(identity, L->code.filename - lo) == code->file_ptr &&
           word(identity, L->code.linetable - lo) == code->table_ptr && firstlineno == code->firstlineno;
}

int py_code_recheck(py_proc *p, py_code *code, pf_error *err) {
    int64_t lo;
    size_t len;
    uint8_t identity[256];
    py_code_identity_span(&p->layout, &lo, &len);
    if (len > sizeof identity)
        return pf_fail(err, PF_ERR_CORRUPT, "code object layout spans %zu bytes", len);
    if (target_read(p->target, code->addr + (uint64_t)lo, identity, len, err) != 0)
        return -1;
    if (py_code_same(&p->layout, code, identity, lo))
        return 0;
    py_code fresh;
    if (decode(p, code->addr, &fresh, err) != 0)
        return -1;
    code_release(code);
    *code = fresh;
    return 0;
}

int py_code_line(const py_proc *p, const py_code *code, int64_t byte_offset) {
    return py_line_for_offset(p->layout.lines, code->linetable, code->linetable_len, code->firstlineno,
                              byte_offset);
}
