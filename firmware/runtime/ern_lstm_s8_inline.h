/* The int8 LSTM's inline kernel and its int16 activations (internal: the generated model.c and
 * ern_lstm_s8.c include it). The params struct and the public entry points are in ern_lstm_s8.h. */
#ifndef ERN_LSTM_S8_INLINE_H_
#define ERN_LSTM_S8_INLINE_H_
#include "ern_lstm_s8.h"
#include "ern_dot_s8.h"

/* table[i] and table[i + 1], the two entries an interpolation reads. */
static inline void ern_table_pair(const uint16_t *table, uint32_t i, uint32_t *a, uint32_t *b) {
#if defined(ERN_DSP)
    uint32_t pair; /* both entries in one (unaligned) LDR */
    __builtin_memcpy(&pair, table + i, 4);
    *a = pair & 0xFFFFu;
    *b = pair >> 16;
#else
    *a = table[i];
    *b = table[i + 1];
#endif
}

/* Sigmoid on a 2^-12 int16 input: |3x| indexes the table in steps of 2^9 with linear interpolation.
 * |3x| <= 98304, so the index stays below 193 and TFLite's saturation branch (index >= 255) is dead. */
static inline int16_t ern_lstm_sigmoid(const uint16_t *table, int32_t x) {
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 9;
    uint32_t ua, ub;
    ern_table_pair(table, uh, &ua, &ub);
    /* TFLite: v >= 0 ? (r + 2^9) >> 10 : ((2^25 - r) + 2^9 - 1) >> 10, which is 2^15 - ((r + 2^9) >> 10) */
    const int32_t q = (int32_t)(((ua << 9) + (a & 0x1FFu) * (ub - ua) + (1u << 9)) >> 10);
    return (int16_t)(v >= 0 ? q : 32768 - q);
}

/* tanh(y) = 2 sigmoid(2y) - 1 on the same table, steps of 2^8; the result in the low 16 bits. */
static inline int32_t ern_lstm_tanh_bits(const uint16_t *table, int32_t multiplier, int shift, int32_t x) {
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + round) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 8;
    uint32_t r;
    if (uh >= 255) {
        r = 0xFFFFu << 8;
    } else {
        uint32_t ua, ub;
        ern_table_pair(table, uh, &ua, &ub);
        r = (ua << 8) + (a & 0xFFu) * (ub - ua);
    }
    /* TFLite: v >= 0 ? (r - 2^23 + 2^7) >> 8 : (-r + 2^23 + 2^7 - 1) >> 8, i.e. +-(((r + 2^7) >> 8) - 2^15) */
    const int32_t t = (int32_t)((r + (1u << 7)) >> 8) - 32768;
    return v >= 0 ? t : -t;
}

static inline int16_t ern_lstm_tanh(const uint16_t *table, int32_t multiplier, int shift, int32_t x) {
    return (int16_t)ern_lstm_tanh_bits(table, multiplier, shift, x);
}


/* ---- the fast path (params->fast): every requantization ern_requant_fast, inputs doubled ---- */

/* ern_lstm_sigmoid with table1[k] = table[k] + 1, so (ua << 9) already holds the 2^9 rounding term; the result
 * in the low 16 bits (the caller stores it: no sign extension). */
static inline int32_t ern_lstm_sigmoid_bits(const uint16_t *table1, int32_t x) {
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 9;
#if defined(ERN_DSP)
    uint32_t pair;
    __builtin_memcpy(&pair, table1 + uh, 4);
    const uint32_t ua = pair & 0xFFFFu, ub = pair >> 16;
#else
    const uint32_t ua = table1[uh], ub = table1[uh + 1];
#endif
    const int32_t q = (int32_t)(((ua << 9) + (a & 0x1FFu) * (ub - ua)) >> 10);
    return v >= 0 ? q : 32768 - q;
}

/* A gate projection to int16 from its doubled accumulator (a shift >= 0 multiplies: ern_srdhm_m(x << s, m)). */
static ERN_ALWAYS_INLINE int32_t ern_lstm_rq16(int32_t x2, int32_t m, int shift, int32_t round) {
    if (shift >= 0) return ern_clamp_s16(ern_smmulr((int32_t)((uint32_t)x2 << shift), m));
    return ern_clamp_s16(ern_requant_fast(x2, m, round, -shift));
}

#if defined(ERN_MVE)
/* ern_clamp_s16 on 4 lanes: VQSHL by 16 saturates exactly the lanes outside int16, VSHR by 16 brings them back. */
static ERN_ALWAYS_INLINE int32x4_t ern_clamp_s16_v(int32x4_t v) {
    return vshrq_n_s32(vqshlq_n_s32(v, 16), 16);
}

/* ern_lstm_sigmoid_bits on 4 lanes: both table entries gathered (uh <= 192, in the table). */
static ERN_ALWAYS_INLINE int32x4_t ern_lstm_sigmoid_v(const uint16_t *table1, int32x4_t x) {
    const int32x4_t v = vmulq_n_s32(x, 3);
    const uint32x4_t a = vreinterpretq_u32_s32(vabsq_s32(v)), uh = vshrq_n_u32(a, 9);
    const uint32x4_t ua = vldrhq_gather_shifted_offset_u32(table1, uh);
    const uint32x4_t ub = vldrhq_gather_shifted_offset_u32(table1 + 1, uh);
    const uint32x4_t sum = vaddq_u32(vshlq_n_u32(ua, 9), vmulq_u32(vandq_u32(a, vdupq_n_u32(0x1FFu)), vsubq_u32(ub, ua)));
    const int32x4_t q = vreinterpretq_s32_u32(vshrq_n_u32(sum, 10));
    return vpselq_s32(vsubq_s32(vdupq_n_s32(32768), q), q, vcmpltq_n_s32(v, 0));
}

/* ern_lstm_tanh_bits on 4 lanes: the saturated lanes (uh >= 255) gather a clamped index, then take 0xFFFF << 8. */
static ERN_ALWAYS_INLINE int32x4_t ern_lstm_tanh_v(const uint16_t *table, int32_t multiplier, int shift, int32x4_t x) {
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    const int32x4_t v = vshlq_r_s32(vaddq_n_s32(vmulq_n_s32(x, multiplier), round), -shift);
    const uint32x4_t a = vreinterpretq_u32_s32(vabsq_s32(v)), uh = vshrq_n_u32(a, 8);
    const uint32x4_t idx = vminq_u32(uh, vdupq_n_u32(254));
    const uint32x4_t ua = vldrhq_gather_shifted_offset_u32(table, idx);
    const uint32x4_t ub = vldrhq_gather_shifted_offset_u32(table + 1, idx);
    uint32x4_t r = vaddq_u32(vshlq_n_u32(ua, 8), vmulq_u32(vandq_u32(a, vdupq_n_u32(0xFFu)), vsubq_u32(ub, ua)));
    r = vpselq_u32(vdupq_n_u32(0xFFFFu << 8), r, vcmpcsq_n_u32(uh, 255));
    const int32x4_t t = vsubq_s32(vreinterpretq_s32_u32(vshrq_n_u32(vaddq_u32(r, vdupq_n_u32(1u << 7)), 8)), vdupq_n_s32(32768));
    return vpselq_s32(vnegq_s32(t), t, vcmpltq_n_s32(v, 0));
}

/* ern_lstm_rq16 on 4 lanes (VSHL by a register: the same wrapping left shift). */
static ERN_ALWAYS_INLINE int32x4_t ern_lstm_rq16_v(int32x4_t x2, int32_t m, int shift, int32_t round) {
    if (shift >= 0) return ern_clamp_s16_v(vrmulhq_s32(vshlq_r_s32(x2, shift), vdupq_n_s32(m)));
    return ern_requant_s16_v(x2, m, round, -shift);
}
#endif

static ERN_ALWAYS_INLINE void ern_lstm_gate_fast(const ern_lstm_params *p, const int g, const int16_t *x16,
                                                 const int16_t *h16, int16_t *out) {
    const int gi = (p->n_input + 3) >> 2, gs = (p->n_state + 3) >> 2, n = p->n_state;
    const int32_t mi = p->input_rq[g].multiplier, mr = p->recurrent_rq[g].multiplier;
    const int32_t ri = p->input_rq[g].round, rr = p->recurrent_rq[g].round;
    const int si = p->input_rq[g].shift, sr = p->recurrent_rq[g].shift;
    const int tanh_gate = g == 2 && p->cell_gate_tanh;
    const uint16_t *table = p->sigmoid_table, *table1 = p->sigmoid_table1;
    const int8_t *wi = p->input_weights[g], *wr = p->recurrent_weights[g];
    const int32_t *ib = p->input_bias[g], *rb = p->recurrent_bias[g];
#if defined(ERN_MVE)
    /* Helium: 4 rows' products, requantizations and sum in one vector each (the same bits); x16 and h16
     * are the int8 input and state themselves (ern_lstm_fast), the rows PAD4(cols) apart (ERN_ROW_BLOCKS). */
    const int8_t *x8 = (const int8_t *)x16, *h8 = (const int8_t *)h16;
    if (p->n_input <= ERN_MVE_REG_COLS && n <= ERN_MVE_REG_COLS) {
        /* input, then state, in vectors for every row, whole 16-byte weight loads (ern_dot4_regs_doubled_v): the
         * input's projections to out first (int16), then the state's added to them, so only one of the two is
         * held in vectors at a time (the state's 4 are not spilled) */
        int8x16_t v[4];
        ern_load_chunks_v(x8, p->n_input, v);
        for (int r = 0; r < n; r += 4, wi += gi * 16) {
            const int32x4_t in = ern_lstm_rq16_v(ern_dot4_regs_doubled_v(wi, 4 * gi, v, p->n_input, ib + r), mi, si, ri);
            if (n % 4 == 0) vstrhq_s32(out + r, in);
            else vstrhq_p_s32(out + r, in, vctp32q((uint32_t)(n - r))); /* rows past n_state not stored */
        }
        ern_load_chunks_v(h8, n, v);
        for (int r = 0; r < n; r += 4, wr += gs * 16) {
            const int32x4_t rec = ern_lstm_rq16_v(ern_dot4_regs_doubled_v(wr, 4 * gs, v, n, rb + r), mr, sr, rr);
            const mve_pred16_t lanes = vctp32q((uint32_t)(n - r));
            const int32x4_t in = n % 4 == 0 ? vldrhq_s32(out + r) : vldrhq_z_s32(out + r, lanes);
            const int32x4_t sum = ern_clamp_s16_v(vaddq_s32(in, rec)); /* int16: stored as is, activated below */
            if (n % 4 == 0) vstrhq_s32(out + r, sum);
            else vstrhq_p_s32(out + r, sum, lanes);
        }
    } else {
        for (int r = 0; r < n; r += 4, wi += gi * 16, wr += gs * 16) {
            /* the state's (looped) products first: no vector is live across their loop (fewer spills) */
            const int32x4_t rec = ern_lstm_rq16_v(ern_dot4_doubled_v(wr, 4 * gs, h8, n, rb + r), mr, sr, rr);
            const int32x4_t in = ern_lstm_rq16_v(ern_dot4_doubled_v(wi, 4 * gi, x8, p->n_input, ib + r), mi, si, ri);
            const int32x4_t sum = ern_clamp_s16_v(vaddq_s32(in, rec)); /* int16: stored as is, activated below */
            if (n % 4 == 0) vstrhq_s32(out + r, sum);
            else vstrhq_p_s32(out + r, sum, vctp32q((uint32_t)(n - r))); /* rows past n_state not stored */
        }
    }
    /* the activation in a loop of its own (fewer live registers in the products' loop); the low 16 bits
     * stored, as the scalar (int16_t) cast */
    for (int r = 0; r < n; r += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(n - r));
        const int32x4_t sum = vldrhq_z_s32(out + r, lanes);
        vstrhq_p_s32(out + r, tanh_gate ? ern_lstm_tanh_v(table, 3, 0, sum) : ern_lstm_sigmoid_v(table1, sum), lanes);
    }
    return;
#endif
#if defined(ERN_PAIR_ROWS)
    const int8_t *wp = wi; /* pair_rows: the gate's stream */
#endif
    for (int r = 0; r < n; r += 4, wi += gi * 16, wr += gs * 16) {
        int32_t ai[4], ar[4];
#if defined(ERN_PAIR_ROWS)
        if (p->pair_rows) {
            wp = ern_dot4p_stream(wp, x16, p->n_input, ai);
            wp = ern_dot4p_stream(wp, h16, n, ar);
        } else
#endif
        {
            ern_dot4_doubled_any(wi, x16, gi, ib + r, ai);
            ern_dot4_doubled_any(wr, h16, gs, rb + r, ar);
        }
        const int rows = n % 4 == 0 || n - r >= 4 ? 4 : n - r;
#pragma GCC unroll 4
        for (int j = 0; j < rows; ++j) {
            const int32_t sum = ern_clamp_s16(ern_lstm_rq16(ai[j], mi, si, ri) + ern_lstm_rq16(ar[j], mr, sr, rr));
            out[r + j] = (int16_t)(tanh_gate ? ern_lstm_tanh(table, 3, 0, sum) : ern_lstm_sigmoid_bits(table1, sum));
        }
    }
}

/* The cell and hidden state update: every product of two int16 is below 2^30 in magnitude. */
static ERN_ALWAYS_INLINE void ern_lstm_state_fast(const ern_lstm_params *p, const int16_t *ig, const int16_t *fg,
                                                  const int16_t *cg, const int16_t *og, int8_t *hidden,
                                                  int16_t *cell, int8_t *output) {
    const int n = p->n_state;
    const int32_t clip = p->cell_clip;
#if defined(ERN_MVE)  /* 4 units per vector, lane by lane the scalar loop below */
    for (int i = 0; i < n; i += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(n - i));
        const int32x4_t f = vldrhq_z_s32(fg + i, lanes), in = vldrhq_z_s32(ig + i, lanes);
        const int32x4_t g = vldrhq_z_s32(cg + i, lanes), o = vldrhq_z_s32(og + i, lanes);
        const int32x4_t fc = vmulq_s32(f, vldrhq_z_s32(cell + i, lanes)), icg = vmulq_s32(in, g);
        const int32x4_t kept = ern_requant_s16_v(vaddq_s32(fc, fc), p->forget_mul.multiplier,
                                                 p->forget_mul.round, -p->forget_mul.shift);
        const int32x4_t added = ern_requant_s16_v(vaddq_s32(icg, icg), p->input_mul.multiplier,
                                                  p->input_mul.round, -p->input_mul.shift);
        int32x4_t c = ern_clamp_s16_v(vaddq_s32(kept, added));
        if (clip > 0) c = vmaxq_s32(vminq_s32(c, vdupq_n_s32(clip)), vdupq_n_s32(-clip));
        vstrhq_p_s32(cell + i, c, lanes);
        const int32x4_t tb = ern_lstm_tanh_v(p->sigmoid_table, p->cell_tanh_multiplier, p->cell_tanh_shift, c);
        const int32x4_t prod = vmulq_s32(vshrq_n_s32(vshlq_n_s32(tb, 16), 16), o); /* tanh as int16, times og */
        const int32x4_t h = ern_requant_s8_v(vaddq_s32(prod, prod), p->output_mul.multiplier,
                                             p->output_mul.round, -p->output_mul.shift);
        vstrbq_p_s32(hidden + i, h, lanes);
        vstrbq_p_s32(output + i, h, lanes);
    }
    return;
#endif
    for (int i = 0; i < n; ++i) {
        const int32_t kept = ern_clamp_s16(ern_requant_fast(2 * (int32_t)fg[i] * cell[i], p->forget_mul.multiplier,
                                                    p->forget_mul.round, -p->forget_mul.shift));
        const int32_t added = ern_clamp_s16(ern_requant_fast(2 * (int32_t)ig[i] * cg[i], p->input_mul.multiplier,
                                                     p->input_mul.round, -p->input_mul.shift));
        int32_t c = ern_clamp_s16(kept + added);
        if (clip > 0) c = c > clip ? clip : (c < -clip ? -clip : c);
        cell[i] = (int16_t)c;
#if defined(ERN_DSP)  /* SMULBB multiplies the low halves as int16: tanh's int16 cast comes free */
        int32_t prod;
        __asm__("smulbb %0, %1, %2" : "=r"(prod)
                : "r"(ern_lstm_tanh_bits(p->sigmoid_table, p->cell_tanh_multiplier, p->cell_tanh_shift, c)),
                  "r"((int32_t)og[i]));
#else
        const int32_t prod = ern_lstm_tanh(p->sigmoid_table, p->cell_tanh_multiplier, p->cell_tanh_shift, c) * og[i];
#endif
        output[i] = hidden[i] = (int8_t)ern_clamp_s8(ern_requant_fast(2 * prod, p->output_mul.multiplier,
                                             p->output_mul.round, -p->output_mul.shift));  /* round: zp */
    }
}

static ERN_ALWAYS_INLINE void ern_lstm_fast(const ern_lstm_params *p, const int8_t *input, int8_t *hidden,
                                            int16_t *cell, int8_t *output, int16_t *scratch) {
    const int n = p->n_state;
    int16_t *gates = scratch, *x16 = scratch + 4 * n, *h16 = x16 + ((p->n_input + 3) & ~3);
    (void)h16;
    for (int t = 0; t < p->steps; ++t) {
#if defined(ERN_MVE)  /* the int8 input and state as they are: the gates read hidden before the update writes it */
        x16 = (int16_t *)(input + t * p->n_input);
        h16 = (int16_t *)hidden;
#else
        ern_widen2_for(p->pair_rows, input + t * p->n_input, p->n_input, x16);
        ern_widen2_for(p->pair_rows, hidden, n, h16);
#endif
        ern_lstm_gate_fast(p, 0, x16, h16, gates);
        ern_lstm_gate_fast(p, 1, x16, h16, gates + n);
        ern_lstm_gate_fast(p, 2, x16, h16, gates + 2 * n);
        ern_lstm_gate_fast(p, 3, x16, h16, gates + 3 * n);
        ern_lstm_state_fast(p, gates, gates + n, gates + 2 * n, gates + 3 * n, hidden, cell, output + t * n);
    }
}

/* The kernel as the generated model.c calls it: with the model's static const params the compiler folds
 * every multiplier, shift, rounding constant and size into the code; without the fast flag, ern_lstm_s8. */
static ERN_ALWAYS_INLINE void ern_lstm_s8_inline(const ern_lstm_params *p, const int8_t *input, int8_t *hidden,
                                                 int16_t *cell, int8_t *output, int16_t *scratch) {
    if (p->fast) ern_lstm_fast(p, input, hidden, cell, output, scratch);
    else ern_lstm_s8(p, input, hidden, cell, output, scratch);
}

#endif
