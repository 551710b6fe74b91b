"""The Helium kernels' input-in-registers path and vector requantization (docs/design/helium.md): the
ERN_ROW_BLOCKS spare bytes, and the kernels themselves on golden data (numpy's exact sums and the scalar
requantization's bits baked into a test program, run on the Cortex-M55 in QEMU)."""
import subprocess

import numpy as np

from edgernn.export.codegen.layout import ROW_BLOCKS_SPARE, pack_row_blocks
from edgernn.export.codegen.sources import firmware_dir
from edgernn.targets import qemu
from edgernn.targets.boards import get_board, linker_script

SHAPES = [(4, 1), (4, 4), (8, 10), (4, 15), (4, 16), (8, 17), (12, 33), (4, 48), (8, 63), (12, 64)]


def test_row_blocks_end_with_spare_zero_bytes():
    """Every 16-byte load from a row's 16-column chunk stays inside the array."""
    w = np.arange(-20, 20, dtype=np.int8).reshape(4, 10)
    packed = pack_row_blocks(w)
    assert packed.size == 4 * 12 + ROW_BLOCKS_SPARE and not packed[48:].any()
    assert list(packed[:10]) == list(w[0]) and list(packed[12:22]) == list(w[1]) and not packed[10:12].any()
    for cols in range(1, 65):
        stride = (cols + 3) // 4 * 4
        last_chunk = (cols - 1) // 16 * 16
        assert 3 * stride + last_chunk + 16 <= pack_row_blocks(np.ones((4, cols), np.int8)).size


def _requant(x2: int, m: int, rnd: int, e: int, lo: int, hi: int) -> int:
    """ern_clamp(ern_requant_fast(x2, m, round, e)) in Python integers (ern_support.h)."""
    v = (x2 * m + 2**31) >> 32
    return min(max((v + (-1 if v < 0 else 0) + rnd) >> e, lo), hi)


def _requant_cases(rng):
    """(x, m, round, e): x undoubled, |x| < 2^29 (x = 2^29, e = 29 is a known mismatch of the plain path past
    e = 24 in QEMU, see docs/design/helium.md); every shift 0..30 (past 24: the plain sequence), offsets at the
    int8 extremes, x at both ends."""
    cases = []
    for e in range(0, 31):
        for offset in (-128, 0, 127):
            rnd = (1 << (e - 1) if e else 0) + offset * (1 << e)
            if abs(rnd) >= 2**30:
                continue
            m = int(rng.integers(2**30, 2**31))
            for x in [int(v) for v in rng.integers(-(2**29), 2**29, 6)] + [2**29 - 1, -(2**29) + 1, 0, 1, -1, min(1 << e, 2**29 - 1)]:
                cases.append((x, m, rnd, e))
    return cases


HARNESS = r"""
#include "board.h"
#include "text.h"
#include "ern_dot_s8.h"
#include "cases.h"

static int8x16_t xv[4];

int main(void) {
    char line[96];
    unsigned bad = 0;
    for (int c = 0; c < N_CASES; ++c) {
        const case_t *k = &cases[c];
        const int stride = ERN_PAD4(k->cols);
        ern_load_chunks_v(k->x, k->cols, xv);
        for (int r = 0; r < k->rows; r += 4) {
            int32_t a[4], d[4];
            vst1q_s32(a, ern_dot4_regs_v(k->weights + r * stride, stride, xv, k->cols, k->bias + r));
            vst1q_s32(d, ern_dot4_regs_doubled_v(k->weights + r * stride, stride, xv, k->cols, k->bias2 + r));
            for (int j = 0; j < 4; ++j) bad += (a[j] != k->expected[r + j]) + (d[j] != k->expected2[r + j]);
            if (a[0] != k->expected[r] || d[0] != k->expected2[r]) {
                char *p = ern_put_s(line, "mismatch dot ");
                p = ern_put_u(p, (unsigned)c);
                *p++ = '\n';
                *p = 0;
                ern_puts(line);
            }
        }
    }
    for (int c = 0; c < N_RQ; ++c) {
        const rq_t *q = &rq[c];
        int32_t h[4], v[4], s[4];
        const int32x4_t x = vdupq_n_s32(q->x);
        vst1q_s32(h, ern_requant_s8_half_v(x, q->m, q->round, q->e));
        vst1q_s32(v, ern_requant_s8_v(vshlq_n_s32(x, 1), q->m, q->round, q->e));
        vst1q_s32(s, ern_requant_s16_v(vshlq_n_s32(x, 1), q->m, q->round, q->e));
        for (int j = 0; j < 4; ++j) bad += (h[j] != q->s8) + (v[j] != q->s8) + (s[j] != q->s16);
        if (h[0] != q->s8 || v[0] != q->s8 || s[0] != q->s16) { /* the first mismatches, for the log */
            char *p = ern_put_s(line, "mismatch rq ");
            p = ern_put_u(p, (unsigned)c);
            p = ern_put_s(p, h[0] != q->s8 ? " half" : (v[0] != q->s8 ? " s8" : " s16"));
            p = ern_put_s(p, " got "); p = ern_put_u(p, (unsigned)v[0]); p = ern_put_s(p, " "); p = ern_put_u(p, (unsigned)s[0]);
            *p++ = '\n';
            *p = 0;
            ern_puts(line);
        }
    }
    char *p = ern_put_s(line, "HELIUM cases=");
    p = ern_put_u(p, N_CASES + N_RQ);
    p = ern_put_s(p, " mismatches=");
    p = ern_put_u(p, bad);
    *p++ = '\n';
    *p = 0;
    ern_puts(line);
    ern_exit(0);
    return 0;
}
"""


def _c(values) -> str:
    return ", ".join(str(int(v)) for v in np.asarray(values).ravel())


def test_helium_kernels_are_exact_on_the_cortex_m55(tmp_path):
    """ern_dot4_regs_v / ern_dot4_regs_doubled_v (input in vectors, whole 16-byte weight loads over the spare
    bytes) against numpy's exact sums; ern_requant_s8_half_v (VQRDMULH), ern_requant_s8_v and ern_requant_s16_v
    (VQSHL/VSHR clamps) against the scalar requantization."""
    board = get_board("mps3-an547")
    rng = np.random.default_rng(11)
    lines = ["#include <stdint.h>", "typedef struct { int rows, cols; const int8_t *weights, *x;"
             " const int32_t *bias, *bias2, *expected, *expected2; } case_t;",
             "typedef struct { int32_t x, m, round, e, s8, s16; } rq_t;"]
    entries = []
    cases = [(rng.integers(-127, 128, (r, c)), rng.integers(-128, 128, c), rng.integers(-(2**20), 2**20, r))
             for r, c in SHAPES]
    cases += [(np.full((8, 64), w), np.full(64, x), np.array([2**20] * 8)) for w, x in ((-127, -128), (127, 127))]
    for i, (w, x, bias) in enumerate(cases):
        w, x, bias = np.asarray(w, np.int64), np.asarray(x, np.int64), np.asarray(bias, np.int64)
        expected = bias + w @ x
        lines += [f"static const int8_t w{i}[] ERN_ALIGN(4) = {{{_c(pack_row_blocks(w))}}};",
                  f"static const int8_t x{i}[] = {{{_c(x)}}};", f"static const int32_t b{i}[] = {{{_c(bias)}}};",
                  f"static const int32_t c{i}[] ERN_ALIGN(4) = {{{_c(2 * bias)}}};",
                  f"static const int32_t e{i}[] = {{{_c(expected)}}};",
                  f"static const int32_t f{i}[] = {{{_c(2 * expected)}}};"]
        entries.append(f"{{{len(w)}, {w.shape[1]}, w{i}, x{i}, b{i}, c{i}, e{i}, f{i}}}")
    rq = [f"{{{x}, {m}, {r}, {e}, {_requant(2 * x, m, r, e, -128, 127)}, {_requant(2 * x, m, r, e, -32768, 32767)}}}"
          for x, m, r, e in _requant_cases(rng)]
    lines += [f"#define N_CASES {len(entries)}", f"static const case_t cases[N_CASES] = {{{', '.join(entries)}}};",
              f"#define N_RQ {len(rq)}", f"static const rq_t rq[N_RQ] = {{{', '.join(rq)}}};"]
    (tmp_path / "cases.h").write_text("#include \"ern_common.h\"\n" + "\n".join(lines) + "\n")
    (tmp_path / "harness.c").write_text(HARNESS)
    (tmp_path / "link.ld").write_text(linker_script(board))
    fw = firmware_dir()
    sources = [fw / "boards" / f for f in ("startup.c", "timing.c", "text.c", "board_common.c")]
    elf = tmp_path / "helium.elf"
    cmd = ["arm-none-eabi-gcc", f"-mcpu={board.cpu}", "-mthumb", *board.arch_flags, "-O2", "-std=c99", "-ffreestanding",
           "-fno-builtin", "-Wall", "-Wextra", "-Werror", "-DERN_USE_MVE=1", "-I", str(tmp_path), "-I", str(fw / "boards"),
           "-I", str(fw / "runtime"), "-nostdlib", "-T", str(tmp_path / "link.ld"), "-Wl,--gc-sections",
           *map(str, sources), str(tmp_path / "harness.c"), str(fw / "runtime" / "ern_dot_s8.c"), "-lgcc", "-o", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code = subprocess.run(["arm-none-eabi-objdump", "-d", "-marmv8.1-m.main", str(elf)], capture_output=True,
                          text=True).stdout
    assert "vqrdmulh.s32" in code and "vqshl.s32" in code and "vmlav" in code  # VMLADAV, as objdump names it
    qemu.record_built(elf, elf.read_bytes())
    text, status = qemu.run_semihosted(elf, board.name, timeout=60, what="Helium kernel test")
    assert f"HELIUM cases={len(entries) + len(rq)} mismatches=0" in text, text[-500:]
