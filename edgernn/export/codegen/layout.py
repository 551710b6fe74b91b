"""Weight layouts of the C kernels, chosen at export: the plain packed blocks (reference and DSP kernels),
Helium's row blocks and the DSP kernels' paired rows (docs/design/paired-rows.md). Pure numpy, shared by
the emitter and the op units."""
from __future__ import annotations

import numpy as np


def pad4(n: int) -> int:
    return (n + 3) // 4 * 4


def pack_weights(w: np.ndarray) -> np.ndarray:
    """[rows][cols] int8 -> the kernels' layout: rows in blocks of 4, columns in groups of 4, zero-padded;
    block b, group g holds 4 bytes of each of rows 4b..4b+3 in turn."""
    rows, cols = w.shape
    padded = np.zeros((pad4(rows), pad4(cols)), np.int8)
    padded[:rows, :cols] = w
    return padded.reshape(pad4(rows) // 4, 4, pad4(cols) // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


ROW_BLOCKS_SPARE = 16  # zero bytes after the last row: a 16-byte load from any row's 16-column chunk stays inside


def pack_row_blocks(w: np.ndarray) -> np.ndarray:
    """The Helium kernels' layout (ERN_ROW_BLOCKS): the same padded blocks of 4 rows, each row whole in turn,
    then ROW_BLOCKS_SPARE zero bytes, so the kernels load every 16-column chunk of a row whole, without a
    predicate (the lanes past the row meet the input's zero lanes; docs/design/helium.md)."""
    rows, cols = w.shape
    padded = np.zeros((pad4(rows), pad4(cols)), np.int8)
    padded[:rows, :cols] = w
    return np.concatenate([padded.reshape(-1), np.zeros(ROW_BLOCKS_SPARE, np.int8)])


def pack_pairs(w: np.ndarray) -> np.ndarray:
    """The DSP kernels' paired-row layout (ERN_PAIR_ROWS, docs/design/paired-rows.md): blocks of 4 rows, in each
    rows (0, 1) and (2, 3) as pairs (P, Q) sharing halfwords 256 P[c] + Q[c] (little-endian: byte Q[c], then
    P[c] - [Q[c] < 0]); columns padded to even, in groups of 4 (pair 0 columns 0-1, pair 0 columns 2-3, pair 1
    columns 0-1, pair 1 columns 2-3), then a half group of the last 2 columns if their number of pairs is odd.
    The caller checks the halfwords fit int16 (fixedpoint.pair_rows_fit)."""
    rows, cols = w.shape
    c2 = cols + (cols & 1)
    padded = np.zeros((pad4(rows), c2), np.int64)
    padded[:rows, :cols] = w
    blocks = padded.reshape(-1, 2, 2, c2)                    # block, pair, (P, Q), column
    half = 256 * blocks[:, :, 0, :] + blocks[:, :, 1, :]     # block, pair, column
    nb, groups = half.shape[0], c2 // 4
    full = half[:, :, :4 * groups].reshape(nb, 2, groups, 2, 2).transpose(0, 2, 1, 3, 4).reshape(nb, -1)
    tail = half[:, :, 4 * groups:].reshape(nb, -1)           # pair 0 (c, c+1), pair 1 (c, c+1)
    halves = np.concatenate([full, tail], axis=1).reshape(-1)
    assert halves.min(initial=0) >= -2**15 and halves.max(initial=0) < 2**15, "paired halfword out of int16"
    return halves.astype("<i2").view(np.int8)


def unpack_pairs(packed: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """pack_pairs read back (for tests and the documentation): [rows][cols] int8."""
    c2 = cols + (cols & 1)
    halves = np.asarray(packed, np.int8).view("<i2").astype(np.int64).reshape(pad4(rows) // 4, -1)
    nb, groups = halves.shape[0], c2 // 4
    full = halves[:, :8 * groups].reshape(nb, groups, 2, 2, 2).transpose(0, 2, 1, 3, 4).reshape(nb, 2, 4 * groups)
    tail = halves[:, 8 * groups:].reshape(nb, 2, c2 - 4 * groups)
    half = np.concatenate([full, tail], axis=2)               # block, pair, column
    q = (half + 128) % 256 - 128                             # the low byte, signed
    p = (half - q) // 256
    out = np.stack([p, q], axis=2).reshape(pad4(rows), c2)
    return out[:rows, :cols].astype(np.int8)


def pair_stream(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """A fused paired-row stream (ern_dot4p_stream): for each (start values of a block of 4 rows, its paired
    weights), the 4 start words 256 i0 + i1, i1, 256 i2 + i3, i3 (int32, wrapping as the core adds) as bytes,
    then the weights. ``parts`` in the order the kernel reads them."""
    out = []
    for init, block in parts:
        i = np.zeros(4, np.int64)
        i[:len(init)] = init
        words = np.array([256 * i[0] + i[1], i[1], 256 * i[2] + i[3], i[3]], np.int64)
        out += [((words + 2**31) % 2**32 - 2**31).astype("<i4").view(np.int8), np.asarray(block, np.int8)]
    return np.concatenate(out) if out else np.zeros(0, np.int8)
