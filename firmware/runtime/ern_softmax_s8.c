#include "ern_softmax_s8.h"
#include "ern_support.h"

/* ---- softmax: gemmlowp fixed point (Q5.26 differences, Q0.31 exps, Q12.19 sums) ---- */

static int32_t sat_mul_by_pot(int32_t x, int exponent) { /* SaturatingRoundingMultiplyByPOT */
    if (exponent < 0) return ern_rounding_divide_by_pot(x, -exponent);
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
    const int32_t x2 = ern_srdhm(x, x);
    const int32_t x3 = ern_srdhm(x2, x);
    const int32_t x4 = ern_srdhm(x2, x2);
    const int32_t x4_over_4 = sat_mul_by_pot(x4, -2);
    const int32_t poly = sat_mul_by_pot(ern_srdhm(x4_over_4 + x3, one_third) + x2, -1);
    return constant_term + ern_srdhm(constant_term, x + poly);
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
        if (kIntegerBits > e && (remainder & (1 << (kFractionalBits + e)))) result = ern_srdhm(result, multipliers[e + 2]);
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
    int32_t x = c48_17 + ern_srdhm(hd, cneg32_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = ern_srdhm(hd, x);
        const int32_t one_minus = one_q2 - hdx;
        x = x + sat_mul_by_pot(ern_srdhm(x, one_minus), 2);
    }
    return sat_mul_by_pot(x, 1); /* ExactMulByPot<-1> then Rescale<0> from Q2.29: net x * 2 */
}

static int count_leading_zeros(uint32_t x) {
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
}

void ern_softmax_s8(const ern_softmax_params *p, const int8_t *in, int8_t *out) {
    const int rows = p->rows, depth = p->depth, beta_left_shift = p->beta_left_shift;
    const int32_t beta_multiplier = p->beta_multiplier, diff_min = p->diff_min;
    for (int r = 0; r < rows; ++r) {
        const int8_t *x = in + r * depth;
        int8_t *y = out + r * depth;
        int8_t max = -128;
        for (int c = 0; c < depth; ++c) if (x[c] > max) max = x[c];
        int32_t sum = 0; /* Q12.19 */
        for (int c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= diff_min) {
                const int32_t scaled = ern_srdhm((int32_t)((uint32_t)diff << beta_left_shift), beta_multiplier);
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
                const int32_t scaled = ern_srdhm((int32_t)((uint32_t)diff << beta_left_shift), beta_multiplier);
                const int32_t e = exp_on_negative_values_q5(scaled);
                y[c] = (int8_t)ern_clamp_s8(ern_rounding_divide_by_pot(ern_srdhm(shifted_scale, e), exponent) - 128);
            } else {
                y[c] = -128;
            }
        }
    }
}

