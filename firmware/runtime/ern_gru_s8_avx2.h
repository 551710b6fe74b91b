/* The fused int8 GRU step with x86 AVX2 (host builds, ern_dot_s8_avx2.h selected): 8 units per vector.
 * Included by ern_gru_s8_inline.h when ERN_AVX2 is set; ern_gru_step_inline runs ern_gru_step_avx2 when the
 * state size is a multiple of 8, the scalar loop otherwise.
 * Same arithmetic as the scalar kernel, lane by lane, so the same bits:
 *   ern_smmulr(a, m)          -> VPMULDQ on even and odd lanes, + 2^31, the high 32 bits of the 64-bit product
 *   ern_requant_fast's >> e   -> VPSRAD (arithmetic, truncating like >>)
 *   ern_clamp_s8              -> VPMINSD / VPMAXSD
 *   table[v] (int32 tables)   -> VPGATHERDD with the int8 value as signed index (entry 128 is the table pointer)
 *   lut[v] (byte tables)      -> scalar loads (a dword gather would read up to 3 bytes past the table)
 * The projections read the input widened in natural order (ern_widen2_natural, into the same scratch) and run
 * 8 units x 3 gates per pass over it (ern_gru_proj3_x8): the same integer sums as ern_dot_4rows. */
#ifndef ERN_GRU_S8_AVX2_H_
#define ERN_GRU_S8_AVX2_H_
#include <immintrin.h>
#include <string.h>

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

/* The input doubled and widened in natural order (x0 x1 x2 x3 ...), zero-padded to a multiple of 4: the packed
 * weights' bytes come in that order, so they are widened as they are, with no shuffle. */
static ERN_ALWAYS_INLINE void ern_widen2_natural(const int8_t *x, int cols, int16_t *x16) {
    for (int c = 0; c < ERN_PAD4(cols); ++c) x16[c] = (int16_t)(c < cols ? 2 * x[c] : 0);
}

/* One projection of 8 units (two blocks of 4 rows, `block` bytes apart) for the 3 gates (`gate` bytes apart),
 * in one pass over the input: out[g] = clamp(requant(bias2[g n + k] + 2 row . x)) as 8 lanes. Per group of 4
 * columns: the 4 inputs broadcast once, then 6 x (VPMOVSXBW from memory, VPMADDWD, VPADDD). */
static ERN_ALWAYS_INLINE void ern_gru_proj3_x8(const int8_t *w, int block, int32_t gate, const int16_t *x16, int cols,
                                               const int32_t *bias2, int n, const ern_requant *rq, __m256i out[3]) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    const int groups = (cols + 3) >> 2;
#define ERN_MAC(acc, ptr) \
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(ptr))), xv))
#pragma GCC unroll 2
    for (int c = 0; c < groups; ++c, w += 16) {
        int64_t q;
        memcpy(&q, x16 + 4 * c, 8);
        const __m256i xv = _mm256_set1_epi64x(q);
        ERN_MAC(a0, w);
        ERN_MAC(a1, w + block);
        ERN_MAC(a2, w + gate);
        ERN_MAC(a3, w + gate + block);
        ERN_MAC(a4, w + 2 * gate);
        ERN_MAC(a5, w + 2 * gate + block);
    }
#undef ERN_MAC
    /* lanes of a block: row 0 twice, row 1 twice | row 2, row 3; VPHADDD of two blocks gives rows 0 1 4 5 | 2 3 6 7 */
    const __m256i s[3] = {_mm256_permute4x64_epi64(_mm256_hadd_epi32(a0, a1), 0xD8),
                          _mm256_permute4x64_epi64(_mm256_hadd_epi32(a2, a3), 0xD8),
                          _mm256_permute4x64_epi64(_mm256_hadd_epi32(a4, a5), 0xD8)};
    for (int g = 0; g < 3; ++g) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(bias2 + g * n));
        out[g] = ern_clamp_s8_x8(ern_requant_fast_x8(_mm256_add_epi32(b, s[g]), rq->multiplier, rq->round, -rq->shift));
    }
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
    ern_widen2_natural(x, ni, x16);
    ern_widen2_natural(h, n, h16);
    const int32_t wi_gate = n / 4 * bi, wr_gate = n / 4 * bs;
    for (int j = 0; j < n; j += 8) {
        __m256i xi[3], hr[3];
        ern_gru_proj3_x8(p->input_weights + j / 4 * bi, bi, wi_gate, x16, ni, p->input_bias + j, n, &p->input_rq, xi);
        ern_gru_proj3_x8(p->recurrent_weights + j / 4 * bs, bs, wr_gate, h16, n, p->recurrent_bias + j, n,
                         &p->recurrent_rq, hr);
        const __m256i hv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(h + j)));
        const __m256i z = ern_lut_u8_x8(p->lut_z, ern_gru_add_x8(&p->add_z, xi[0], hr[0]));
        const __m256i r = ern_lut_u8_x8(p->lut_r, ern_gru_add_x8(&p->add_r, xi[1], hr[1]));
        const __m256i nn = ern_lut_s8_x8(p->lut_n, ern_gru_add_x8(&p->add_n, xi[2], ern_gru_mul_x8(&p->mul_r, r, hr[2])));
        /* the complement form (u = 1 - z from negated z weights): h' = add_out(h, mul_z(u, sub_h(n, h))) */
        const __m256i s = p->complement ? ern_gru_add_x8(&p->sub_h, nn, hv) : ern_gru_add_x8(&p->sub_h, hv, nn);
        const __m256i o = ern_gru_add_x8(&p->add_out, p->complement ? hv : nn,
                                         ern_gru_mul_x8(&p->mul_z, z, s)); /* int8 range */
        const __m128i o16 = _mm_packs_epi32(_mm256_castsi256_si128(o), _mm256_extracti128_si256(o, 1));
        _mm_storel_epi64((__m128i *)(void *)(h_out + j), _mm_packs_epi16(o16, o16));
    }
}

#endif
