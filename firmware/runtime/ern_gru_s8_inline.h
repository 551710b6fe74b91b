/* The int8 GRU step's inline kernel (internal: the generated model.c and ern_gru_s8.c include it).
 * The params struct and the public entry point are in ern_gru_s8.h. */
#ifndef ERN_GRU_S8_INLINE_H_
#define ERN_GRU_S8_INLINE_H_
#include "ern_gru_s8.h"
#include "ern_dot_s8.h"

static ERN_ALWAYS_INLINE int32_t ern_gru_add(const ern_gru_add_params *p, int32_t a, int32_t b) {
    const int32_t tabled = p->tabled_second ? b : a, plain = p->tabled_second ? a : b;
    return ern_clamp_s8(ern_requant_fast(p->table[tabled] + plain * p->plain_scale, p->rq.multiplier, p->rq.round, -p->rq.shift));
}

static ERN_ALWAYS_INLINE int32_t ern_gru_mul(const ern_gru_mul_params *p, int32_t a, int32_t b) {
    return ern_clamp_s8(ern_requant_fast(2 * (a + p->a_offset) * (b + p->b_offset), p->rq.multiplier, p->rq.round, -p->rq.shift));
}

/* 4 rows of one projection: dot products, bias, requantization to int8. */
static ERN_ALWAYS_INLINE void ern_gru_rows(int pair_rows, const int8_t *w, const int16_t *x16, int cols,
                                           const int32_t *bias2, int32_t m, int32_t round, int right, int32_t out[4]) {
    int32_t acc[4];
    ern_dot4_doubled_for(pair_rows, w, x16, cols, bias2, acc);
    out[0] = ern_clamp_s8(ern_requant_fast(acc[0], m, round, right));
    out[1] = ern_clamp_s8(ern_requant_fast(acc[1], m, round, right));
    out[2] = ern_clamp_s8(ern_requant_fast(acc[2], m, round, right));
    out[3] = ern_clamp_s8(ern_requant_fast(acc[3], m, round, right));
}

/* One unit's new state from its block's gate projections (int8 values, read only): xi[g][k], hr[g][k] are the
 * input and recurrent projections of gate g (z, r, n) for unit k of the block of 4, hk the unit's old state.
 * z = sig(xz + hz), r = sig(xr + hr), n = tanh(xn + r hn), h' = n + z (h - n), or with p->complement (z is then
 * u = 1 - z) h' = h + u (n - h); every op requantized as TFLite Micro's. The scalar kernels' per-unit work (the
 * plain and the paired-row step). The arrays are not const-qualified: C99 does not convert int32_t (*)[4] to
 * const int32_t (*)[4]. Passed whole rather than as 6 values: GRU-64 on the M4 runs 1,044,070 instructions
 * per inference this way, 1,046,400 with 6 values (GCC 12 -O2). */
static ERN_ALWAYS_INLINE int8_t ern_gru_unit(const ern_gru_params *p, int32_t xi[3][4], int32_t hr[3][4], int k,
                                             int32_t hk) {
    const int32_t z = p->lut_z[ern_gru_add(&p->add_z, xi[0][k], hr[0][k])];
    const int32_t r = p->lut_r[ern_gru_add(&p->add_r, xi[1][k], hr[1][k])];
    const int32_t nn = p->lut_n[ern_gru_add(&p->add_n, xi[2][k], ern_gru_mul(&p->mul_r, r, hr[2][k]))];
    /* p->complement is a constant the compiler folds */
    const int32_t s = p->complement ? ern_gru_add(&p->sub_h, nn, hk) : ern_gru_add(&p->sub_h, hk, nn);
    return (int8_t)ern_gru_add(&p->add_out, p->complement ? hk : nn, ern_gru_mul(&p->mul_z, z, s));
}

#if defined(ERN_MVE)
#include "ern_gru_s8_mve.h"
#elif defined(ERN_AVX2)
#include "ern_gru_s8_avx2.h"
#endif

#if defined(ERN_PAIR_ROWS)
/* The DSP kernels with the paired-row stream (pair_rows): input_weights holds, block of 4 units by block and
 * gate by gate, the input projection's start values and paired weights, then the recurrent projection's
 * (ern_dot4p_stream); one pointer runs through it. */
static ERN_ALWAYS_INLINE void ern_gru_step_pairs(const ern_gru_params *p, const int8_t *x, const int8_t *h,
                                                 int8_t *h_out, int16_t *scratch) {
    const int n = p->n_state, ni = p->n_input;
    int16_t *x16 = scratch, *h16 = scratch + ERN_PAD4(ni);
    ern_widen2_pairs_s8(x, ni, x16);
    ern_widen2_pairs_s8(h, n, h16);
    const int8_t *wp = p->input_weights;
    const int32_t mi = p->input_rq.multiplier, ri = p->input_rq.round, mr = p->recurrent_rq.multiplier;
    const int32_t rr = p->recurrent_rq.round;
    const int ei = -p->input_rq.shift, er = -p->recurrent_rq.shift;
    for (int j = 0; j < n; j += 4) {
        int32_t xi[3][4], hr[3][4];
        for (int g = 0; g < 3; ++g) {
            int32_t acc[4];
            wp = ern_dot4p_stream(wp, x16, ni, acc);
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) xi[g][k] = ern_clamp_s8(ern_requant_fast(acc[k], mi, ri, ei));
            wp = ern_dot4p_stream(wp, h16, n, acc);
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) hr[g][k] = ern_clamp_s8(ern_requant_fast(acc[k], mr, rr, er));
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k)
            h_out[j + k] = ern_gru_unit(p, xi, hr, k, h[j + k]);
    }
}
#endif

static ERN_ALWAYS_INLINE void ern_gru_step_inline(const ern_gru_params *p, const int8_t *x, const int8_t *h,
                                                  int8_t *h_out, int16_t *scratch) {
#if defined(ERN_MVE)
    ern_gru_step_mve(p, x, h, h_out, scratch); /* 4 units per Helium vector, the same bits */
    return;
#endif
#if defined(ERN_PAIR_ROWS)
    if (p->pair_rows) {
        ern_gru_step_pairs(p, x, h, h_out, scratch);
        return;
    }
#endif
#if defined(ERN_AVX2) && !defined(ERN_PAIR_ROWS)
    if (p->n_state % 8 == 0) { /* 8 units per AVX2 vector, the same bits */
        ern_gru_step_avx2(p, x, h, h_out, scratch);
        return;
    }
#endif
    const int n = p->n_state, ni = p->n_input, pr = p->pair_rows;
    const int bi = ern_block_bytes(pr, ni), bs = ern_block_bytes(pr, n); /* bytes per block of 4 rows */
    int16_t *x16 = scratch, *h16 = scratch + ERN_PAD4(ni);
    ern_widen2_for(pr, x, ni, x16);
    ern_widen2_for(pr, h, n, h16);
    const int32_t wi_gate = n / 4 * bi, wr_gate = n / 4 * bs; /* packed bytes per gate */
    for (int j = 0; j < n; j += 4) {
        int32_t xi[3][4], hr[3][4];
        for (int g = 0; g < 3; ++g) {
            ern_gru_rows(pr, p->input_weights + g * wi_gate + j / 4 * bi, x16, ni, p->input_bias + g * n + j,
                         p->input_rq.multiplier, p->input_rq.round, -p->input_rq.shift, xi[g]);
            ern_gru_rows(pr, p->recurrent_weights + g * wr_gate + j / 4 * bs, h16, n, p->recurrent_bias + g * n + j,
                         p->recurrent_rq.multiplier, p->recurrent_rq.round, -p->recurrent_rq.shift, hr[g]);
        }
        for (int k = 0; k < 4; ++k)
            h_out[j + k] = ern_gru_unit(p, xi, hr, k, h[j + k]);
    }
}

#endif
