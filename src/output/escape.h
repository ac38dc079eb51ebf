/* escape.h — making arbitrary profile strings safe in each target syntax.
 *
 * Function and file names come from the profiled program and may hold
 * anything: quotes, newlines, terminal escape sequences, "</script>", "]]>",
 * bytes that are not UTF-8. Every writer passes names through the one escaper
 * of the syntax it writes (JSON, XML, HTML, or a line of text), so a hostile
 * name can neither break a file's syntax nor reach a terminal raw. They write
 * to the writers' sink (outbuf.h); tests/unit/test_escape.c feeds them hostile
 * input. */
#ifndef PYFLARE_OUTPUT_ESCAPE_H
#define PYFLARE_OUTPUT_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "output/outbuf.h"

/* Length of the valid UTF-8 sequence starting at s (1-4), or 0 if the bytes
 * there are not valid UTF-8 (overlong, surrogate, out of range, truncated).
 * s must point at a non-NUL byte. */
size_t out_utf8_len(const unsigned char *s);

/* The code point at s (len > 0 bytes), or U+FFFD for one byte of invalid
 * UTF-8 (overlong, surrogate, truncated, out of range); *adv = bytes used. */
uint32_t out_utf8_next(const unsigned char *s, size_t len, size_t *adv);

/* JSON: s as a string literal (quotes included). '"' and '\' are escaped,
 * control characters (C0, DEL), '<', '>', '&', U+2028 and U+2029 become
 * \uXXXX, so the literal is also safe inside an HTML <script> block (no
 * "</script", no "<!--") and in JavaScript; every byte that is not valid
 * UTF-8 becomes \ufffd. */
void out_esc_json(out_buf *o, const char *s);

/* XML character data (also fit for a double-quoted attribute): '&', '<',
 * '>', '"' as entities; characters XML 1.0 cannot carry (C0 controls, DEL,
 * C1, U+FFFE, U+FFFF) and invalid UTF-8 bytes as U+FFFD. s[0..len); with
 * max_chars > 0, text longer than that many characters is cut to max_chars - 2
 * characters and "..". */
void out_esc_xml(out_buf *o, const char *s, size_t len, size_t max_chars);

/* HTML text (also fit for a quoted attribute): '&', '<', '>', '"', '\'' as
 * entities; control characters (C0, DEL, C1) and invalid UTF-8 bytes as
 * U+FFFD. */
void out_esc_html(out_buf *o, const char *s);

/* One line of a terminal or a line-based file: printable UTF-8 is kept;
 * control characters (C0, DEL, C1) and invalid bytes become visible escapes
 * ("\n", "\t", "\r", "\x1b", "\u0085"). Backslashes are kept as they are: the
 * result is for reading, not for parsing back. */
void out_esc_text(out_buf *o, const char *s);

/* The same text escaping as a malloc'd string (for formats that keep strings
 * in a table: pprof, callgrind). NULL when out of memory. */
char *out_text_escape(const char *s);

/* A malloc'd copy of s with every invalid UTF-8 byte replaced by U+FFFD, for
 * formats whose strings must be valid UTF-8 (protobuf, Python str). NULL when
 * out of memory. */
char *out_utf8_clean(const char *s);

#endif
