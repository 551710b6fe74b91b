/* The int8 matrix x vector core shared by FULLY_CONNECTED and the LSTM.
 *
 * Weights are packed by the generator: rows in blocks of 4, columns in groups of 4 padded with
 * zeros; block b, group g holds rows 4b..4b+3, 4 bytes each, in order. The input is widened to
 * int16 once per call (ern_widen_s8) in the pair order the packed dot product reads.
 * With Helium (ERN_MVE) a block holds its 4 rows one after the other instead (same block size), and
 * the "widened" input stays int8: 16 products per vector instruction need no widening.
 */
#ifndef ERN_DOT_S8_H_
#define ERN_DOT_S8_H_
#include "ern_support.h"

/* int8 -> int16 in the pair order the packed dot product reads (x0 x2 x1 x3 per group of 4);
 * with ERN_MVE a copy of the int8 input, zero-padded to a multiple of 4, in the same buffer. */
void ern_widen_s8(const int8_t *x, int cols, int16_t *x16);

/* The "doubled" convention of the fused kernels (GRU step, LSTM): the input widened times two (|2x| <= 256
 * fits int16; with Helium the int8 input as is), and four rows' products started from doubled biases, so
 * acc[k] = init[k] + 2 * (row k . x) comes out as ern_requant_fast's doubled argument with no extra work.
 * Out of line: one copy of the dot loop serves every projection. _pairs: an even number of groups >= 2. */
void ern_widen2_s8(const int8_t *x, int cols, int16_t *x16);
void ern_dot4_doubled(const int8_t *w, const int16_t *x16, int groups, const int32_t *init, int32_t acc[4]);
void ern_dot4_doubled_pairs(const int8_t *w, const int16_t *x16, int pairs, const int32_t *init, int32_t acc[4]);
void ern_dot4_doubled_odd(const int8_t *w, const int16_t *x16, int pairs, const int32_t *init, int32_t acc[4]);

/* ern_dot4_doubled with the group count known at compile time: the even-group loop where it fits. */
static inline void ern_dot4_doubled_any(const int8_t *w, const int16_t *x16, int groups, const int32_t *init,
                                        int32_t acc[4]) {
    if (groups % 2 == 0 && groups > 0) ern_dot4_doubled_pairs(w, x16, groups / 2, init, acc);
    else if (groups % 2 == 1 && groups > 1) ern_dot4_doubled_odd(w, x16, groups / 2, init, acc);
    else ern_dot4_doubled(w, x16, groups, init, acc);
}

/* ern_dot_4rows(w, x16, groups, acc): four rows' dot products with the widened input. The optimized
 * version where the core has the DSP extension and ERN_USE_DSP is set, the AVX2 one on x86 hosts built
 * with AVX2 (unless ERN_NO_SIMD is defined), the reference otherwise. */
#if defined(ERN_MVE)
#include "ern_dot_s8_mve.h"
#elif defined(ERN_DSP)
#include "ern_dot_s8_dsp.h"
#elif defined(__AVX2__) && !defined(ERN_NO_SIMD)
#include "ern_dot_s8_avx2.h"
#else
#include "ern_dot_s8_ref.h"
#endif

/* Every variant supplies ern_dot_4rows_from (acc[k] = i_k + row k . x); these are derived from it.
 * The DSP variant has its own pair loops (ERN_DOT_HAS_PAIR_LOOPS): only there do they differ. */
static inline void ern_dot_4rows(const int8_t *w, const int16_t *x16, int groups, int32_t acc[4]) {
    ern_dot_4rows_from(w, x16, groups, 0, 0, 0, 0, acc);
}

#if !defined(ERN_DOT_HAS_PAIR_LOOPS)
/* ern_dot_4rows_from for an odd number of groups, given as pairs = groups / 2. */
static inline void ern_dot_4rows_odd_from(const int8_t *w, const int16_t *x16, int pairs, int32_t i0, int32_t i1,
                                      int32_t i2, int32_t i3, int32_t acc[4]) {
    ern_dot_4rows_from(w, x16, 2 * pairs + 1, i0, i1, i2, i3, acc);
}

/* ern_dot_4rows_from for an even number of groups, given as pairs. */
static inline void ern_dot_4rows_pairs_from(const int8_t *w, const int16_t *x16, int pairs, int32_t i0, int32_t i1,
                                        int32_t i2, int32_t i3, int32_t acc[4]) {
    ern_dot_4rows_from(w, x16, 2 * pairs, i0, i1, i2, i3, acc);
}
#endif

/* ---- Weight layout chosen at export (the params' pair_rows flag) ----
 * With ERN_PAIR_ROWS (DSP cores) a matrix whose pair_rows flag is set is stored paired (ern_dot_s8_dsp.h):
 * blocks of 4 rows, 4 * PAD2(cols) bytes each, read against the input widened in natural order. Everywhere
 * else (reference and Helium kernels, or the flag 0) the blocks are 4 * PAD4(cols) bytes. */
#define ERN_PAD2(n) (((n) + 1) & ~1)

/* int8 -> int16 in natural order (x0, x1, x2, ...), zero-padded to a multiple of 4; _2: doubled. */
void ern_widen_pairs_s8(const int8_t *x, int cols, int16_t *x16);
void ern_widen2_pairs_s8(const int8_t *x, int cols, int16_t *x16);

#if defined(ERN_PAIR_ROWS)
#define ERN_PAIRED(pair_rows) (pair_rows)
#else
#define ERN_PAIRED(pair_rows) 0
#endif

/* Bytes of one block of 4 rows. */
static inline int ern_block_bytes(int pair_rows, int cols) {
    (void)pair_rows; /* unused where ERN_PAIRED is 0 */
    return ERN_PAIRED(pair_rows) ? 4 * ERN_PAD2(cols) : 4 * ERN_PAD4(cols);
}

/* The input widened and doubled as the block's layout reads it (ern_widen2_s8 or ern_widen2_pairs_s8). */
static ERN_ALWAYS_INLINE void ern_widen2_for(int pair_rows, const int8_t *x, int cols, int16_t *x16) {
    (void)pair_rows;
    if (ERN_PAIRED(pair_rows)) ern_widen2_pairs_s8(x, cols, x16);
    else ern_widen2_s8(x, cols, x16);
}

/* The input widened (not doubled) as the block's layout reads it. */
static ERN_ALWAYS_INLINE void ern_widen_for(int pair_rows, const int8_t *x, int cols, int16_t *x16) {
    (void)pair_rows;
    if (ERN_PAIRED(pair_rows)) ern_widen_pairs_s8(x, cols, x16);
    else ern_widen_s8(x, cols, x16);
}

/* ern_dot_4rows for either layout: acc[k] = row k . x, the rows cols long. */
static ERN_ALWAYS_INLINE void ern_dot_4rows_for(int pair_rows, const int8_t *w, const int16_t *x16, int cols,
                                                int32_t acc[4]) {
#if defined(ERN_PAIR_ROWS)
    if (pair_rows) {
        ern_dot4p_from(w, x16, cols, 0, 0, 0, 0, acc);
        return;
    }
#endif
    (void)pair_rows;
    ern_dot_4rows(w, x16, (cols + 3) >> 2, acc);
}

/* ern_dot4_doubled for either layout: acc[k] = init[k] + 2 (row k . x), the rows cols long. */
static ERN_ALWAYS_INLINE void ern_dot4_doubled_for(int pair_rows, const int8_t *w, const int16_t *x16, int cols,
                                                   const int32_t *init, int32_t acc[4]) {
#if defined(ERN_PAIR_ROWS)
    if (pair_rows) {
        ern_dot4p_from(w, x16, cols, init[0], init[1], init[2], init[3], acc);
        return;
    }
#endif
    (void)pair_rows;
    ern_dot4_doubled_any(w, x16, (cols + 3) >> 2, init, acc);
}

#endif
