/* ern_dot_4rows with Helium (MVE, Cortex-M55): 16 int8 products summed per VMLADAVA instruction.
 * Weights: 4 rows one after the other in each block (ERN_ROW_BLOCKS), cols padded to 4; input: int8,
 * zero-padded to 4 (ern_widen_s8). Loads past the padded length are predicated off (VCTP), so
 * nothing outside the buffers is read. Bit-exact with ern_dot_s8_ref.h: the same integer sums. */
#ifndef ERN_DOT_S8_MVE_H_
#define ERN_DOT_S8_MVE_H_
#include <arm_mve.h>

#include "ern_support.h"

/* acc[k] = i_k + row k . x (ern_dot_4rows starts from zero). */
static inline void ern_dot_4rows_from(const int8_t *w, const int16_t *x16, int groups, int32_t i0, int32_t i1, int32_t i2,
                                  int32_t i3, int32_t acc[4]) {
    const int8_t *x = (const int8_t *)x16;
    const int n = groups * 4; /* padded columns */
    const int8_t *w0 = w, *w1 = w + n, *w2 = w + 2 * n, *w3 = w + 3 * n;
    int32_t s0 = i0, s1 = i1, s2 = i2, s3 = i3;
    for (int c = 0; c < n; c += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - c));
        const int8x16_t xv = vld1q_z_s8(x + c, p);
        s0 = vmladavaq_s8(s0, vld1q_z_s8(w0 + c, p), xv);
        s1 = vmladavaq_s8(s1, vld1q_z_s8(w1 + c, p), xv);
        s2 = vmladavaq_s8(s2, vld1q_z_s8(w2 + c, p), xv);
        s3 = vmladavaq_s8(s3, vld1q_z_s8(w3 + c, p), xv);
    }
    acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3;
}

/* ---- 4 rows at once for the fused kernels (GRU step, LSTM): results in the lanes of one vector ---- */

/* ern_requant_fast on 4 lanes: VRMULH is SMMULR (round(a * m / 2^32), ties up); VSHL by -e shifts right
 * arithmetically, truncating like >>. The scalar ern_requant_fast's int32 steps, so its bits, for 1 <= e <= 31
 * (the doubled input's int32 ends included). Like it, TFLite's requantization only where the exporter proved
 * it (fixedpoint.fast_requant): x2 = 2x with |x| < 2^30; past that 2x wraps before any kernel sees it. */
static ERN_ALWAYS_INLINE int32x4_t ern_requant_fast_v(int32x4_t x2, int32_t m, int32_t round, int e) {
    int32x4_t v = vrmulhq_s32(x2, vdupq_n_s32(m));
    v = vaddq_s32(v, vshrq_n_s32(v, 31));
    return vshlq_r_s32(vaddq_n_s32(v, round), -e);
}

/* ern_clamp_s8 on 4 lanes: VQSHL by 24 saturates exactly the lanes outside -128..127 (to INT32_MIN or INT32_MAX),
 * VSHR by 24 brings them back; no constant vectors held. */
static ERN_ALWAYS_INLINE int32x4_t ern_clamp_s8_v(int32x4_t v) {
    return vshrq_n_s32(vqshlq_n_s32(v, 24), 24);
}

/* ern_clamp_s8(ern_requant_fast(...)) on 4 lanes, the shift and the clamp in two instructions: for 0 <= e <= 24, a
 * saturating left shift by 24 - e (VQSHL) then an arithmetic right shift by 24 give floor(w / 2^e) clamped to
 * -128..127 (w 2^(24-e) leaves int32 exactly when floor(w / 2^e) leaves int8, and saturates to the side's
 * bound, which >> 24 makes 127 or -128). Wider shifts: the plain sequence. The same bits either way. */
static ERN_ALWAYS_INLINE int32x4_t ern_requant_s8_v(int32x4_t x2, int32_t m, int32_t round, int e) {
    if (e < 0 || e > 24) return ern_clamp_s8_v(ern_requant_fast_v(x2, m, round, e));
    /* (v >> e) clamped: floor(v 2^(24-e) / 2^24), the product saturating where the result leaves int8 */
    int32x4_t v = vrmulhq_s32(x2, vdupq_n_s32(m));
    v = vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), round);
    return vshrq_n_s32(vqshlq_r_s32(v, 24 - e), 24);
}

/* The same to int16 (ern_clamp_s16(ern_requant_fast(...))), for 0 <= e <= 16: VQSHL by 16 - e, VSHR by 16. */
static ERN_ALWAYS_INLINE int32x4_t ern_requant_s16_v(int32x4_t x2, int32_t m, int32_t round, int e) {
    if (e < 0 || e > 16) {
        const int32x4_t w = ern_requant_fast_v(x2, m, round, e);
        return vshrq_n_s32(vqshlq_n_s32(w, 16), 16);
    }
    int32x4_t v = vrmulhq_s32(x2, vdupq_n_s32(m));
    v = vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), round);
    return vshrq_n_s32(vqshlq_r_s32(v, 16 - e), 16);
}

/* 16 weight bytes as one VLDRW: the packed weights are 4-byte aligned (ERN_ALIGN(4)) and their rows PAD4(cols)
 * apart, and VLDRW reaches 4 times as far from one base register as VLDRB (fewer address instructions). */
static ERN_ALWAYS_INLINE int8x16_t ern_load_w16(const int8_t *w) {
    return vreinterpretq_s8_s32(vld1q_s32((const int32_t *)(const void *)w));
}

/* The end of the 4-row products below: the last partial 16 columns (lanes past cols predicated off: read as
 * zero, nothing read past), the 4 sums into one vector, bias2 + 2 * sum. */
static ERN_ALWAYS_INLINE int32x4_t ern_dot4_finish_v(int32_t s0, int32_t s1, int32_t s2, int32_t s3, const int8_t *w,
                                                     int stride, const int8_t *x, int cols, int c,
                                                     const int32_t *bias2) {
    if (c < cols) {
        const mve_pred16_t p = vctp8q((uint32_t)(cols - c));
        const int8x16_t xv = vld1q_z_s8(x + c, p);
        s0 = vmladavaq_s8(s0, vld1q_z_s8(w + c, p), xv);
        s1 = vmladavaq_s8(s1, vld1q_z_s8(w + stride + c, p), xv);
        s2 = vmladavaq_s8(s2, vld1q_z_s8(w + 2 * stride + c, p), xv);
        s3 = vmladavaq_s8(s3, vld1q_z_s8(w + 3 * stride + c, p), xv);
    }
    int32x4_t s = vdupq_n_s32(s0);
    s = vsetq_lane_s32(s1, s, 1);
    s = vsetq_lane_s32(s2, s, 2);
    s = vsetq_lane_s32(s3, s, 3);
    return vaddq_s32(vld1q_s32(bias2), vshlq_n_s32(s, 1));
}

#define ERN_DOT4_FULL_CHUNKS                                                \
    for (; c + 16 <= cols; c += 16) {                                       \
        const int8x16_t xv = vld1q_s8(x + c);                               \
        s0 = vmladavaq_s8(s0, ern_load_w16(w + c), xv);                     \
        s1 = vmladavaq_s8(s1, ern_load_w16(w + stride + c), xv);            \
        s2 = vmladavaq_s8(s2, ern_load_w16(w + 2 * stride + c), xv);        \
        s3 = vmladavaq_s8(s3, ern_load_w16(w + 3 * stride + c), xv);        \
    }

/* 4 rows (row k at w + k * stride) . x, |cols| int8 each, as bias2 + 2 * dot: ern_requant_fast's doubled argument. */
static ERN_ALWAYS_INLINE int32x4_t ern_dot4_doubled_v(const int8_t *w, int stride, const int8_t *x, int cols,
                                                      const int32_t *bias2) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int c = 0;
    ERN_DOT4_FULL_CHUNKS
    return ern_dot4_finish_v(s0, s1, s2, s3, w, stride, x, cols, c, bias2);
}

/* The same with the 16-column loop unrolled 4 times: faster where few other values are live (the GRU step's
 * projection loops), slower where the unrolled loop spills (the LSTM's gates). */
static ERN_ALWAYS_INLINE int32x4_t ern_dot4_doubled_unrolled_v(const int8_t *w, int stride, const int8_t *x, int cols,
                                                               const int32_t *bias2) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int c = 0;
#pragma GCC unroll 4
    ERN_DOT4_FULL_CHUNKS
    return ern_dot4_finish_v(s0, s1, s2, s3, w, stride, x, cols, c, bias2);
}
#undef ERN_DOT4_FULL_CHUNKS

/* 4 scalars into the lanes of one vector with two VMOV Qd[2], Qd[0], Rt, Rt2 (two lanes each; GCC builds the
 * vector from vsetq_lane one lane at a time). */
static ERN_ALWAYS_INLINE int32x4_t ern_lanes4_v(int32_t s0, int32_t s1, int32_t s2, int32_t s3) {
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %3\n\tvmov %q0[3], %q0[1], %2, %4" : "=&w"(v) : "r"(s0), "r"(s1), "r"(s2), "r"(s3));
    return v;
}

/* ---- the input held in registers (issue 27 item 3, docs/design/helium.md) ----
 * A projection with at most ERN_MVE_REG_COLS columns keeps its input as 16-byte chunks in vectors for all its
 * rows (zero past the columns), and loads every chunk of a weight row whole, unpredicated: the lanes past the
 * row (its padding, the next row's first bytes, or the ERN_ROW_BLOCKS array's 16 spare zero bytes after the
 * last row) meet the input's zero lanes. The same integer sums as the loops above. */
#define ERN_MVE_REG_COLS 64

/* x's 16-column chunks, zero past cols (predicated loads: nothing read past x); chunks past cols unused. */
static ERN_ALWAYS_INLINE void ern_load_chunks_v(const int8_t *x, int cols, int8x16_t xv[4]) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
        if (cols - 16 * k >= 16) xv[k] = vld1q_s8(x + 16 * k);
        else if (cols > 16 * k) xv[k] = vld1q_z_s8(x + 16 * k, vctp8q((uint32_t)(cols - 16 * k)));
        else xv[k] = vdupq_n_s8(0);
    }
}

/* 4 rows (row k at w + k * stride, stride a multiple of 4) . x, x in registers (ern_load_chunks_v),
 * as bias2 + 2 * dot (ern_requant_fast's doubled argument). */
static ERN_ALWAYS_INLINE int32x4_t ern_dot4_regs_doubled_v(const int8_t *w, int stride, const int8x16_t xv[4],
                                                           int cols, const int32_t *bias2) {
    int32_t s0 = vmladavq_s8(ern_load_w16(w), xv[0]), s1 = vmladavq_s8(ern_load_w16(w + stride), xv[0]);
    int32_t s2 = vmladavq_s8(ern_load_w16(w + 2 * stride), xv[0]), s3 = vmladavq_s8(ern_load_w16(w + 3 * stride), xv[0]);
#pragma GCC unroll 3
    for (int k = 1; k < 4; ++k) {
        if (16 * k >= cols) break;
        s0 = vmladavaq_s8(s0, ern_load_w16(w + 16 * k), xv[k]);
        s1 = vmladavaq_s8(s1, ern_load_w16(w + stride + 16 * k), xv[k]);
        s2 = vmladavaq_s8(s2, ern_load_w16(w + 2 * stride + 16 * k), xv[k]);
        s3 = vmladavaq_s8(s3, ern_load_w16(w + 3 * stride + 16 * k), xv[k]);
    }
    return vaddq_s32(vld1q_s32(bias2), vshlq_n_s32(ern_lanes4_v(s0, s1, s2, s3), 1));
}


/* One row . x (x in registers) from start value s: the row's chunks in memory order (one base register,
 * immediate offsets). */
static ERN_ALWAYS_INLINE int32_t ern_row_regs(int32_t s, const int8_t *w, const int8x16_t xv[4], int cols) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
        if (16 * k >= cols) break;
        s = vmladavaq_s8(s, ern_load_w16(w + 16 * k), xv[k]);
    }
    return s;
}

/* 4 rows (row k at w + k * stride) . x, x in registers, each accumulator started from its (plain, not doubled)
 * bias: bias + dot, undoubled, for ern_requant_s8_half_v. */
static ERN_ALWAYS_INLINE int32x4_t ern_dot4_regs_v(const int8_t *w, int stride, const int8x16_t xv[4], int cols,
                                                   const int32_t *bias) {
    const int32_t s0 = ern_row_regs(bias[0], w, xv, cols), s1 = ern_row_regs(bias[1], w + stride, xv, cols);
    const int32_t s2 = ern_row_regs(bias[2], w + 2 * stride, xv, cols), s3 = ern_row_regs(bias[3], w + 3 * stride, xv, cols);
    return ern_lanes4_v(s0, s1, s2, s3);
}

/* ern_requant_s8_v from the undoubled x: VQRDMULH by the scalar m is (2 x m + 2^31) >> 32, SMMULR of 2x, exactly
 * (it saturates only for x = m = INT32_MIN, and m > 0): no doubling, no multiplier vector held. */
static ERN_ALWAYS_INLINE int32x4_t ern_requant_s8_half_v(int32x4_t x, int32_t m, int32_t round, int e) {
    int32x4_t v = vqrdmulhq_n_s32(x, m);
    v = vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), round);
    if (e < 0 || e > 24) return ern_clamp_s8_v(vshlq_r_s32(v, -e));
    return vshrq_n_s32(vqshlq_r_s32(v, 24 - e), 24);
}

#endif
