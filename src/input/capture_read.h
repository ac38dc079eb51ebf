/* capture_read.h — pyflare's own capture format (.pyflare), and its reader.
 *
 * A capture holds everything a finished pf_profile holds, so that any format
 * written from it is byte for byte what the command that recorded it would
 * have written directly: strings, functions (name, file, first line, kind,
 * origin), frames, call-tree nodes with self/total/calls, processes, threads,
 * every sample in time order (microseconds, thread, node, weight), the
 * metadata, and the title and subtitle the recording's writers were given.
 * The reader rebuilds the profile with every id in its original order.
 *
 * The file (all integers little-endian):
 *   0   8 bytes  magic "\x89PYFLARE" (0x89 never starts text, so convert can
 *                tell a capture from folded stacks by its first byte)
 *   8   u32      format version (CAPTURE_VERSION)
 *   12  u32      encoding of the body: 0 stored, 1 zlib (what pyflare writes)
 *   16  u64      the body's length, uncompressed
 *   24  u32      CRC-32 of the uncompressed body
 *   28  u32      0 (reserved)
 *   32  the body, to the end of the file
 * The body is a sequence of sections, each: tag, byte length, payload
 * (unsigned LEB128 varints; "z" below is a zigzag-coded signed varint),
 * in the order of the tags, ending with CAP_END. A reader skips a section
 * whose tag it does not know (a later minor addition); the version changes
 * when a section's meaning does.
 *   STRINGS  n; then for ids 1..n-1: length, bytes (no NUL); id 0 is ""
 *   META     mode, command, python, start_unix_ns, duration_ns, rate_hz (8 bytes,
 *            an IEEE double), period_ns, unit (0 samples, 1 nanoseconds),
 *            cpu_weighted, cpu_ns, then title and subtitle: each 0 (none) or
 *            1 + length + bytes
 *   FUNCS    n; for ids 1..n-1: name, file, z firstline, kind, origin
 *   FRAMES   n; for ids 1..n-1: z (func - previous frame's func), z line
 *   NODES    n; for ids 1..n-1: id - parent (>= 1), frame; then for ids
 *            0..n-1: self, total, calls
 *   PROCESSES n; each: z pid, command
 *   THREADS  n; each: process, thread_id, z native_id, name
 *   SAMPLES  n; then seven columns, each its byte length then its values.
 *            Each sample is its schedule (thread and time) and its thread's
 *            run (node and weight), both coded against what the samples
 *            before predict; the predictions are cap_sample_slot's, one
 *            per thread (thread indexes past the table share one).
 *            Schedule: the thread is the one that followed the previous
 *            sample's thread last time (at first, the next index; 0 for the
 *            first sample); the time is the previous sample's, or one tick
 *            later (tick: the period when it is whole microseconds, else
 *            the last time delta given), whichever this thread's previous
 *            sample had ("one tick later" at first). A sample that deviates
 *            has a sched byte (CAP_SCHED_*: time 0 as predicted, OTHER the
 *            other of the two, NEW a delta in time; thread NEW: in thread).
 *            Runs: a thread's samples come in runs of one node and weight;
 *            at a run's first sample (and a thread's first) come its change
 *            byte and its length: the change (low 7 bits: 0 the thread's
 *            previous node, 1..CAP_RECENT-1 an index into its move-to-front
 *            list of recent distinct nodes, CAP_RECENT a new node, given in
 *            node and put in front, the last falling off a full list; bit 7:
 *            a new weight, in weight, else the thread's previous, 1 at
 *            first), the length - 1 in runs.
 *            skip   bytes: 0..254 samples with a predicted schedule, then
 *                   one with a sched byte; 255: 255 such samples and no
 *                   sched byte. The last entry is < 255 (0 when nothing is
 *                   left) and has no sched byte after it.
 *            sched  the sched bytes
 *            time   the time - the previous sample's, zigzag coded (z) then
 *                   doubled: in ticks (even; only with a whole-microsecond
 *                   period) or, plus one, in microseconds
 *            thread the threads given
 *            change the change bytes; runs: u run lengths - 1
 *            node   z node - the thread's previous node
 *            weight u weights
 *            From version 3 each column is its byte length, then its coded
 *            length, then its bytes range-coded: every byte's bits, high
 *            first, each with the probability its place in the byte so far
 *            had (an adaptive order-0 model per column, cap_coder_* below).
 *            The runs' lengths are most of the log and close to random
 *            (when a busy thread's stack changes is what sampling saw); this
 *            codes them near their order-0 entropy, some 15% under deflate's.
 *            (Version 2, still read: the columns' bytes as they are. Version 1,
 *            still read: four columns of n values each: z time
 *            delta, thread, z node - the thread's previous node, weight.)
 *   SOURCES  (optional) the source text of the files the functions name, as
 *            the recording read them (through the target's root) for the html
 *            and text reports, of a library file only the excerpt the reports
 *            keep (report/excerpt.h: left-out lines emptied, line numbers
 *            kept): n; each: file (a string id, increasing), status
 *            (0 read: length, bytes; 1 larger than CAPTURE_SOURCE_FILE_MAX;
 *            2 unreadable). Absent when the recording had no way to read
 *            sources (a profile converted from folded stacks).
 * Strings are referred to by id everywhere. */
#ifndef PYFLARE_INPUT_CAPTURE_READ_H
#define PYFLARE_INPUT_CAPTURE_READ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "profile/profile.h"

#define CAPTURE_MAGIC "\x89PYFLARE"
#define CAPTURE_MAGIC_LEN 8
#define CAPTURE_HEADER_LEN 32
#define CAPTURE_VERSION 3u
/* The oldest version this pyflare reads. */
#define CAPTURE_VERSION_MIN 1u
/* The most of one file's source a capture keeps (the html report's own cap
 * for one file), and of all files together. */
#define CAPTURE_SOURCE_FILE_MAX (2u << 20)
#define CAPTURE_SOURCE_ALL_MAX (64u << 20)

enum { CAPTURE_STORED = 0, CAPTURE_ZLIB = 1 };

enum {
    CAP_END = 0,
    CAP_STRINGS,
    CAP_META,
    CAP_FUNCS,
    CAP_FRAMES,
    CAP_NODES,
    CAP_PROCESSES,
    CAP_THREADS,
    CAP_SAMPLES,
    CAP_SOURCES,
    CAP_NSECTIONS
};

/* SAMPLES (version 2): its columns, and the sched and change bytes. */
enum {
    CAP_COL_SKIP,
    CAP_COL_SCHED,
    CAP_COL_TIME,
    CAP_COL_THREAD,
    CAP_COL_CHANGE,
    CAP_COL_RUNS,
    CAP_COL_NODE,
    CAP_COL_WEIGHT,
    CAP_SAMPLE_COLUMNS
};
enum {
    CAP_SCHED_TIME_OTHER = 1,
    CAP_SCHED_TIME_NEW = 2,
    CAP_SCHED_TIME_MASK = 3,
    CAP_SCHED_THREAD_NEW = 4,
    CAP_SCHED_ALL = 7,
    CAP_SKIP_CHUNK = 255,
    CAP_CHANGE_WEIGHT = 128
};
/* The column coder (version 3): a binary range coder, 32-bit bounds,
 * 16-bit probabilities of a 1 moved 1/32 of the way to each bit seen; one
 * model per column, 255 probabilities (a tree over the byte's bits). The
 * coded stream is the bytes shifted out, then the low bound's 4 bytes, so
 * the decoder reads exactly the coded length. A coded byte holds at most
 * about 1460 bytes (8 bits of at least 0.0007 bit each): CAP_CODER_RATIO
 * bounds what a column may claim. */
#define CAP_CODER_BITS 16
#define CAP_CODER_SHIFT 5
#define CAP_CODER_RATIO 2048u
typedef struct cap_coder_model {
    uint16_t p[256]; /* p[1..255]: the probability of a 1 at each node of the bit tree */
} cap_coder_model;
void cap_coder_model_init(cap_coder_model *m);

/* The most samples a capture may hold for each byte of its file (what
 * keeps a tiny file from asking for billions of samples' memory). */
#define CAP_SAMPLES_PER_BYTE 65536u
/* The same for a decoded column's bytes (the skip column of one thread
 * idle for hours: a 255 byte every 255 samples, coded in almost nothing). */
#define CAP_COLUMN_PER_BYTE 512u

/* How many distinct nodes a thread's list remembers; also the change code
 * of a node given in full. */
#define CAP_RECENT 64

/* One thread's predictions, the same for the writer (output/capture.c) and
 * the reader: slots 0..nt-1 the threads, nt the one thread indexes past the
 * table share, nt + 1 the "previous thread" of the first sample. */
typedef struct cap_sample_slot {
    uint32_t follow;    /* the thread that came after this one last time */
    uint32_t len;       /* entries in recent (0 until the slot is opened) */
    int same_time;      /* this thread's previous sample had its predecessor's time */
    uint64_t left;      /* samples left in the thread's current run (reader) */
    uint64_t weight;    /* the thread's previous weight */
    pf_node_id *recent; /* recent[0]: the thread's previous node */
} cap_sample_slot;

void cap_sample_slots_init(cap_sample_slot *slot, size_t nt); /* nt + 2 slots, zeroed */
int cap_sample_slot_open(cap_sample_slot *t);                  /* 0, or -1 when out of memory */
/* Puts node in front: it was recent[at], or is new when at >= len. */
void cap_sample_slot_front(cap_sample_slot *t, uint32_t at, pf_node_id node);
void cap_sample_slots_free(cap_sample_slot *slot, size_t nt);
/* The tick a capture's times are predicted with, from its period. */
int64_t cap_sample_tick(uint64_t period_ns);

/* What a capture holds besides the profile. */
typedef struct in_capture_source {
    pf_str_id file;
    int status;          /* 0 read, 1 too large, 2 unreadable (as SOURCES says) */
    char *text;
    size_t len;
} in_capture_source;

typedef struct in_capture_info {
    uint32_t version;       /* the file's format version */
    char *title, *subtitle; /* the labels the recording's writers were given, or NULL */
    int has_sources;        /* the capture holds a SOURCES section */
    in_capture_source *sources;
    size_t nsources;
} in_capture_info;

/* 1 when the first byte(s) of a file say it is a capture. */
int in_capture_detect(const unsigned char *head, size_t n);

/* Reads a whole capture from in into p, an empty profile from pf_profile_new,
 * and finishes it. name is the input's name, for messages. A truncated or
 * corrupt capture is -1 with one line in err naming the offset (PF_ERR_CORRUPT),
 * and p is then to be freed, not used. */
int in_read_capture(FILE *in, const char *name, pf_profile *p, in_capture_info *info, pf_error *err);
/* The same from memory (the fuzzer's way in). */
int in_read_capture_mem(const unsigned char *data, size_t len, const char *name, pf_profile *p,
                        in_capture_info *info, pf_error *err);
void in_capture_info_free(in_capture_info *info);

/* An out_options.read_source over the sources a capture holds (ctx: its
 * in_capture_info), so a report written from a capture shows the text the
 * recording read, byte for byte what the recording would have written. */
int in_capture_read_source(void *ctx, const pf_profile *p, pf_str_id file, size_t max, char **text, size_t *len);

#endif
