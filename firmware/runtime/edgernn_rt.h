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

/* Alignment of the arena and the packed weights: the DSP kernels load them a word (or two) at a
 * time. The portable kernels read bytes, so other compilers may leave it out. */
#if defined(__GNUC__) || defined(__clang__)
#define ERN_ALIGN(n) __attribute__((aligned(n)))
#else
#define ERN_ALIGN(n)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-point primitives (gemmlowp semantics). */
int32_t ern_srdhm(int32_t a, int32_t b);                    /* (a*b*2 + round) >> 32, saturating */
int32_t ern_rounding_divide_by_pot(int32_t x, int exponent); /* x / 2^exponent, rounded half away from 0 */
int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

/* FULLY_CONNECTED. Weights are packed by the generator: rows in blocks of 4, columns
 * in groups of 4 padded with zeros; block b, group g holds rows 4b..4b+3, 4 bytes each, in order.
 * folded_bias[r] = bias[r] + input_offset * sum(weights[r]), computed at export time: the
 * identity sum(w * (x + off)) = sum(w * x) + off * sum(w) holds exactly in int32, so the inner
 * loop is a pure dot product (SMLAD on cores with the DSP extension, ERN_USE_DSP).
 * x16: scratch of (cols rounded up to 4) int16 for the widened input. */
void ern_fully_connected_s8(const int8_t *input, int batches, int cols, const int8_t *packed_weights,
                            const int32_t *folded_bias, int rows, int32_t multiplier, int shift,
                            int32_t output_offset, int16_t *x16, int8_t *output);

/* The same with per-channel weights: one multiplier and shift per output row. */
void ern_fully_connected_per_channel_s8(const int8_t *input, int batches, int cols, const int8_t *packed_weights,
                                        const int32_t *folded_bias, int rows, const int32_t *multipliers,
                                        const int32_t *shifts, int32_t output_offset, int16_t *x16, int8_t *output);

/* int8 -> int16 in the pair order the packed dot product reads (x0 x2 x1 x3 per group of 4). */
void ern_widen_s8(const int8_t *x, int cols, int16_t *x16);

/* ADD and SUB: raw = table[tabled input byte] + plain_sign * ((plain input + plain_offset) << 19),
 * output = clamp(requantize(raw) + output_offset). The generator builds the table exactly as
 * TFLite Micro rescales that input (negated for a subtrahend); see edgernn_rt.c. */
typedef struct {
    const int32_t *table;
    int table_input;          /* 0: the first input is tabled, 1: the second */
    int32_t plain_offset, plain_sign, output_multiplier;
    int output_shift;
    int32_t output_offset;
} ern_add_params;

void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n);

/* MUL: (a - za) * (b - zb) rescaled. Offsets are the negated zero points. */
void ern_mul_s8(const int8_t *a, int32_t a_offset, const int8_t *b, int32_t b_offset, int8_t *out, int n,
                int32_t multiplier, int shift, int32_t output_offset);

/* Element-wise int8 -> int8 through a 256-entry table indexed by the input's byte: LOGISTIC, TANH. */
void ern_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int n);

/* SOFTMAX over the last dimension (output scale 1/256, zero point -128). */
void ern_softmax_s8(const int8_t *in, int rows, int depth, int32_t beta_multiplier, int beta_left_shift,
                    int32_t diff_min, int8_t *out);

/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell (TFLite Micro's
 * integer LSTM: lstm_eval). Gates are int16 at scale 2^-12 before and 2^-15 after their
 * activation; the cell state is int16 at a power-of-two scale. Gate order in the arrays:
 * input, forget, cell, output (the op's input order). */
typedef struct {
    int steps, n_input, n_state;
    const int8_t *input_weights[4];      /* [n_state][n_input], packed as for FULLY_CONNECTED */
    const int8_t *recurrent_weights[4];  /* [n_state][n_state], packed */
    const int32_t *input_bias[4];        /* gate bias + input zero point folded in */
    const int32_t *recurrent_bias[4];    /* hidden-state zero point folded in */
    int32_t input_multiplier[4], recurrent_multiplier[4];
    int input_shift[4], recurrent_shift[4];
    int cell_gate_tanh;                  /* 1: tanh on the cell gate, 0: sigmoid */
    int32_t forget_mul_multiplier, input_mul_multiplier, output_mul_multiplier;
    int forget_mul_shift, input_mul_shift, output_mul_shift;
    int32_t hidden_zero_point;
    int32_t cell_tanh_multiplier;        /* tanh(cell): input (x * multiplier + round) >> shift */
    int cell_tanh_shift;
    int32_t cell_clip;                   /* 0: no clipping */
    const uint16_t *sigmoid_table;       /* 256 entries, sigmoid(i/24) in 0.16, exact TFLite values */
} ern_lstm_params;

/* hidden [n_state] int8 and cell [n_state] int16 carry the state (reset them before a sequence);
 * output [steps][n_state]; scratch holds 4 * n_state + (n_input and n_state rounded up to 4) int16. */
void ern_lstm_s8(const ern_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                 int8_t *output, int16_t *scratch);

/* The int16 activations of the LSTM, exposed for tests: sigmoid (input scale 2^-12) and tanh
 * with input (x * multiplier + round) >> shift; output scale 2^-15. */
void ern_sigmoid_s16(const uint16_t *table, const int16_t *in, int16_t *out, int n);
void ern_tanh_s16(const uint16_t *table, int32_t multiplier, int shift, const int16_t *in, int16_t *out, int n);

#ifdef __cplusplus
}
#endif
#endif
