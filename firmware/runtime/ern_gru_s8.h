/* One int8 GRU time step, fused: the input and recurrent projections of the three gates and the
 * gates' element-wise ops in one pass over blocks of 4 units. Bit-exact with the op-by-op graph it
 * replaces (edgernn's int8 GRU WHILE body, see edgernn/export/codegen/ops/gru.py): every intermediate
 * is requantized to int8 exactly as TFLite Micro's FULLY_CONNECTED, ADD, SUB, MUL, LOGISTIC and TANH
 * do, each with its own parameters. The generator fuses only where every requantization is provably
 * exact with ern_ern_requant_fast.
 *
 * ern_gru_step_inline (ern_gru_s8_inline.h) is the kernel: the generated model.c calls it with its static
 * const params, so the compiler folds every multiplier, rounding constant, shift and table address into
 * the code (immediate shifts, no parameter loads). ern_gru_step_s8 is the same kernel for run-time params. */
#ifndef ERN_GRU_S8_H_
#define ERN_GRU_S8_H_
#include "ern_common.h"

/* ADD / SUB of two int8: table[tabled value] + plain * plain_scale is twice TFLite's sum (ern_add_s8.h). */
typedef struct {
    const int32_t *table;       /* indexed by the tabled int8 value itself: points at entry 128 of 256 */
    int tabled_second;          /* 1: the op's second operand is the tabled one */
    int32_t plain_scale;        /* +-2^20: the plain operand's sign (a subtrahend is negated) */
    ern_requant rq;             /* ern_requant_fast with rq.round (the zero point folded in) */
} ern_gru_add_params;

/* MUL of two int8: (a + a_offset) * (b + b_offset) requantized. */
typedef struct {
    int32_t a_offset, b_offset;
    ern_requant rq;             /* ern_requant_fast with rq.round */
} ern_gru_mul_params;

typedef struct {
    int n_input, n_state;                       /* n_state a multiple of 4 */
    const int8_t *input_weights;                /* [3 n_state][n_input] packed (ern_dot_s8.h): z, r, n rows */
    const int8_t *recurrent_weights;            /* [3 n_state][n_state] packed */
    int pair_rows;                              /* 1: with ERN_PAIR_ROWS (DSP cores) input_weights is instead
                                                 * the paired-row stream of both projections with their
                                                 * start values (ern_gru_step_pairs), the other weight and
                                                 * bias pointers 0 */
    const int32_t *input_bias, *recurrent_bias; /* [3 n_state], zero points folded in, doubled (ern_requant_fast's 2x);
                                                   * with ERN_ROW_BLOCKS (Helium) not doubled */
    ern_requant input_rq, recurrent_rq;         /* the projections' requantizations (ern_requant_fast) */
    /* z = sig(add_z(xz, hz)); r = sig(add_r(xr, hr)); n = tanh(add_n(xn, mul_r(r, hn)));
     * h' = add_out(n, mul_z(z, sub_h(h, n))), or with complement = 1 (z is then u = 1 - z, from negated
     * z weights): h' = add_out(h, mul_z(u, sub_h(n, h))) */
    ern_gru_add_params add_z, add_r, add_n, sub_h, add_out;
    ern_gru_mul_params mul_r, mul_z;
    /* LOGISTIC, LOGISTIC, TANH by int8 value (entry 128 of 256); z and r hold value + their MUL's a_offset
     * (mul_z, mul_r then have a_offset 0): the gate's value as the MUL takes it, 0..255 */
    const uint8_t *lut_z, *lut_r;
    const int8_t *lut_n;
    int complement;                             /* 0: the z form; 1: the complement form (above) */
} ern_gru_params;

/* Scratch: the widened input and hidden state. */
#define ERN_GRU_S8_SCRATCH_BYTES(n_input, n_state) (2 * (ERN_PAD4(n_input) + ERN_PAD4(n_state)))

/* h_out may be h itself (each unit reads its own h before writing it; the products read the widened copy). */
void ern_gru_step_s8(const ern_gru_params *p, const int8_t *x, const int8_t *h, int8_t *h_out, int16_t *scratch);

#endif
