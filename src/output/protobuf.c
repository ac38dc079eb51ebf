/* protobuf.c — protocol-buffers encoding (see protobuf.h). */
#include "output/protobuf.h"

#include <stdlib.h>
#include <string.h>

void out_pb_free(out_pb *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int reserve(out_pb *b, size_t more) {
    if (b->failed)
        return -1;
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *bigger = realloc(b->data, cap);
    if (!bigger) {
        b->failed = 1;
        return -1;
    }
    b->data = bigger;
    b->cap = cap;
    return 0;
}

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(uint8_t *at, uint64_t v) {
    while (v >= 0x80) {
        *at++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *at = (uint8_t)v;
}

void out_pb_varint(out_pb *b, uint64_t v) {
    if (reserve(b, 10) != 0)
        return;
    put_varint(b->data + b->len, v);
    b->len += varint_size(v);
}

static void key(out_pb *b, uint32_t field, unsigned wire) { out_pb_varint(b, (uint64_t)field << 3 | wire); }

void out_pb_uint(out_pb *b, uint32_t field, uint64_t v) {
    key(b, field, 0);
    out_pb_varint(b, v);
}

void out_pb_bytes(out_pb *b, uint32_t field, const void *data, size_t len) {
    key(b, field, 2);
    out_pb_varint(b, len);
    if (reserve(b, len) != 0)
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
}

void out_pb_string(out_pb *b, uint32_t field, const char *s) { out_pb_bytes(b, field, s, strlen(s)); }

size_t out_pb_begin(out_pb *b, uint32_t field) {
    key(b, field, 2);
    return b->len;
}

void out_pb_end(out_pb *b, size_t mark) {
    if (b->failed)
        return;
    size_t len = b->len - mark, prefix = varint_size(len);
    if (reserve(b, prefix) != 0)
        return;
    memmove(b->data + mark + prefix, b->data + mark, len);
    put_varint(b->data + mark, len);
    b->len += prefix;
}
