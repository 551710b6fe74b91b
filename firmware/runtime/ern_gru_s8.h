/* One int8 GRU time step, fused: the input and recurrent projections of the three gates and the
 * gates' element-wise ops in one pass over blocks of 4 units. Bit-exact with the op-by-op graph it
 * replaces (edgernn's int8 GRU WHILE body, see edgernn/export/codegen/ops/gru.py): every intermediate
 * is requantized to int8 exactly as TFLite Micro's FULLY_CONNECTED, ADD, SUB, MUL, LOGISTIC and TANH
 * do, each with its own parameters. The generator fuses only where every requantization is provably
 * exact with requant_fast.
 *
 * ern_gru_step_inline is the kernel: the generated model.c calls it with its static const params, so
 * the compiler folds every multiplier, rounding constant, shift and table address into the code
 * (immediate shifts, no parameter loads). ern_gru_step_s8 is the same kernel for run-time params. */
#ifndef ERN_GRU_S8_H_
#define ERN_GRU_S8_H_
#include "ern_dot_s8.h"

/* ADD / SUB of two int8: table[tabled value] + plain * plain_scale is twice TFLite's sum (ern_add_s8.h). */
typedef struct {
    const int32_t *table;       /* indexed by the tabled int8 value itself: points at entry 128 of 256 */
    int tabled_second;          /* 1: the op's second operand is the tabled one */
    int32_t plain_scale;        /* +-2^20: the plain operand's sign (a subtrahend is negated) */
    int32_t multiplier, round;  /* requant_fast */
    int right;
} ern_gru_add_params;

/* MUL of two int8: (a + a_offset) * (b + b_offset) requantized. */
typedef struct {
    int32_t a_offset, b_offset, multiplier, round;
    int right;
} ern_gru_mul_params;

typedef struct {
    int n_input, n_state;                       /* n_state a multiple of 4 */
    const int8_t *input_weights;                /* [3 n_state][n_input] packed (ern_dot_s8.h): z, r, n rows */
    const int8_t *recurrent_weights;            /* [3 n_state][n_state] packed */
    const int32_t *input_bias, *recurrent_bias; /* [3 n_state], zero points folded in, doubled (requant_fast's 2x) */
    int32_t input_multiplier, input_round, recurrent_multiplier, recurrent_round;
    int input_right, recurrent_right;
    /* z = sig(add_z(xz, hz)); r = sig(add_r(xr, hr)); n = tanh(add_n(xn, mul_r(r, hn)));
     * h' = add_out(n, mul_z(z, sub_h(h, n))) */
    ern_gru_add_params add_z, add_r, add_n, sub_h, add_out;
    ern_gru_mul_params mul_r, mul_z;
    /* LOGISTIC, LOGISTIC, TANH by int8 value (entry 128 of 256); z and r hold value + their MUL's a_offset
     * (mul_z, mul_r then have a_offset 0): the gate's value as the MUL takes it, 0..255 */
    const uint8_t *lut_z, *lut_r;
    const int8_t *lut_n;
} ern_gru_params;

/* Scratch: the widened input and hidden state. */
#define ERN_GRU_S8_SCRATCH_BYTES(n_input, n_state) (2 * (ERN_PAD4(n_input) + ERN_PAD4(n_state)))

/* h_out may be h itself (each unit reads its own h before writing it; the products read the widened copy). */
void ern_gru_step_s8(const ern_gru_params *p, const int8_t *x, const int8_t *h, int8_t *h_out, int16_t *scratch);

static ERN_ALWAYS_INLINE int32_t ern_gru_add(const ern_gru_add_params *p, int32_t a, int32_t b) {
    const int32_t tabled = p->tabled_second ? b : a, plain = p->tabled_second ? a : b;
    return clamp_s8(requant_fast(p->table[tabled] + plain * p->plain_scale, p->multiplier, p->round, p->right));
}

static ERN_ALWAYS_INLINE int32_t ern_gru_mul(const ern_gru_mul_params *p, int32_t a, int32_t b) {
    return clamp_s8(requant_fast(2 * (a + p->a_offset) * (b + p->b_offset), p->multiplier, p->round, p->right));
}

/* 4 rows of one projection: dot products, bias, requantization to int8. */
static ERN_ALWAYS_INLINE void ern_gru_rows(const int8_t *w, const int16_t *x16, int groups, const int32_t *bias2,
                                           int32_t m, int32_t round, int right, int32_t out[4]) {
    int32_t acc[4];
    ern_dot4_doubled_any(w, x16, groups, bias2, acc);
    out[0] = clamp_s8(requant_fast(acc[0], m, round, right));
    out[1] = clamp_s8(requant_fast(acc[1], m, round, right));
    out[2] = clamp_s8(requant_fast(acc[2], m, round, right));
    out[3] = clamp_s8(requant_fast(acc[3], m, round, right));
}

#if defined(ERN_MVE)
#include "ern_gru_s8_mve.h"
#endif

static ERN_ALWAYS_INLINE void ern_gru_step_inline(const ern_gru_params *p, const int8_t *x, const int8_t *h,
                                                  int8_t *h_out, int16_t *scratch) {
#if defined(ERN_MVE)
    ern_gru_step_mve(p, x, h, h_out, scratch); /* 4 units per Helium vector, the same bits */
    return;
#endif
    const int n = p->n_state, gi = (p->n_input + 3) >> 2, gs = n >> 2;
    int16_t *x16 = scratch, *h16 = scratch + 4 * gi;
    ern_widen2_s8(x, p->n_input, x16);
    ern_widen2_s8(h, n, h16);
    const int32_t wi_gate = n * gi * 4, wr_gate = n * gs * 4; /* packed bytes per gate */
    for (int j = 0; j < n; j += 4) {
        int32_t xi[3][4], hr[3][4];
        for (int g = 0; g < 3; ++g) {
            ern_gru_rows(p->input_weights + g * wi_gate + j * gi * 4, x16, gi, p->input_bias + g * n + j,
                         p->input_multiplier, p->input_round, p->input_right, xi[g]);
            ern_gru_rows(p->recurrent_weights + g * wr_gate + j * gs * 4, h16, gs, p->recurrent_bias + g * n + j,
                         p->recurrent_multiplier, p->recurrent_round, p->recurrent_right, hr[g]);
        }
        for (int k = 0; k < 4; ++k) {
            const int32_t z = p->lut_z[ern_gru_add(&p->add_z, xi[0][k], hr[0][k])];
            const int32_t r = p->lut_r[ern_gru_add(&p->add_r, xi[1][k], hr[1][k])];
            const int32_t nn = p->lut_n[ern_gru_add(&p->add_n, xi[2][k], ern_gru_mul(&p->mul_r, r, hr[2][k]))];
            const int32_t s = ern_gru_add(&p->sub_h, h[j + k], nn);
            h_out[j + k] = (int8_t)ern_gru_add(&p->add_out, nn, ern_gru_mul(&p->mul_z, z, s));
        }
    }
}

#endif
