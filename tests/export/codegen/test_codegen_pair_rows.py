"""The paired-row weight layout of the DSP kernels (docs/design/paired-rows.md): the packer, the export-time
check that chooses it, and the kernels themselves on golden data (numpy's exact products baked into a test
program, run on the Cortex-M4 in QEMU, as CMSIS-NN tests each kernel on its own data)."""

import numpy as np
import pytest

from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.layout import pack_pairs, pack_weights, pair_stream, unpack_pairs
from tests.export.codegen.bare_metal import build_and_run, c_array

SHAPES = [(4, 1), (4, 2), (4, 3), (4, 4), (7, 5), (8, 6), (12, 10), (4, 16), (8, 17), (12, 64), (8, 74)]


@pytest.mark.parametrize("rows,cols", SHAPES)
def test_pack_pairs_round_trips_and_shares_halfwords(rows, cols):
    rng = np.random.default_rng(rows * 100 + cols)
    w = rng.integers(-127, 128, (rows, cols)).astype(np.int8)
    packed = pack_pairs(w)
    assert packed.size == (rows + 3) // 4 * 4 * (cols + cols % 2)  # padded to 4 rows and an even column count
    assert np.array_equal(unpack_pairs(packed, rows, cols), w)
    # the first group's first word: halfwords 256 w[0][c] + w[1][c] for columns 0, 1 (as SMLAD reads them)
    half = packed[:4].view("<i2").astype(np.int64)
    wide = np.zeros((4, 2), np.int64)
    wide[:rows, :min(cols, 2)] = w[:4, :2]
    assert list(half) == [256 * wide[0, 0] + wide[1, 0], 256 * wide[0, 1] + wide[1, 1]]


def test_pair_rows_fit_refuses_what_the_kernel_cannot_recover():
    ok = np.full((4, 8), 127, np.int8)
    assert P.pair_rows_fit(ok) and P.pair_rows_fit(-ok)
    bad = ok.copy()
    bad[0, 3], bad[1, 3] = -128, -1  # 256 * -128 - 1 is below int16
    assert not P.pair_rows_fit(bad)
    bad[1, 3] = 0  # -128 over a non-negative byte fits
    assert P.pair_rows_fit(bad)
    long_rows = np.full((4, 300), 127, np.int8)  # 300 * 127 * 128 * 2 > 2^23: (a - b) >> 8 would wrap
    assert P.pair_rows_fit(long_rows) and not P.pair_rows_fit(long_rows, doubled=True)
    assert not P.pair_rows_fit(ok, init=np.full(4, 2**23))


def test_pair_stream_starts_each_block_with_its_combined_start_values():
    block = np.arange(16, dtype=np.int8)
    s = pair_stream([(np.array([1, -2, 3, -4]), block), (np.array([-(2**22), 5]), block[:8])])
    words = s[:16].view("<i4")
    assert list(words) == [256 * 1 - 2, -2, 256 * 3 - 4, -4]
    assert np.array_equal(s[16:32], block)
    assert list(s[32:48].view("<i4")) == [256 * -(2**22) + 5, 5, 0, 0]
    assert s.size == 16 + 16 + 16 + 8


def _cases():
    """(weights, x, start values, doubled) covering every column remainder, the int8 extremes and start values
    near the 2^23 bound."""
    rng = np.random.default_rng(7)
    cases = []
    for rows, cols in SHAPES:
        cases.append((rng.integers(-127, 128, (rows, cols)), rng.integers(-128, 128, cols),
                      rng.integers(-5000, 5000, rows), False))
        cases.append((rng.integers(-127, 128, (rows, cols)), rng.integers(-128, 128, cols),
                      rng.integers(-(2**20), 2**20, rows), True))
    for w_value, x_value in ((-127, -128), (127, -128), (-127, 127), (127, 127)):
        w = np.full((8, 64), w_value)
        w[1::2] = -w_value  # the low rows of each pair of the opposite sign: every borrow in play
        limit = P.PAIR_ROWS_LIMIT - 1 - 2 * 64 * 127 * 128
        cases.append((w, np.full(64, x_value), np.array([limit, -limit] * 4), True))
    return cases


HARNESS = r"""
#include "board.h"
#include "text.h"
#include "ern_dot_s8.h"
#include "cases.h"

int main(void) {
    static int16_t x16[80] ERN_ALIGN(4);
    char line[96];
    unsigned bad = 0;
    for (int c = 0; c < N_CASES; ++c) {
        const case_t *k = &cases[c];
        if (k->doubled) ern_widen2_pairs_s8(k->x, k->cols, x16);
        else ern_widen_pairs_s8(k->x, k->cols, x16);
        const int8_t *stream = k->stream;
        for (int r = 0; r < k->rows; r += 4) {
            int32_t a[4], s[4];
            ern_dot4p_from(k->weights + r * ERN_PAD2(k->cols), x16, k->cols, k->init[r], k->init[r + 1],
                           k->init[r + 2], k->init[r + 3], a);
            if (k->cols == 64) stream = ern_dot4p_stream(stream, x16, 64, s);  /* constant: the 4-group loop */
            else if (k->cols == 10) stream = ern_dot4p_stream(stream, x16, 10, s); /* constant: 2 groups + half */
            else stream = ern_dot4p_stream(stream, x16, k->cols, s);          /* run-time: the 2-group loop */
            for (int j = 0; j < 4; ++j) bad += (a[j] != k->expected[r + j]) + (s[j] != k->expected[r + j]);
        }
    }
    char *p = ern_put_s(line, "PAIR-ROWS cases=");
    p = ern_put_u(p, N_CASES);
    p = ern_put_s(p, " mismatches=");
    p = ern_put_u(p, bad);
    *p++ = '\n';
    *p = 0;
    ern_puts(line);
    ern_exit(0);
    return 0;
}
"""


def test_paired_kernels_are_exact_on_the_cortex_m4(tmp_path):
    """ern_dot4p_from and ern_dot4p_stream (DSP: SMLAD on raw words, SXTB16, LDM) against numpy's exact sums."""
    lines = ["#include <stdint.h>", "typedef struct { int rows, cols, doubled; const int8_t *weights, *stream, *x;"
             " const int32_t *init, *expected; } case_t;"]
    entries = []
    for i, (w, x, init, doubled) in enumerate(_cases()):
        w, x, init = np.asarray(w, np.int64), np.asarray(x, np.int64), np.asarray(init, np.int64)
        assert P.pair_rows_fit(w, init, doubled)
        rows4 = (len(w) + 3) // 4 * 4
        start = np.zeros(rows4, np.int64)
        start[:len(init)] = init
        expected = start.copy()
        expected[:len(w)] += (2 if doubled else 1) * (w @ x)
        packed = pack_pairs(w)
        block = packed.size // (rows4 // 4)
        stream = pair_stream([(start[r:r + 4], packed[r // 4 * block:(r // 4 + 1) * block]) for r in range(0, rows4, 4)])
        lines += [f"static const int8_t w{i}[] ERN_ALIGN(4) = {{{c_array(packed)}}};",
                  f"static const int8_t s{i}[] ERN_ALIGN(4) = {{{c_array(stream)}}};",
                  f"static const int8_t x{i}[] = {{{c_array(x)}}};",
                  f"static const int32_t i{i}[] = {{{c_array(start)}}};", f"static const int32_t e{i}[] = {{{c_array(expected)}}};"]
        entries.append(f"{{{rows4}, {w.shape[1]}, {int(doubled)}, w{i}, s{i}, x{i}, i{i}, e{i}}}")
    lines += [f"#define N_CASES {len(entries)}", f"static const case_t cases[N_CASES] = {{{', '.join(entries)}}};"]
    text = build_and_run(tmp_path, "mps2-an386", lines, HARNESS, defines=("-DERN_USE_DSP=1",), needles=("smlad",),
                         what="paired-row kernel test")
    assert f"PAIR-ROWS cases={len(entries)} mismatches=0" in text, text[-500:]


def test_plain_layout_is_unchanged():
    """--reference and Helium builds keep the plain blocks: the packer they read is the one they always read."""
    w = np.arange(-20, 20, dtype=np.int8).reshape(4, 10)
    plain = pack_weights(w)
    assert plain.size == 4 * 12 and list(plain[:4]) == list(w[0, :4]) and list(plain[4:8]) == list(w[1, :4])
