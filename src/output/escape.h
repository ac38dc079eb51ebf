/* escape.h — making arbitrary profile strings safe for each output format.
 *
 * Function and file names come from the profiled program and may hold
 * anything: quotes, newlines, terminal escape sequences, bytes that are not
 * UTF-8. Every writer passes names through one of these before emitting them,
 * so a hostile name can neither break a file's syntax nor reach a terminal raw. */
#ifndef PYFLARE_OUTPUT_ESCAPE_H
#define PYFLARE_OUTPUT_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence starting at s (1-4), or 0 if the bytes
 * there are not valid UTF-8 (overlong, surrogate, out of range, truncated).
 * s must point at a non-NUL byte. */
size_t out_utf8_len(const unsigned char *s);

/* The code point at s (len > 0 bytes), or U+FFFD for one byte of invalid
 * UTF-8 (overlong, surrogate, truncated, out of range); *adv = bytes used. */
uint32_t out_utf8_next(const unsigned char *s, size_t len, size_t *adv);

/* Writes s as a JSON string literal, escaping quotes, backslashes and control
 * characters; bytes that are not valid UTF-8 become U+FFFD. */
void out_json_string(FILE *f, const char *s);

/* A malloc'd copy of s with every invalid UTF-8 byte replaced by U+FFFD, for
 * formats whose strings must be valid UTF-8 (protobuf, Python str). NULL when
 * out of memory. */
char *out_utf8_clean(const char *s);

/* A malloc'd copy of s fit for one line of a terminal or a line-based file:
 * printable UTF-8 is kept; control characters (C0, DEL, C1) and invalid bytes
 * become visible escapes ("\n", "\t", "\r", "\x1b", "\u0085"). Backslashes are
 * kept as they are: the result is for reading, not for parsing back. NULL
 * when out of memory. */
char *out_text_escape(const char *s);

/* The same escaping written straight to f (needs no memory). */
void out_text_write(FILE *f, const char *s);

#endif
