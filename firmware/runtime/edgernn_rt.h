/* edgernn runtime: int8 kernels with TensorFlow Lite Micro reference semantics.
 *
 * One op per function, written to be read. Rounding follows TFLite's default
 * ("double rounding") fixed-point scheme: a saturating rounding doubling high multiply
 * followed by a rounding right shift, so results are bit-exact with TFLite Micro.
 * All multipliers, shifts and offsets are computed by the code generator at export time.
 */
#ifndef EDGERNN_RT_H_
#define EDGERNN_RT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-point primitives (gemmlowp semantics). */
int32_t ern_srdhm(int32_t a, int32_t b);                    /* (a*b*2 + round) >> 32, saturating */
int32_t ern_rounding_divide_by_pot(int32_t x, int exponent); /* x / 2^exponent, rounded half away from 0 */
int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

/* FULLY_CONNECTED, per-tensor int8 weights [rows][cols].
 * folded_bias[r] = bias[r] + input_offset * sum(weights[r]), computed at export time: the
 * identity sum(w * (x + off)) = sum(w * x) + off * sum(w) holds exactly in int32, so the inner
 * loop is a pure int8 dot product (SMLAD on cores with the DSP extension, ERN_USE_DSP). */
void ern_fully_connected_s8(const int8_t *input, int batches, int cols, const int8_t *weights,
                            const int32_t *folded_bias, int rows, int32_t multiplier, int shift,
                            int32_t output_offset, int8_t *output);

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t input1_multiplier, input2_multiplier, output_multiplier;
    int input1_shift, input2_shift, output_shift, left_shift;
} ern_add_params;

void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n);
void ern_sub_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n);

/* MUL: (a - za) * (b - zb) rescaled. Offsets are the negated zero points. */
void ern_mul_s8(const int8_t *a, int32_t a_offset, const int8_t *b, int32_t b_offset, int8_t *out, int n,
                int32_t multiplier, int shift, int32_t output_offset);

/* Element-wise int8 -> int8 through a 256-entry table indexed by (x + 128): LOGISTIC, TANH. */
void ern_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int n);

/* SOFTMAX over the last dimension (output scale 1/256, zero point -128). */
void ern_softmax_s8(const int8_t *in, int rows, int depth, int32_t beta_multiplier, int beta_left_shift,
                    int32_t diff_min, int8_t *out);

#ifdef __cplusplus
}
#endif
#endif
