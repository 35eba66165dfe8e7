"""SAS transport v5 (XPT) observations encoded with numpy, for datasets of millions of rows.

pyreadstat inserts one Python value at a time (about 1 microsecond a cell: a quarter of an hour for the 12M
LB rows x 24 variables of 100,000 subjects). `sap.datasets.write_xpt` therefore lets pyreadstat write only
the header (from a one-row frame holding each column's widest value, so that it decides the variable types,
widths, labels and formats exactly as it would for the whole frame) and appends the observations encoded
here, byte for byte as readstat's xport writer (`readstat_xport_write.c`, `ieee.c`) encodes them:

- a number is an 8-byte IBM 370 double, converted from IEEE 754 as in SAS technical note TS-140 (exact: the
  53-bit IEEE fraction fits the 56-bit IBM fraction); zero, and magnitudes below 16**-65, are eight zero
  bytes; magnitudes above 16**63 (and infinities) are the largest IBM double of the sign;
- a missing number is SAS "." (0x2E followed by seven zero bytes);
- a text value is its UTF-8 bytes, left-aligned and blank-padded to the variable width (missing = blanks);
- observations follow one another with no separator; the last 80-byte record is padded with blanks.
"""

from __future__ import annotations

from typing import BinaryIO

import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RECORD_LENGTH = 80
BLANK = ord(" ")
SAS_MISSING = np.uint64(0x2E) << np.uint64(56)  # "." then seven zero bytes
ROWS_PER_BLOCK = 500_000  # observations encoded at a time: bounds the memory of the byte matrix
NAMESTR_HEADER = b"HEADER RECORD*******NAMESTR HEADER RECORD"
OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD"
NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhl52s")  # TS-140 namestr: ntype, nhfun, nlng, nvar0, nname, ...
NUMERIC, CHARACTER = 1, 2


def header_variables(header: bytes, count: int) -> list[tuple[int, int]]:
    """(type, width) of each variable from the NAMESTR records of an XPT v5 header: type 1 numeric,
    2 character (TS-140)."""
    start = header.index(NAMESTR_HEADER) + RECORD_LENGTH
    fields = [NAMESTR.unpack_from(header, start + i * NAMESTR.size) for i in range(count)]
    return [(ntype, nlng) for ntype, _, nlng, *_ in fields]


def header_length(data: bytes) -> int:
    """Bytes up to and including the OBS header record, after which the observations start."""
    return data.index(OBS_HEADER) + RECORD_LENGTH


def ibm_doubles(values: np.ndarray) -> np.ndarray:
    """IEEE 754 doubles -> IBM 370 doubles (TS-140 `ieee2xpt`), as an (n, 8) uint8 matrix, big-endian;
    NaN -> SAS missing ".". Example: 1.0 = 2**0 -> IEEE exponent 0, fraction 1.0 -> IBM 16**1 x 0.0625
    -> bytes 41 10 00 00 00 00 00 00."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits >> np.uint64(63)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023  # power of 2, unbiased
    fraction = (bits & np.uint64((1 << 52) - 1)) | np.uint64(1 << 52)  # with the implied leading 1
    shift = (exponent & 3).astype(np.uint64)  # binary -> hex exponent: the fraction moves left 0-3 bits
    ibm_exponent = ((exponent >> 2) + 65).clip(0, 127).astype(np.uint64)  # excess 64, +1 for the fraction position
    ibm = ((ibm_exponent | (sign << np.uint64(7))) << np.uint64(56)) | (fraction << shift)
    ibm = np.where(exponent < -260, np.uint64(0), ibm)  # underflow, zero and -0.0 (exponent -1023)
    largest = ((np.uint64(0x7F) | (sign << np.uint64(7))) << np.uint64(56)) | np.uint64((1 << 56) - 1)
    ibm = np.where(exponent > 248, largest, ibm)  # overflow and infinities
    ibm = np.where(np.isnan(x), SAS_MISSING, ibm)
    return ibm.astype(">u8").view(np.uint8).reshape(len(x), 8)


def text_bytes(values: pa.Array, width: int) -> np.ndarray:
    """UTF-8 text -> an (n, width) uint8 matrix, each value left-aligned and blank-padded; null = blanks.
    Values must fit the width (the caller takes the width from the longest value)."""
    filled = pc.fill_null(values, "")
    n = len(filled)
    # ASCII text (nearly all of it): Arrow pads every value to `width` characters = bytes, so the padded
    # values lie back to back in one buffer that is already the (n, width) matrix; no per-byte scatter
    padded = _contiguous(pc.cast(pc.utf8_rpad(filled, width=width, padding=" "), pa.large_binary()))
    offsets, data = _buffers(padded)
    if n and int(offsets[-1]) - int(offsets[0]) == n * width:  # every value exactly `width` bytes
        return data[int(offsets[0]):int(offsets[-1])].reshape(n, width).copy()
    binary = _contiguous(pc.cast(filled, pa.large_binary()))
    offsets, data = _buffers(binary)
    start, stop = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    out = np.full((n, width), BLANK, dtype=np.uint8)
    # flat position of each byte: its row start in `out` plus its position within the value
    flat = np.arange(stop - start, dtype=np.int64) + np.repeat(np.arange(n, dtype=np.int64) * width - (offsets[:-1] - start), lengths)
    out.reshape(-1)[flat] = data[start:stop]
    return out


def _contiguous(array):
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _buffers(binary: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (n + 1) and data bytes of a large_binary array."""
    n = len(binary)
    offsets = np.frombuffer(binary.buffers()[1], dtype=np.int64)[binary.offset: binary.offset + n + 1]
    data = binary.buffers()[2]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def text_byte_lengths(values: pa.Array) -> np.ndarray:
    """UTF-8 byte length of each value (0 for null)."""
    lengths = pc.binary_length(pc.cast(pc.fill_null(values, ""), pa.large_binary()))
    return lengths.to_numpy(zero_copy_only=False)


def write_observations(handle: BinaryIO, columns: list[tuple[str, object, int]], rows: int, written: int) -> int:
    """Append the observations after an XPT header of `written` bytes and pad the last record; `columns` are
    (kind, values, width) in variable order: ("number", float64 array, 8) or ("text", Arrow text array,
    width). Returns the total file length."""
    row_length = sum(width for _, _, width in columns)
    for begin in range(0, rows, ROWS_PER_BLOCK):
        end = min(begin + ROWS_PER_BLOCK, rows)
        block = np.empty((end - begin, row_length), dtype=np.uint8)
        position = 0
        for kind, values, width in columns:
            part = values[begin:end]
            block[:, position:position + width] = ibm_doubles(part) if kind == "number" else text_bytes(part, width)
            position += width
        handle.write(block.data)  # the contiguous matrix itself, no copy
        written += block.size
    padding = -written % RECORD_LENGTH
    handle.write(b" " * padding)
    return written + padding
