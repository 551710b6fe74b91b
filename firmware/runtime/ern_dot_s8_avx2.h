/* ern_dot_4rows with x86 AVX2 (host builds with -mavx2 or -march=x86-64-v3; the native engine picks that
 * only when the CPU has AVX2, and the portable ern_dot_s8_ref.h otherwise). Bit-exact with the reference
 * by construction: the same integer products and sums, only grouped differently (integer addition is exact
 * and the 32-bit sums cannot overflow for int8 weights and a doubled int8 input); the requantization after
 * it stays the shared scalar code.
 *
 * One group of 4 columns for 4 rows is 16 weight bytes (ern_dot_s8.h): a byte shuffle puts each row's
 * bytes in the widened input's order (w0 w2 w1 w3, as x16 holds x0 x2 x1 x3), VPMOVSXBW widens them to 16
 * int16 and VPMADDWD multiplies them with the group's 4 input values broadcast to all rows, summing
 * adjacent pairs: 8 int32 lanes, two per row, added up once at the end. */
#ifndef ERN_DOT_S8_AVX2_H_
#define ERN_DOT_S8_AVX2_H_
#include <immintrin.h>
#include <string.h>

#include "ern_support.h"

#define ERN_AVX2 1

/* One group: 16 weight bytes against 4 widened inputs, into 8 int32 lanes. */
static inline __m256i ern_avx2_group(const int8_t *w, const int16_t *x16, __m128i order) {
    int64_t xq;
    memcpy(&xq, x16, 8); /* x0 x2 x1 x3 */
    const __m128i wb = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)w), order);
    return _mm256_madd_epi16(_mm256_cvtepi8_epi16(wb), _mm256_set1_epi64x(xq));
}

/* acc[k] = i_k + row k . x (ern_dot_4rows starts from zero). */
static inline void ern_dot_4rows_from(const int8_t *w, const int16_t *x16, int groups, int32_t i0, int32_t i1,
                                      int32_t i2, int32_t i3, int32_t acc[4]) {
    const __m128i order = _mm_setr_epi8(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    int g = 0;
    for (; g + 2 <= groups; g += 2, w += 32, x16 += 8) { /* two chains: the adds do not wait on each other */
        s0 = _mm256_add_epi32(s0, ern_avx2_group(w, x16, order));
        s1 = _mm256_add_epi32(s1, ern_avx2_group(w + 16, x16 + 4, order));
    }
    if (g < groups) s0 = _mm256_add_epi32(s0, ern_avx2_group(w, x16, order));
    const __m256i s = _mm256_add_epi32(s0, s1); /* lanes: row 0 twice, row 1 twice | row 2, row 3 */
    const __m128i r = _mm_hadd_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    const __m128i out = _mm_add_epi32(r, _mm_setr_epi32(i0, i1, i2, i3));
    _mm_storeu_si128((__m128i *)(void *)acc, out);
}

#endif
