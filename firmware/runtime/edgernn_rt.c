/* edgernn runtime: int8 kernels with TensorFlow Lite Micro reference semantics. See edgernn_rt.h.
 *
 * Speed without losing exactness: every shortcut below is an identity in integer arithmetic,
 * checked against TFLite Micro bit for bit by the tests (host build and QEMU firmware).
 */
#include "edgernn_rt.h"

#include <string.h>

#define ERN_INT32_MIN (-2147483647 - 1)
#define ERN_INT32_MAX 2147483647

#if defined(ERN_USE_DSP) && defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define ERN_DSP 1
static inline int32_t clamp_s8(int32_t v) { return __ssat(v, 8); }   /* one SSAT instruction */
static inline int32_t clamp_s16(int32_t v) { return __ssat(v, 16); }
#else
static inline int32_t clamp_s8(int32_t v) { return v < -128 ? -128 : (v > 127 ? 127 : v); }
static inline int32_t clamp_s16(int32_t v) { return v < -32768 ? -32768 : (v > 32767 ? 32767 : v); }
#endif

/* gemmlowp SaturatingRoundingDoublingHighMul, general form (softmax needs its overflow case). */
static inline int32_t srdhm(int32_t a, int32_t b) {
    if (a == b && a == ERN_INT32_MIN) return ERN_INT32_MAX; /* the only overflow case */
    const int64_t ab = (int64_t)a * (int64_t)b;
    /* gemmlowp: (ab + nudge) / 2^31, the division truncating toward zero. */
    if (ab >= 0) return (int32_t)((ab + (1 << 30)) >> 31);
    return (int32_t)-((-(ab + 1 - (1 << 30))) >> 31);
}

/* The same for a multiplier m >= 0 (every requantization): gemmlowp's nudged, truncating
 * division equals floor((a*m + 2^30) / 2^31) for either sign of a*m, and the overflow case
 * needs m = INT32_MIN. SMULL, ADDS, ADC and a funnel shift on a Cortex-M4. */
static inline int32_t srdhm_m(int32_t a, int32_t m) {
    return (int32_t)(((int64_t)a * m + (1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT (round half away from zero). */
static inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* The same for exponent >= 1 in four instructions: floor((x + 2^(e-1) - [x<0]) / 2^e), computed
 * as ((x - [x<0]) >> (e-1) + 1) >> 1 so nothing overflows (x > INT32_MIN, which srdhm_m ensures). */
static inline int32_t rdbp_pos(int32_t x, int exponent) {
    return (((x + (x >> 31)) >> (exponent - 1)) + 1) >> 1;
}

/* tflite::MultiplyByQuantizedMultiplier: shift > 0 multiplies first, shift < 0 divides after. */
static inline int32_t mbqm(int32_t x, int32_t multiplier, int shift) {
    if (shift > 0) return srdhm_m((int32_t)((uint32_t)x << shift), multiplier);
    const int32_t v = srdhm_m(x, multiplier);
    return shift < 0 ? rdbp_pos(v, -shift) : v;
}

int32_t ern_srdhm(int32_t a, int32_t b) { return srdhm(a, b); }
int32_t ern_rounding_divide_by_pot(int32_t x, int exponent) { return rounding_divide_by_pot(x, exponent); }
int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) { return mbqm(x, multiplier, shift); }

/* ---- matrix x vector: the MACs ---- */

/* The int8 input becomes int16 once per call, each group of 4 stored as x0 x2 x1 x3: the order
 * SXTB16 produces from 4 weight bytes (bytes 0,2, then rotated 1,3), so the inner loop loads a
 * weight word, splits it with two SXTB16 and feeds two SMLADs against ready int16 pairs.
 * Columns past the end are zero (the packed weights are zero there too). */
void ern_widen_s8(const int8_t *x, int cols, int16_t *x16) {
    const int padded = (cols + 3) & ~3;
    for (int c = 0; c < padded; c += 4) {
        static const int order[4] = {0, 2, 1, 3};
        for (int k = 0; k < 4; ++k) x16[c + k] = c + order[k] < cols ? x[c + order[k]] : 0;
    }
}

/* Four dot products at once: rows packed in blocks of 4 (see the header), so one pass
 * over x serves four rows and the weights stream from one pointer. */
#ifdef ERN_DSP
/* SXTB16 with its built-in rotation (GCC does not fold a separate ROR into it). */
static inline uint32_t sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
#endif

static inline void dot_4rows(const int8_t *w, const int16_t *x16, int groups, int32_t acc[4]) {
#ifdef ERN_DSP
    /* Hand-scheduled: 21 instructions per 16 MACs (two LDRD of weights, one of inputs, 8 SXTB16,
     * 8 SMLAD, SUBS, BNE); GCC's version shuffled accumulators between registers. */
    const int8_t *wp = w;
    const int16_t *xp = x16;
    uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, xa, xb, v0, v1, t;
    int g = groups;
    if (g > 0) {
        __asm__ volatile(
            "1:\n\t"
            "ldrd %[xa], %[xb], [%[xp]], #8\n\t"
            "ldrd %[v0], %[v1], [%[wp]], #8\n\t"
            "sxtb16 %[t], %[v0]\n\t"
            "smlad %[s0], %[t], %[xa], %[s0]\n\t"
            "sxtb16 %[t], %[v0], ror #8\n\t"
            "smlad %[s0], %[t], %[xb], %[s0]\n\t"
            "sxtb16 %[t], %[v1]\n\t"
            "smlad %[s1], %[t], %[xa], %[s1]\n\t"
            "sxtb16 %[t], %[v1], ror #8\n\t"
            "smlad %[s1], %[t], %[xb], %[s1]\n\t"
            "ldrd %[v0], %[v1], [%[wp]], #8\n\t"
            "sxtb16 %[t], %[v0]\n\t"
            "smlad %[s2], %[t], %[xa], %[s2]\n\t"
            "sxtb16 %[t], %[v0], ror #8\n\t"
            "smlad %[s2], %[t], %[xb], %[s2]\n\t"
            "sxtb16 %[t], %[v1]\n\t"
            "smlad %[s3], %[t], %[xa], %[s3]\n\t"
            "sxtb16 %[t], %[v1], ror #8\n\t"
            "smlad %[s3], %[t], %[xb], %[s3]\n\t"
            "subs %[g], %[g], #1\n\t"
            "bne 1b\n\t"
            : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [wp] "+r"(wp), [xp] "+r"(xp),
              [g] "+r"(g), [xa] "=&r"(xa), [xb] "=&r"(xb), [v0] "=&r"(v0), [v1] "=&r"(v1), [t] "=&r"(t)
            :
            : "cc", "memory");
    }
    acc[0] = (int32_t)s0; acc[1] = (int32_t)s1; acc[2] = (int32_t)s2; acc[3] = (int32_t)s3;
#else
    int32_t s[4] = {0, 0, 0, 0};
    for (int g = 0; g < groups; ++g, w += 16, x16 += 4) {
        for (int j = 0; j < 4; ++j) {
            const int8_t *r = w + 4 * j;
            s[j] += r[0] * x16[0] + r[2] * x16[1] + r[1] * x16[2] + r[3] * x16[3];
        }
    }
    for (int j = 0; j < 4; ++j) acc[j] = s[j];
#endif
}

/* Requantize one accumulator (the common case, shift < 0, kept free of branches). */
static inline int8_t requant_s8(int32_t acc, int32_t multiplier, int right, int32_t output_offset) {
    return (int8_t)clamp_s8(rdbp_pos(srdhm_m(acc, multiplier), right) + output_offset);
}

void ern_fully_connected_s8(const int8_t *input, int batches, int cols, const int8_t *packed_weights,
                            const int32_t *folded_bias, int rows, int32_t multiplier, int shift,
                            int32_t output_offset, int16_t *x16, int8_t *output) {
    const int groups = (cols + 3) >> 2, right = -shift;
    for (int b = 0; b < batches; ++b) {
        ern_widen_s8(input + b * cols, cols, x16);
        int8_t *out = output + b * rows;
        const int8_t *w = packed_weights;
        int r = 0;
        if (shift < 0) {
            for (; r + 4 <= rows; r += 4, w += groups * 16) {
                int32_t acc[4];
                dot_4rows(w, x16, groups, acc);
                out[r] = requant_s8(acc[0] + folded_bias[r], multiplier, right, output_offset);
                out[r + 1] = requant_s8(acc[1] + folded_bias[r + 1], multiplier, right, output_offset);
                out[r + 2] = requant_s8(acc[2] + folded_bias[r + 2], multiplier, right, output_offset);
                out[r + 3] = requant_s8(acc[3] + folded_bias[r + 3], multiplier, right, output_offset);
            }
        }
        for (; r < rows; r += 4, w += groups * 16) { /* any shift, and a last partial block */
            int32_t acc[4];
            dot_4rows(w, x16, groups, acc);
            for (int j = 0; j < 4 && r + j < rows; ++j)
                out[r + j] = (int8_t)clamp_s8(mbqm(acc[j] + folded_bias[r + j], multiplier, shift) + output_offset);
        }
    }
}

void ern_fully_connected_per_channel_s8(const int8_t *input, int batches, int cols, const int8_t *packed_weights,
                                        const int32_t *folded_bias, int rows, const int32_t *multipliers,
                                        const int32_t *shifts, int32_t output_offset, int16_t *x16, int8_t *output) {
    const int groups = (cols + 3) >> 2;
    for (int b = 0; b < batches; ++b) {
        ern_widen_s8(input + b * cols, cols, x16);
        int8_t *out = output + b * rows;
        for (int r = 0; r < rows; r += 4) {
            int32_t acc[4];
            dot_4rows(packed_weights + r * groups * 4, x16, groups, acc);
            for (int j = 0; j < 4 && r + j < rows; ++j)
                out[r + j] = (int8_t)clamp_s8(mbqm(acc[j] + folded_bias[r + j], multipliers[r + j], shifts[r + j])
                                              + output_offset);
        }
    }
}

/* ---- element-wise ---- */

/* ADD and SUB (TFLite Micro's add/sub: both inputs to a common scale with 20 bits of headroom,
 * then the output rescale). An input's rescaled value depends on its int8 value alone, so the
 * generator tabulates it (256 int32, exact, negated for a subtrahend). The input with the larger
 * scale has the multiplier 1/2 exactly, so its rescaled value is (x + offset) << 19 with no
 * table. raw = table[x] + sign * ((y + offset) << 19), then one requantization. */
void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n) {
    const int32_t *table = p->table;
    const int8_t *tabled = p->table_input ? b : a, *plain = p->table_input ? a : b;
    const int32_t off = p->plain_offset, sign = p->plain_sign, m = p->output_multiplier, zp = p->output_offset;
    const int shift = p->output_shift;
    if (shift < 0) {
        for (int i = 0; i < n; ++i) {
            const int32_t raw = table[(uint8_t)tabled[i]] + sign * (int32_t)((uint32_t)(plain[i] + off) << 19);
            out[i] = (int8_t)clamp_s8(rdbp_pos(srdhm_m(raw, m), -shift) + zp);
        }
    } else {
        for (int i = 0; i < n; ++i) {
            const int32_t raw = table[(uint8_t)tabled[i]] + sign * (int32_t)((uint32_t)(plain[i] + off) << 19);
            out[i] = (int8_t)clamp_s8(mbqm(raw, m, shift) + zp);
        }
    }
}

/* MUL: (a - za) * (b - zb) rescaled. Offsets are the negated zero points. */
void ern_mul_s8(const int8_t *a, int32_t a_offset, const int8_t *b, int32_t b_offset, int8_t *out, int n,
                int32_t multiplier, int shift, int32_t output_offset) {
    if (shift < 0) {
        for (int i = 0; i < n; ++i) {
            const int32_t prod = ((int32_t)a[i] + a_offset) * ((int32_t)b[i] + b_offset);
            out[i] = (int8_t)clamp_s8(rdbp_pos(srdhm_m(prod, multiplier), -shift) + output_offset);
        }
    } else {
        for (int i = 0; i < n; ++i) {
            const int32_t prod = ((int32_t)a[i] + a_offset) * ((int32_t)b[i] + b_offset);
            out[i] = (int8_t)clamp_s8(mbqm(prod, multiplier, shift) + output_offset);
        }
    }
}

/* Table lookup indexed by the int8 value's bit pattern (the generator stores it that way). */
void ern_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = table[(uint8_t)in[i]];
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

/* Sigmoid on a 2^-12 input: |3x| indexes the table in steps of 2^9 with linear interpolation. */
static inline int16_t sigmoid_s16(const uint16_t *table, int32_t x) {
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
static inline int16_t tanh_s16(const uint16_t *table, int32_t multiplier, int shift, int32_t x) {
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

#if defined(__GNUC__)
#define ERN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ERN_ALWAYS_INLINE inline
#endif

/* Requantize to int16 with the shift's sign known at compile time (each variant is branch-free). */
static ERN_ALWAYS_INLINE int32_t requant_s16(int32_t acc, int32_t multiplier, int shift, const int left) {
    if (left) return clamp_s16(srdhm_m((int32_t)((uint32_t)acc << shift), multiplier));  /* shift >= 0 */
    return clamp_s16(rdbp_pos(srdhm_m(acc, multiplier), -shift));                        /* shift < 0 */
}

/* One gate, four rows at a time: int16 (input FC + recurrent FC), saturating, then its activation.
 * Instantiated per activation and per sign of the two shifts, so no row pays for a branch. */
static ERN_ALWAYS_INLINE void gate_rows(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16,
                                        int16_t *out, const int tanh_gate, const int in_left, const int rec_left) {
    const int gi = (p->n_input + 3) >> 2, gs = (p->n_state + 3) >> 2;
    const int32_t *ib = p->input_bias[g], *rb = p->recurrent_bias[g];
    const int32_t mi = p->input_multiplier[g], mr = p->recurrent_multiplier[g];
    const int si = p->input_shift[g], sr = p->recurrent_shift[g];
    const uint16_t *table = p->sigmoid_table;
    const int8_t *wi = p->input_weights[g], *wr = p->recurrent_weights[g];
    for (int r = 0; r < p->n_state; r += 4, wi += gi * 16, wr += gs * 16) {
        int32_t ai[4], ar[4];
        dot_4rows(wi, x16, gi, ai);
        dot_4rows(wr, h16, gs, ar);
        const int n = p->n_state - r < 4 ? p->n_state - r : 4;
        for (int j = 0; j < n; ++j) {
            const int32_t sum = clamp_s16(requant_s16(ai[j] + ib[r + j], mi, si, in_left)
                                          + requant_s16(ar[j] + rb[r + j], mr, sr, rec_left));
            out[r + j] = tanh_gate ? tanh_s16(table, 3, 0, sum) : sigmoid_s16(table, sum);
        }
    }
}

#define ERN_GATE_VARIANTS(tanh_gate)                                                            \
    switch ((p->input_shift[g] >= 0) | (p->recurrent_shift[g] >= 0) << 1) {                     \
    case 0: gate_rows(p, g, x16, h16, out, tanh_gate, 0, 0); break;                             \
    case 1: gate_rows(p, g, x16, h16, out, tanh_gate, 1, 0); break;                             \
    case 2: gate_rows(p, g, x16, h16, out, tanh_gate, 0, 1); break;                             \
    default: gate_rows(p, g, x16, h16, out, tanh_gate, 1, 1); break;                            \
    }

static void lstm_gate_sigmoid(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16, int16_t *out) {
    ERN_GATE_VARIANTS(0)
}

static void lstm_gate_tanh(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16, int16_t *out) {
    ERN_GATE_VARIANTS(1)
}

void ern_lstm_s8(const ern_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                 int8_t *output, int16_t *scratch) {
    const int n = p->n_state;
    int16_t *ig = scratch, *fg = scratch + n, *cg = scratch + 2 * n, *og = scratch + 3 * n;
    int16_t *x16 = scratch + 4 * n, *h16 = x16 + ((p->n_input + 3) & ~3);
    for (int t = 0; t < p->steps; ++t) {
        ern_widen_s8(input + t * p->n_input, p->n_input, x16);
        ern_widen_s8(hidden, n, h16);
        lstm_gate_sigmoid(p, 0, x16, h16, ig);
        lstm_gate_sigmoid(p, 1, x16, h16, fg);
        if (p->cell_gate_tanh) lstm_gate_tanh(p, 2, x16, h16, cg);
        else lstm_gate_sigmoid(p, 2, x16, h16, cg);
        lstm_gate_sigmoid(p, 3, x16, h16, og);
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
