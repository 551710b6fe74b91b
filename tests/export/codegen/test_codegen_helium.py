"""The Helium kernels' input-in-registers path and vector requantization (docs/design/helium.md): the
ERN_ROW_BLOCKS spare bytes, and the kernels themselves on golden data (numpy's exact sums, and TFLite's
MultiplyByQuantizedMultiplier for every requantization the exporter can make fast, baked into test programs
run on the Cortex-M55 in QEMU)."""

import numpy as np

from edgernn.export.codegen import fixedpoint as P
from edgernn.export.codegen.layout import ROW_BLOCKS_SPARE, pack_row_blocks
from tests.export.codegen.bare_metal import build_and_run, c_array

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


def _requant_cases(rng):
    """(x, m, round, e, offset): every (x, shift, offset) for which the exporter sets ern_requant_fast
    (fixedpoint.fast_requant: 1 <= e <= 31, |x| at most the bound it proved, below 2^30, and |x| + |round| below
    2^31), at that bound's extremes: shifts 1..31 (past 24 the kernels' plain sequence), offsets at the int8
    and int16 extremes, x at both ends of its bound, near 2^29 and at the rounding edges, multipliers at theirs."""
    cases = []
    for e in range(1, 32):
        for offset in (-32768, -128, -1, 0, 1, 127, 32767):
            rnd = (1 << (e - 1)) + offset * (1 << e)
            bound = min(2**30 - 1, 2**31 - 3 - abs(rnd))
            if bound < 1:
                continue
            assert P.fast_requant(bound, -e, offset) == (1, rnd) and P.fast_requant(bound + 1, -e, offset)[0] == 0
            xs = [int(v) for v in rng.integers(-bound, bound + 1, 4)] + [bound, -bound, 0, 1, -1]
            xs += [min(v, bound) * sign for v in (2**29, 1 << (e - 1), (1 << (e - 1)) + 1, 1 << e) for sign in (1, -1)]
            for x in xs:
                for m in (int(rng.integers(2**30, 2**31)), 2**31 - 1, 2**30):
                    cases.append((x, m, rnd, e, offset))
    return cases


def _mbqm(x: int, m: int, e: int, offset: int, lo: int, hi: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier(x, m, -e) + offset, clamped: what every fast requantization means."""
    return min(max(P.mbqm(x, m, -e) + offset, lo), hi)


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
    char *p = ern_put_s(line, "HELIUM cases=");
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


def _build_and_run(tmp_path, header: list[str], harness: str, needles: tuple[str, ...]) -> str:
    """The test program built with the M55 firmware's flags (DSP and Helium), checked for ``needles``
    (objdump's names), run in QEMU: what it printed."""
    return build_and_run(tmp_path, "mps3-an547", header, harness, defines=("-DERN_USE_DSP=1", "-DERN_USE_MVE=1"),
                         needles=needles, objdump_args=("-marmv8.1-m.main",), what="Helium kernel test")


def test_helium_dot_products_are_exact_on_the_cortex_m55(tmp_path):
    """ern_dot4_regs_v / ern_dot4_regs_doubled_v (input in vectors, whole 16-byte weight loads over the spare
    bytes) against numpy's exact sums."""
    rng = np.random.default_rng(11)
    lines = ["#include <stdint.h>", "typedef struct { int rows, cols; const int8_t *weights, *x;"
             " const int32_t *bias, *bias2, *expected, *expected2; } case_t;"]
    entries = []
    cases = [(rng.integers(-127, 128, (r, c)), rng.integers(-128, 128, c), rng.integers(-(2**20), 2**20, r))
             for r, c in SHAPES]
    cases += [(np.full((8, 64), w), np.full(64, x), np.array([2**20] * 8)) for w, x in ((-127, -128), (127, 127))]
    for i, (w, x, bias) in enumerate(cases):
        w, x, bias = np.asarray(w, np.int64), np.asarray(x, np.int64), np.asarray(bias, np.int64)
        expected = bias + w @ x
        lines += [f"static const int8_t w{i}[] ERN_ALIGN(4) = {{{c_array(pack_row_blocks(w))}}};",
                  f"static const int8_t x{i}[] = {{{c_array(x)}}};", f"static const int32_t b{i}[] = {{{c_array(bias)}}};",
                  f"static const int32_t c{i}[] ERN_ALIGN(4) = {{{c_array(2 * bias)}}};",
                  f"static const int32_t e{i}[] = {{{c_array(expected)}}};",
                  f"static const int32_t f{i}[] = {{{c_array(2 * expected)}}};"]
        entries.append(f"{{{len(w)}, {w.shape[1]}, w{i}, x{i}, b{i}, c{i}, e{i}, f{i}}}")
    lines += [f"#define N_CASES {len(entries)}", f"static const case_t cases[N_CASES] = {{{', '.join(entries)}}};"]
    text = _build_and_run(tmp_path, lines, HARNESS, ("vmlav",))  # VMLADAV, as objdump names it
    assert f"HELIUM cases={len(entries)} mismatches=0" in text, text[-500:]


RQ_HARNESS = r"""
#include "board.h"
#include "text.h"
#include "ern_dot_s8.h"
#include "cases.h"

static unsigned bad, reported;

/* Every lane of got against want; the first mismatches named in the log. */
static void check(const char *what, unsigned c, const int32_t got[4], int32_t want) {
    for (int j = 0; j < 4; ++j) {
        if (got[j] == want) continue;
        ++bad;
        if (reported++ < 8) {
            char line[96], *p = ern_put_s(line, "mismatch ");
            p = ern_put_s(p, what); p = ern_put_s(p, " case "); p = ern_put_u(p, c);
            p = ern_put_s(p, " got "); p = ern_put_u(p, (uint32_t)got[j]);
            p = ern_put_s(p, " want "); p = ern_put_u(p, (uint32_t)want);
            *p++ = '\n'; *p = 0;
            ern_puts(line);
        }
    }
}

static void check1(const char *what, unsigned c, int32_t got, int32_t want) {
    const int32_t g[4] = {got, got, got, got};
    check(what, c, g, want);
}

/* The vector requantizations of x2 (the doubled value: ern_requant_s8_v, ern_requant_s16_v, the plain
 * ern_requant_fast_v clamped) lane by lane against the scalar kernel's ern_requant_fast on each lane. */
static void check_doubled_against_scalar(const char *what, unsigned c, const int32_t x2[4], int32_t m, int32_t round,
                                         int e) {
    int32_t v[4], w[4], f[4];
    const int32x4_t xv = vld1q_s32(x2);
    vst1q_s32(v, ern_requant_s8_v(xv, m, round, e));
    vst1q_s32(w, ern_requant_s16_v(xv, m, round, e));
    vst1q_s32(f, ern_clamp_s8_v(ern_requant_fast_v(xv, m, round, e)));
    for (int j = 0; j < 4; ++j) {
        const int32_t s = ern_requant_fast(x2[j], m, round, e);
        check1(what, c, v[j], ern_clamp_s8(s));
        check1(what, c, w[j], ern_clamp_s16(s));
        check1(what, c, f[j], ern_clamp_s8(s));
    }
}

static uint32_t rng_state = 2463534242u;
static uint32_t next(void) { /* xorshift32 */
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 17; rng_state ^= rng_state << 5;
    return rng_state;
}

int main(void) {
    /* 1. TFLite's definition for every kind of fast requantization the exporter can emit (cases.h) */
    for (unsigned c = 0; c < N_RQ; ++c) {
        const rq_t *q = &rq[c];
        int32_t h[4], v[4], w[4], f[4];
        const int32x4_t x = vdupq_n_s32(q->x), x2 = vaddq_s32(x, x);
        vst1q_s32(h, ern_requant_s8_half_v(x, q->m, q->round, q->e));
        vst1q_s32(v, ern_requant_s8_v(x2, q->m, q->round, q->e));
        vst1q_s32(w, ern_requant_s16_v(x2, q->m, q->round, q->e));
        vst1q_s32(f, ern_clamp_s8_v(ern_requant_fast_v(x2, q->m, q->round, q->e)));
        check("half_v", c, h, q->s8);
        check("s8_v", c, v, q->s8);
        check("s16_v", c, w, q->s16);
        check("fast_v", c, f, q->s8);
        const int32_t s = ern_requant_fast(2 * q->x, q->m, q->round, q->e);
        check1("scalar s8", c, ern_clamp_s8(s), q->s8);
        check1("scalar s16", c, ern_clamp_s16(s), q->s16);
    }
    /* 2. Random draws in the same domain (fixedpoint.fast_requant's bound: 1 <= e <= 31, |x| <= min(2^30 - 1,
     * 2^31 - 3 - |round|)), 4 different lanes: every vector requantization against the scalar kernel's. */
    for (unsigned c = 0; c < N_RANDOM; ++c) {
        const int e = 1 + (int)(next() % 31);
        const int64_t offset = (int64_t)(next() % 256) - 128;
        const int64_t round = ((int64_t)1 << (e - 1)) + offset * ((int64_t)1 << e);
        const int64_t limit = ((int64_t)1 << 31) - 3 - (round < 0 ? -round : round);
        const int64_t bound = limit < ((1 << 30) - 1) ? limit : ((1 << 30) - 1);
        if (bound < 1) continue;
        const int32_t m = (int32_t)((1u << 30) + (next() >> 2));
        int32_t x[4], x2[4];
        for (int j = 0; j < 4; ++j) {
            const uint32_t r = next();
            x[j] = (int32_t)((int64_t)(r % (uint32_t)(2 * bound + 1)) - bound);
            if ((r & 15) == 0) x[j] = (r & 16) ? (int32_t)bound : (int32_t)-bound;
            x2[j] = 2 * x[j];
        }
        check_doubled_against_scalar("random", c, x2, m, (int32_t)round, e);
        int32_t h[4];
        vst1q_s32(h, ern_requant_s8_half_v(vld1q_s32(x), m, (int32_t)round, e));
        for (int j = 0; j < 4; ++j) check1("random half_v", c, h[j], ern_clamp_s8(ern_requant_fast(x2[j], m, (int32_t)round, e)));
    }
    /* 3. Outside the domain, the doubled input at the int32 ends (x = 2^30 doubles to INT32_MIN): no kernel
     * meets it (the exporter's bound is below 2^30), but vector and scalar still compute the same int32 bits. */
    for (int e = 25; e <= 31; ++e) {
        const int32_t x2[4] = {ERN_INT32_MIN, ERN_INT32_MAX, ERN_INT32_MIN + 1, -ERN_INT32_MAX + 2};
        check_doubled_against_scalar("int32 ends", (unsigned)e, x2, ERN_INT32_MAX, (int32_t)(1u << (e - 1)), e);
        check_doubled_against_scalar("int32 ends", (unsigned)e, x2, 1 << 30, (int32_t)(1u << (e - 1)), e);
    }
    char line[96], *p = ern_put_s(line, "REQUANT cases=");
    p = ern_put_u(p, N_RQ + N_RANDOM);
    p = ern_put_s(p, " mismatches=");
    p = ern_put_u(p, bad);
    *p++ = '\n';
    *p = 0;
    ern_puts(line);
    ern_exit(0);
    return 0;
}
"""


def test_helium_requantization_is_tflites_for_every_shift_the_exporter_emits(tmp_path):
    """The vector requantizations (ern_requant_s8_half_v with VQRDMULH, ern_requant_s8_v / ern_requant_s16_v with
    the VQSHL/VSHR clamps up to e = 24 (16), the plain VSHL sequence past it, up to e = 31) and the scalar
    ern_requant_fast, all on the Cortex-M55, against TFLite's MultiplyByQuantizedMultiplier + offset for every
    shift 1..31 fixedpoint.fast_requant can set, x at the ends of the bound it proves; random draws in that
    domain against the scalar kernel; the int32 ends of the doubled input, where vector and scalar agree too."""
    rng = np.random.default_rng(11)
    rq = [f"{{{x}, {m}, {r}, {e}, {_mbqm(x, m, e, o, -128, 127)}, {_mbqm(x, m, e, o, -32768, 32767)}}}"
          for x, m, r, e, o in _requant_cases(rng)]
    assert len(rq) > 2000 and max(int(c.split(", ")[3]) for c in rq) == 31
    lines = ["#include <stdint.h>", "typedef struct { int32_t x, m, round, e, s8, s16; } rq_t;",
             f"#define N_RQ {len(rq)}u", f"static const rq_t rq[N_RQ] = {{{', '.join(rq)}}};", "#define N_RANDOM 40000u"]
    text = _build_and_run(tmp_path, lines, RQ_HARNESS, ("vqrdmulh.s32", "vqshl.s32", "vrmulh.s32"))
    assert f"REQUANT cases={len(rq) + 40000} mismatches=0" in text, text[-800:]
