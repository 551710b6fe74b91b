/* edgernn runtime: int8 kernels with TensorFlow Lite Micro reference semantics. See edgernn_rt.h. */
#include "edgernn_rt.h"

#include <string.h>

#define ERN_INT32_MIN (-2147483647 - 1)
#define ERN_INT32_MAX 2147483647

static int32_t clamp_s8(int32_t v) { return v < -128 ? -128 : (v > 127 ? 127 : v); }

/* The three primitives are inlined into every kernel (they run several times per element). */
static inline int32_t srdhm(int32_t a, int32_t b) {
    if (a == b && a == ERN_INT32_MIN) return ERN_INT32_MAX; /* the only overflow case */
    const int64_t ab = (int64_t)a * (int64_t)b;
    /* gemmlowp: (ab + nudge) / 2^31, the division truncating toward zero. */
    if (ab >= 0) return (int32_t)((ab + (1 << 30)) >> 31);
    return (int32_t)-((-(ab + 1 - (1 << 30))) >> 31);
}

static inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t mbqm(int32_t x, int32_t multiplier, int shift) {
    const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    return rounding_divide_by_pot(srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

int32_t ern_srdhm(int32_t a, int32_t b) { return srdhm(a, b); }
int32_t ern_rounding_divide_by_pot(int32_t x, int exponent) { return rounding_divide_by_pot(x, exponent); }
int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) { return mbqm(x, multiplier, shift); }

#if defined(ERN_USE_DSP) && defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
typedef uint32_t __attribute__((aligned(1), may_alias)) ern_u32_unaligned;

/* Four int8 MACs per step: SXTB16 splits bytes 0,2 and (rotated) 1,3 into int16 pairs,
 * SMLAD multiplies both pairs and accumulates. Same integer sum as the plain loop. */
static int32_t dot_s8(const int8_t *w, const int8_t *x, int n) {
    int32_t acc = 0;
    int c = 0;
    for (; c + 4 <= n; c += 4) {
        const uint32_t wv = *(const ern_u32_unaligned *)(w + c);
        const uint32_t xv = *(const ern_u32_unaligned *)(x + c);
        acc = (int32_t)__smlad(__sxtb16(wv), __sxtb16(xv), (uint32_t)acc);
        acc = (int32_t)__smlad(__sxtb16((wv >> 8) | (wv << 24)), __sxtb16((xv >> 8) | (xv << 24)), (uint32_t)acc);
    }
    for (; c < n; ++c) acc += (int32_t)w[c] * x[c];
    return acc;
}
#else
static int32_t dot_s8(const int8_t *w, const int8_t *x, int n) {
    int32_t acc = 0;
    for (int c = 0; c < n; ++c) acc += (int32_t)w[c] * x[c];
    return acc;
}
#endif

void ern_fully_connected_s8(const int8_t *input, int batches, int cols, const int8_t *weights,
                            const int32_t *folded_bias, int rows, int32_t multiplier, int shift,
                            int32_t output_offset, int8_t *output) {
    for (int b = 0; b < batches; ++b) {
        const int8_t *x = input + b * cols;
        for (int r = 0; r < rows; ++r) {
            const int32_t acc = dot_s8(weights + r * cols, x, cols) + folded_bias[r];
            output[b * rows + r] = (int8_t)clamp_s8(
                mbqm(acc, multiplier, shift) + output_offset);
        }
    }
}

void ern_fully_connected_per_channel_s8(const int8_t *input, int batches, int cols, const int8_t *weights,
                                        const int32_t *folded_bias, int rows, const int32_t *multipliers,
                                        const int32_t *shifts, int32_t output_offset, int8_t *output) {
    for (int b = 0; b < batches; ++b) {
        const int8_t *x = input + b * cols;
        for (int r = 0; r < rows; ++r) {
            const int32_t acc = dot_s8(weights + r * cols, x, cols) + folded_bias[r];
            output[b * rows + r] = (int8_t)clamp_s8(mbqm(acc, multipliers[r], shifts[r]) + output_offset);
        }
    }
}

/* ADD and SUB share their rescaling: both inputs to a common scale with 20 bits of headroom. */
static void add_sub_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n, int sign) {
    for (int i = 0; i < n; ++i) {
        const int32_t x = (p->input1_offset + a[i]) * (1 << p->left_shift);
        const int32_t y = (p->input2_offset + b[i]) * (1 << p->left_shift);
        const int32_t sx = mbqm(x, p->input1_multiplier, p->input1_shift);
        const int32_t sy = mbqm(y, p->input2_multiplier, p->input2_shift);
        const int32_t raw = mbqm(sign > 0 ? sx + sy : sx - sy, p->output_multiplier,
                                                            p->output_shift) + p->output_offset;
        out[i] = (int8_t)clamp_s8(raw);
    }
}

void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n) {
    add_sub_s8(p, a, b, out, n, +1);
}

void ern_sub_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n) {
    add_sub_s8(p, a, b, out, n, -1);
}

void ern_mul_s8(const int8_t *a, int32_t a_offset, const int8_t *b, int32_t b_offset, int8_t *out, int n,
                int32_t multiplier, int shift, int32_t output_offset) {
    for (int i = 0; i < n; ++i) {
        const int32_t prod = ((int32_t)a[i] + a_offset) * ((int32_t)b[i] + b_offset);
        out[i] = (int8_t)clamp_s8(mbqm(prod, multiplier, shift) + output_offset);
    }
}

void ern_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = table[(int)in[i] + 128];
}

/* ---- softmax: gemmlowp fixed point (Q5.26 differences, Q0.31 exps, Q12.19 sums) ---- */

static int32_t sat_mul_by_pot(int32_t x, int exponent) { /* SaturatingRoundingMultiplyByPOT */
    if (exponent < 0) return rounding_divide_by_pot(x, -exponent);
    if (exponent == 0) return x;
    const int32_t min = ERN_INT32_MIN, max = ERN_INT32_MAX;
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return max;
    if (x < -threshold) return min;
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8. */
static int32_t exp_on_interval(int32_t a) {
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28);           /* a + 1/8 */
    const int32_t x2 = srdhm(x, x);
    const int32_t x3 = srdhm(x2, x);
    const int32_t x4 = srdhm(x2, x2);
    const int32_t x4_over_4 = sat_mul_by_pot(x4, -2);
    const int32_t poly = sat_mul_by_pot(srdhm(x4_over_4 + x3, one_third) + x2, -1);
    return constant_term + srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result Q0.31. */
static int32_t exp_on_negative_values_q5(int32_t a) {
    enum { kIntegerBits = 5, kFractionalBits = 26 };
    const int32_t one_quarter = 1 << (kFractionalBits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    int32_t result = exp_on_interval(sat_mul_by_pot(a_mod_quarter_minus_one_quarter, kIntegerBits)); /* Rescale<0> */
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    for (int e = -2; e <= 4; ++e) { /* exp(-2^e) applied for each set bit of the remainder */
        if (kIntegerBits > e && (remainder & (1 << (kFractionalBits + e)))) result = srdhm(result, multipliers[e + 2]);
    }
    return a == 0 ? ERN_INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31: Newton-Raphson with 48/17 - 32/17 d start, 3 steps. */
static int32_t one_over_one_plus_x(int32_t a) {
    /* RoundingHalfSum(a, One) with One = INT32_MAX in Q0.31. */
    const int64_t sum = (int64_t)a + (int64_t)ERN_INT32_MAX;
    const int64_t sign = sum >= 0 ? 1 : -1;
    const int32_t hd = (int32_t)((sum + sign) / 2);
    const int32_t c48_17 = 1515870810, cneg32_17 = -1010580540, one_q2 = 1 << 29;
    int32_t x = c48_17 + srdhm(hd, cneg32_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = srdhm(hd, x);
        const int32_t one_minus = one_q2 - hdx;
        x = x + sat_mul_by_pot(srdhm(x, one_minus), 2);
    }
    return sat_mul_by_pot(x, 1); /* ExactMulByPot<-1> then Rescale<0> from Q2.29: net x * 2 */
}

static int count_leading_zeros(uint32_t x) {
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
}

void ern_softmax_s8(const int8_t *in, int rows, int depth, int32_t beta_multiplier, int beta_left_shift,
                    int32_t diff_min, int8_t *out) {
    for (int r = 0; r < rows; ++r) {
        const int8_t *x = in + r * depth;
        int8_t *y = out + r * depth;
        int8_t max = -128;
        for (int c = 0; c < depth; ++c) if (x[c] > max) max = x[c];
        int32_t sum = 0; /* Q12.19 */
        for (int c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= diff_min) {
                const int32_t scaled = srdhm((int32_t)((uint32_t)diff << beta_left_shift), beta_multiplier);
                sum += sat_mul_by_pot(exp_on_negative_values_q5(scaled), -12);
            }
        }
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        const int exponent = num_bits_over_unit + 31 - 8;
        for (int c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= diff_min) {
                const int32_t scaled = srdhm((int32_t)((uint32_t)diff << beta_left_shift), beta_multiplier);
                const int32_t e = exp_on_negative_values_q5(scaled);
                y[c] = (int8_t)clamp_s8(rounding_divide_by_pot(srdhm(shifted_scale, e), exponent) - 128);
            } else {
                y[c] = -128;
            }
        }
    }
}

/* ---- int8 LSTM with int16 cell (TFLite Micro lstm_eval semantics) ---- */

static int32_t clamp_s16(int32_t v) { return v < -32768 ? -32768 : (v > 32767 ? 32767 : v); }

/* Sigmoid on a 2^-12 input: |3x| indexes the table in steps of 2^9 with linear interpolation. */
static int16_t sigmoid_s16(const uint16_t *table, int32_t x) {
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 9;
    uint32_t r;
    if (uh >= 255) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t ua = table[uh], ub = table[uh + 1];
        r = (ua << 9) + (a & 0x1FFu) * (ub - ua);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
    return (int16_t)(r >> 10);
}

/* tanh(y) = 2 sigmoid(2y) - 1 on the same table, steps of 2^8. */
static int16_t tanh_s16(const uint16_t *table, int32_t multiplier, int shift, int32_t x) {
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + round) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 8;
    int32_t r;
    if (uh >= 255) {
        r = (int32_t)(0xFFFFu << 8);
    } else {
        const uint32_t ua = table[uh], ub = table[uh + 1];
        r = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

void ern_sigmoid_s16(const uint16_t *table, const int16_t *in, int16_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = sigmoid_s16(table, in[i]);
}

void ern_tanh_s16(const uint16_t *table, int32_t multiplier, int shift, const int16_t *in, int16_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = tanh_s16(table, multiplier, shift, in[i]);
}

/* One gate: int16 (input FC + recurrent FC), saturating, then its activation. */
static void lstm_gate(const ern_lstm_params *p, int g, const int8_t *x, const int8_t *h, int tanh_gate,
                      int16_t *out) {
    for (int r = 0; r < p->n_state; ++r) {
        const int32_t a = clamp_s16(mbqm(dot_s8(p->input_weights[g] + r * p->n_input, x, p->n_input)
                                         + p->input_bias[g][r], p->input_multiplier[g], p->input_shift[g]));
        const int32_t b = clamp_s16(mbqm(dot_s8(p->recurrent_weights[g] + r * p->n_state, h, p->n_state)
                                         + p->recurrent_bias[g][r], p->recurrent_multiplier[g], p->recurrent_shift[g]));
        const int32_t sum = clamp_s16(a + b);
        out[r] = tanh_gate ? tanh_s16(p->sigmoid_table, 3, 0, sum) : sigmoid_s16(p->sigmoid_table, sum);
    }
}

void ern_lstm_s8(const ern_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                 int8_t *output, int16_t *scratch) {
    const int n = p->n_state;
    int16_t *ig = scratch, *fg = scratch + n, *cg = scratch + 2 * n, *og = scratch + 3 * n;
    for (int t = 0; t < p->steps; ++t) {
        const int8_t *x = input + t * p->n_input;
        lstm_gate(p, 0, x, hidden, 0, ig);
        lstm_gate(p, 1, x, hidden, 0, fg);
        lstm_gate(p, 2, x, hidden, p->cell_gate_tanh, cg);
        lstm_gate(p, 3, x, hidden, 0, og);
        for (int i = 0; i < n; ++i) {
            const int32_t kept = clamp_s16(mbqm((int32_t)fg[i] * cell[i], p->forget_mul_multiplier, p->forget_mul_shift));
            const int32_t added = clamp_s16(mbqm((int32_t)ig[i] * cg[i], p->input_mul_multiplier, p->input_mul_shift));
            int32_t c = clamp_s16(kept + added);
            if (p->cell_clip > 0) c = c > p->cell_clip ? p->cell_clip : (c < -p->cell_clip ? -p->cell_clip : c);
            cell[i] = (int16_t)c;
        }
        for (int i = 0; i < n; ++i) {
            const int32_t tc = tanh_s16(p->sigmoid_table, p->cell_tanh_multiplier, p->cell_tanh_shift, cell[i]);
            hidden[i] = (int8_t)clamp_s8(mbqm(tc * og[i], p->output_mul_multiplier, p->output_mul_shift)
                                         + p->hidden_zero_point);
        }
        memcpy(output + t * n, hidden, (size_t)n);
    }
}
