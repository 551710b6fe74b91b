/* edgernn runtime, internal part: the fixed-point helpers the kernels compute with, with TensorFlow
 * Lite Micro's rounding ("double rounding": a saturating rounding doubling high multiply, then a
 * rounding right shift), saturation and the DSP-extension switch. Kernel sources and the inline
 * kernels include it; a program calling the kernels needs only the public headers (ern_common.h and
 * ern_<op>_s8.h).
 *
 * Header-only (static inline) so each kernel file compiles on its own and the compiler can fold the
 * helpers into its loops.
 */
#ifndef ERN_SUPPORT_H_
#define ERN_SUPPORT_H_
#include "ern_common.h"

#if defined(ERN_USE_DSP) && defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define ERN_DSP 1
static inline int32_t ern_clamp_s8(int32_t v) { return __ssat(v, 8); }   /* one SSAT instruction */
static inline int32_t ern_clamp_s16(int32_t v) { return __ssat(v, 16); }
#else
static inline int32_t ern_clamp_s8(int32_t v) { return v < -128 ? -128 : (v > 127 ? 127 : v); }
static inline int32_t ern_clamp_s16(int32_t v) { return v < -32768 ? -32768 : (v > 32767 ? 32767 : v); }
#endif

/* a + b wrapping around as the device's adder does (signed overflow is undefined in C). */
static inline int32_t ern_add_wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* gemmlowp SaturatingRoundingDoublingHighMul, general form (softmax needs its overflow case). */
static inline int32_t ern_srdhm(int32_t a, int32_t b) {
    if (a == b && a == ERN_INT32_MIN) return ERN_INT32_MAX; /* the only overflow case */
    const int64_t ab = (int64_t)a * (int64_t)b;
    /* gemmlowp: (ab + nudge) / 2^31, the division truncating toward zero. */
    if (ab >= 0) return (int32_t)((ab + (1 << 30)) >> 31);
    return (int32_t)-((-(ab + 1 - (1 << 30))) >> 31);
}

/* The same for a multiplier m >= 0 (every requantization): gemmlowp's nudged, truncating
 * division equals floor((a*m + 2^30) / 2^31) for either sign of a*m, and the overflow case
 * needs m = INT32_MIN. SMULL, ADDS, ADC and a funnel shift on a Cortex-M4. */
static inline int32_t ern_srdhm_m(int32_t a, int32_t m) {
    return (int32_t)(((int64_t)a * m + (1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT (round half away from zero). */
static inline int32_t ern_rounding_divide_by_pot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* The same for exponent >= 1 in four instructions: floor((x + 2^(e-1) - [x<0]) / 2^e), computed
 * as ((x - [x<0]) >> (e-1) + 1) >> 1 so nothing overflows (x > INT32_MIN, which ern_srdhm_m ensures). */
static inline int32_t ern_rdbp_pos(int32_t x, int exponent) {
    return (((x + (x >> 31)) >> (exponent - 1)) + 1) >> 1;
}

/* round(a * b / 2^32), ties up: one SMMULR on cores with the DSP extension. For m >= 0 and |x| < 2^30,
 * ern_srdhm_m(x, m) == ern_smmulr(2x, m): (2xm + 2^31) >> 32 == (xm + 2^30) >> 31. */
static inline int32_t ern_smmulr(int32_t a, int32_t b) {
#if defined(ERN_DSP)
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + 0x80000000LL) >> 32);
#endif
}

/* ern_mbqm(x, m, -e) + offset for e >= 1 in four instructions, given x2 = 2x: the rounding divide and the
 * output offset folded into one constant, round = 2^(e-1) + offset * 2^e. Exact when |x| < 2^30 and
 * |x| + |round| < 2^31 (the generator proves both for every value a kernel can meet before it sets
 * a params struct's fast flag): floor((v - [v<0] + 2^(e-1)) / 2^e) + offset, v = ern_srdhm_m(x, m). */
static inline int32_t ern_requant_fast(int32_t x2, int32_t m, int32_t round, int e) {
    const int32_t v = ern_smmulr(x2, m);
    return (v + (v >> 31) + round) >> e;
}

/* tflite::MultiplyByQuantizedMultiplier: shift > 0 multiplies first, shift < 0 divides after. */
static inline int32_t ern_mbqm(int32_t x, int32_t multiplier, int shift) {
    if (shift > 0) return ern_srdhm_m((int32_t)((uint32_t)x << shift), multiplier);
    const int32_t v = ern_srdhm_m(x, multiplier);
    return shift < 0 ? ern_rdbp_pos(v, -shift) : v;
}

#endif
