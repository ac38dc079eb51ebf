"""sections.py - a capture file (.pyflare) taken apart into its sections and
put back together, for the tests that make altered captures (tests/capture)
and the size figures (bench/capture_size.py).

Written from the format's description in src/input/capture_read.h, not from
the C: a 32-byte header (magic, version, encoding, the body's length and
CRC-32), then the body deflated; the body is (tag, length, payload)
sections, unsigned LEB128 varints, ending with tag 0. pyflare writes every
varint in its shortest form, so a body rebuilt from unchanged sections is the
same bytes. Standard library only.
"""
import os
import sys
import zlib

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
from harness import read_varint  # noqa: E402  (tests/harness.py)

HEADER_LEN = 32
END, SAMPLES, SOURCES = 0, 8, 9  # capture_read.h's CAP_END, CAP_SAMPLES, CAP_SOURCES


def varint(v):
    """v (>= 0) as an unsigned LEB128 varint."""
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
        v >>= 7
        if not v:
            return bytes(out)


def read(path):
    """(header, [(tag, payload)]) of the capture at path: its 32 header bytes
    and its body's sections in order, the end tag left out."""
    with open(path, "rb") as f:
        data = f.read()
    body = zlib.decompress(data[HEADER_LEN:])
    found, at = [], 0
    while True:
        tag, at = read_varint(body, at)
        if tag == END:
            return data[:HEADER_LEN], found
        length, at = read_varint(body, at)
        found.append((tag, body[at:at + length]))
        at += length


def body(sections):
    """The body holding sections [(tag, payload)], with its end tag."""
    return b"".join(varint(tag) + varint(len(payload)) + payload for tag, payload in sections) + varint(END)


def replaced(sections, tag, payload):
    """sections with the payload of those tagged tag replaced."""
    return [(t, payload if t == tag else p) for t, p in sections]


def wrap(header, sections, version=None, level=-1):
    """The capture file holding sections, with header's fields but its body's
    length and CRC-32 made right (and its version, when given), so a reader
    gets past them; deflated at zlib's level (pyflare's: the default)."""
    out = body(sections)
    head = bytearray(header)
    if version is not None:
        head[8:12] = version.to_bytes(4, "little")
    head[16:24] = len(out).to_bytes(8, "little")
    head[24:28] = (zlib.crc32(out) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(head) + zlib.compress(out, level)


def write(dest, header, sections, version=None, level=-1):
    """wrap()'s file written to dest; returns its size."""
    data = wrap(header, sections, version, level)
    with open(dest, "wb") as f:
        f.write(data)
    return len(data)


def without_sources(path):
    """The size of the capture at path without its SOURCES section (the
    source text that folded stacks do not carry), deflated as pyflare
    deflates."""
    header, found = read(path)
    return len(wrap(header, [(t, p) for t, p in found if t != SOURCES]))
