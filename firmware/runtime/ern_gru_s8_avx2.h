/* The fused int8 GRU step with x86 AVX2 (host builds, ern_dot_s8_avx2.h selected): 8 units per vector.
 * Included by ern_gru_s8_inline.h when ERN_AVX2 is set; ern_gru_step_inline runs ern_gru_step_avx2 when the
 * state size is a multiple of 8, the scalar loop otherwise.
 * Same arithmetic as the scalar kernel, lane by lane, so the same bits:
 *   ern_smmulr(a, m)          -> VPMULDQ on even and odd lanes, + 2^31, the high 32 bits of the 64-bit product
 *   ern_requant_fast's >> e   -> VPSRAD (arithmetic, truncating like >>)
 *   ern_clamp_s8              -> VPMINSD / VPMAXSD
 *   table[v] (int32 tables)   -> VPGATHERDD with the int8 value as signed index (entry 128 is the table pointer)
 *   lut[v] (byte tables)      -> scalar loads (a dword gather would read up to 3 bytes past the table)
 * The projections are ern_dot4_doubled_any (the AVX2 dot product), two blocks of 4 rows per vector. */
#ifndef ERN_GRU_S8_AVX2_H_
#define ERN_GRU_S8_AVX2_H_
#include <immintrin.h>

/* ern_requant_fast on 8 lanes. */
static ERN_ALWAYS_INLINE __m256i ern_requant_fast_x8(__m256i x2, int32_t m, int32_t round, int e) {
    const __m256i mv = _mm256_set1_epi32(m), half = _mm256_set1_epi64x(0x80000000LL);
    const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x2, mv), half);
    const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x2, 32), mv), half);
    const __m256i v = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    const __m256i t = _mm256_add_epi32(_mm256_add_epi32(v, _mm256_srai_epi32(v, 31)), _mm256_set1_epi32(round));
    return _mm256_sra_epi32(t, _mm_cvtsi32_si128(e));
}

static ERN_ALWAYS_INLINE __m256i ern_clamp_s8_x8(__m256i v) {
    return _mm256_max_epi32(_mm256_min_epi32(v, _mm256_set1_epi32(127)), _mm256_set1_epi32(-128));
}

static ERN_ALWAYS_INLINE __m256i ern_gru_add_x8(const ern_gru_add_params *p, __m256i a, __m256i b) {
    const __m256i tabled = p->tabled_second ? b : a, plain = p->tabled_second ? a : b;
    const __m256i t = _mm256_i32gather_epi32((const int *)p->table, tabled, 4);
    const __m256i sum = _mm256_add_epi32(t, _mm256_mullo_epi32(plain, _mm256_set1_epi32(p->plain_scale)));
    return ern_clamp_s8_x8(ern_requant_fast_x8(sum, p->rq.multiplier, p->rq.round, -p->rq.shift));
}

static ERN_ALWAYS_INLINE __m256i ern_gru_mul_x8(const ern_gru_mul_params *p, __m256i a, __m256i b) {
    const __m256i prod = _mm256_mullo_epi32(_mm256_add_epi32(a, _mm256_set1_epi32(p->a_offset)),
                                            _mm256_add_epi32(b, _mm256_set1_epi32(p->b_offset)));
    return ern_clamp_s8_x8(ern_requant_fast_x8(_mm256_add_epi32(prod, prod), p->rq.multiplier, p->rq.round,
                                               -p->rq.shift));
}

/* 8 rows of one projection (two blocks of 4) as int8 values in 8 lanes. */
static ERN_ALWAYS_INLINE __m256i ern_gru_rows_x8(const int8_t *w, int block, const int16_t *x16, int cols,
                                                 const int32_t *bias2, const ern_requant *rq) {
    int32_t acc[8];
    ern_dot4_doubled_any(w, x16, (cols + 3) >> 2, bias2, acc);
    ern_dot4_doubled_any(w + block, x16, (cols + 3) >> 2, bias2 + 4, acc + 4);
    return ern_clamp_s8_x8(ern_requant_fast_x8(_mm256_loadu_si256((const __m256i *)(const void *)acc), rq->multiplier,
                                               rq->round, -rq->shift));
}

/* lut[v] for 8 lanes of int8 values v (the tables point at entry 128): scalar loads. */
static ERN_ALWAYS_INLINE __m256i ern_lut_u8_x8(const uint8_t *lut, __m256i v) {
    int32_t i[8];
    _mm256_storeu_si256((__m256i *)(void *)i, v);
    return _mm256_setr_epi32(lut[i[0]], lut[i[1]], lut[i[2]], lut[i[3]], lut[i[4]], lut[i[5]], lut[i[6]], lut[i[7]]);
}

static ERN_ALWAYS_INLINE __m256i ern_lut_s8_x8(const int8_t *lut, __m256i v) {
    int32_t i[8];
    _mm256_storeu_si256((__m256i *)(void *)i, v);
    return _mm256_setr_epi32(lut[i[0]], lut[i[1]], lut[i[2]], lut[i[3]], lut[i[4]], lut[i[5]], lut[i[6]], lut[i[7]]);
}

/* The step for n_state a multiple of 8 (plain weight blocks: the host has no paired layout). */
static ERN_ALWAYS_INLINE void ern_gru_step_avx2(const ern_gru_params *p, const int8_t *x, const int8_t *h,
                                                int8_t *h_out, int16_t *scratch) {
    const int n = p->n_state, ni = p->n_input;
    const int bi = 4 * ERN_PAD4(ni), bs = 4 * ERN_PAD4(n); /* bytes per block of 4 rows */
    int16_t *x16 = scratch, *h16 = scratch + ERN_PAD4(ni);
    ern_widen2_s8(x, ni, x16);
    ern_widen2_s8(h, n, h16);
    const int32_t wi_gate = n / 4 * bi, wr_gate = n / 4 * bs;
    for (int j = 0; j < n; j += 8) {
        __m256i xi[3], hr[3];
        for (int g = 0; g < 3; ++g) {
            xi[g] = ern_gru_rows_x8(p->input_weights + g * wi_gate + j / 4 * bi, bi, x16, ni, p->input_bias + g * n + j,
                                    &p->input_rq);
            hr[g] = ern_gru_rows_x8(p->recurrent_weights + g * wr_gate + j / 4 * bs, bs, h16, n,
                                    p->recurrent_bias + g * n + j, &p->recurrent_rq);
        }
        const __m256i hv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(h + j)));
        const __m256i z = ern_lut_u8_x8(p->lut_z, ern_gru_add_x8(&p->add_z, xi[0], hr[0]));
        const __m256i r = ern_lut_u8_x8(p->lut_r, ern_gru_add_x8(&p->add_r, xi[1], hr[1]));
        const __m256i nn = ern_lut_s8_x8(p->lut_n, ern_gru_add_x8(&p->add_n, xi[2], ern_gru_mul_x8(&p->mul_r, r, hr[2])));
        const __m256i s = ern_gru_add_x8(&p->sub_h, hv, nn);
        int32_t o[8];
        _mm256_storeu_si256((__m256i *)(void *)o, ern_gru_add_x8(&p->add_out, nn, ern_gru_mul_x8(&p->mul_z, z, s)));
        for (int k = 0; k < 8; ++k) h_out[j + k] = (int8_t)o[k];
    }
}

#endif
