/* linetable.h — turn an instruction offset into a source line number.
 *
 * CPython has encoded "which line is this instruction on" four different ways
 * (see py_lines_model in layout.h). The walker copies the raw table bytes out
 * of the target and asks this module, which re-implements the decoding of
 * each CPython version's PyCode_Addr2Line on untrusted bytes: every read is
 * bounds-checked, so a torn or garbage table yields -1, never a crash. */
#ifndef PYFLARE_CPYTHON_LINETABLE_H
#define PYFLARE_CPYTHON_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/layout.h"

/* Line number of the instruction at byte offset `byte_offset` into the code's
 * bytecode, decoding `table` (the bytes of co_lnotab <= 3.9, co_linetable 3.10,
 * or the 3.11+ location table) per `model`, starting from `firstlineno`.
 *
 * byte_offset is: <= 3.9 f_lasti; 3.10 f_lasti * 2; 3.11+ the instruction
 * pointer minus the start of co_code_adaptive, in bytes. A negative offset
 * (no instruction executed yet) gives firstlineno, as CPython does.
 *
 * Returns the line, or -1 when the table says "no line" or is malformed /
 * runs out. Like CPython, the co_lnotab models never run out: an offset past
 * the last entry gets the last line. Never reads outside table[0..len). */
int py_line_for_offset(py_lines_model model, const uint8_t *table, size_t len,
                       int firstlineno, int64_t byte_offset);

#endif
