/* protobuf.h — just enough protocol-buffers encoding for the pprof writer.
 *
 * Messages are built in one growable buffer. A nested message (or packed
 * field) is opened with out_pb_begin, which notes where its bytes start, and
 * closed with out_pb_end, which slides them over to make room for the length
 * prefix; so nothing needs its size known in advance. Out of memory sets
 * `failed` and turns every later call into a no-op, checked once at the end. */
#ifndef PYFLARE_OUTPUT_PROTOBUF_H
#define PYFLARE_OUTPUT_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct out_pb {
    uint8_t *data;
    size_t len, cap;
    int failed;
} out_pb;

void out_pb_free(out_pb *b);

/* A bare varint (for packed repeated fields). */
void out_pb_varint(out_pb *b, uint64_t v);
/* A varint field (wire type 0); int64 values are encoded as their two's-complement uint64, as protobuf does. */
void out_pb_uint(out_pb *b, uint32_t field, uint64_t v);
/* A length-delimited field (wire type 2): bytes or a string. */
void out_pb_bytes(out_pb *b, uint32_t field, const void *data, size_t len);
void out_pb_string(out_pb *b, uint32_t field, const char *s);

/* Opens a length-delimited field (sub-message or packed array); returns the mark to close it with. */
size_t out_pb_begin(out_pb *b, uint32_t field);
void out_pb_end(out_pb *b, size_t mark);

#endif
