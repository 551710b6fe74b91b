#include "ern_dot_s8.h"

/* The int8 input becomes int16 once per call, each group of 4 stored as x0 x2 x1 x3: the order
 * SXTB16 produces from 4 weight bytes (bytes 0,2, then rotated 1,3), so the inner loop loads a
 * weight word, splits it with two SXTB16 and feeds two SMLADs against ready int16 pairs.
 * Columns past the end are zero (the packed weights are zero there too). */
void ern_widen_s8(const int8_t *x, int cols, int16_t *x16) {
    const int padded = (cols + 3) & ~3;
#ifdef ERN_MVE
    int8_t *x8 = (int8_t *)x16;
    for (int c = 0; c < padded; ++c) x8[c] = c < cols ? x[c] : 0;
    return;
#elif defined(ERN_DSP)
    /* The same order from the input's own bytes: SXTB16 of a word gives (x0, x2), rotated (x1, x3). */
    uint32_t *out = (uint32_t *)x16;  /* x16 is 4-byte aligned: the dot product reads it with LDRD */
    for (int c = 0; c < padded; c += 4, out += 2) {
        uint32_t word = 0, odd;
        if (c + 4 <= cols) {
            __builtin_memcpy(&word, x + c, 4);  /* one (unaligned) LDR */
        } else {
            for (int k = 0; c + k < cols; ++k) word |= (uint32_t)(uint8_t)x[c + k] << (8 * k);
        }
        __asm__("sxtb16 %0, %1, ror #8" : "=r"(odd) : "r"(word));
        out[0] = __sxtb16(word);
        out[1] = odd;
    }
    (void)padded;
#else
    for (int c = 0; c < padded; c += 4) {
        static const int order[4] = {0, 2, 1, 3};
        for (int k = 0; k < 4; ++k) x16[c + k] = c + order[k] < cols ? x[c + order[k]] : 0;
    }
#endif
}

void ern_widen2_s8(const int8_t *x, int cols, int16_t *x16) {
#if defined(ERN_MVE)
    ern_widen_s8(x, cols, x16);
#elif defined(ERN_DSP)
    /* ern_widen_s8's pair order, doubled: |2x| <= 256 fits int16, so the dot products come out doubled */
    uint32_t *out = (uint32_t *)x16;  /* 4-byte aligned: the dot product reads it with LDRD */
    int c = 0;
    for (; c <= cols - 4; c += 4, out += 2) {  /* whole groups: one (unaligned) LDR each */
        uint32_t word, odd;
        __builtin_memcpy(&word, x + c, 4);
        const uint32_t even = __sxtb16(word);
        __asm__("sxtb16 %0, %1, ror #8" : "=r"(odd) : "r"(word));
        out[0] = __sadd16(even, even);
        out[1] = __sadd16(odd, odd);
    }
    if (c < cols) {  /* a last partial group, zero-padded */
        uint32_t word = 0, odd;
        for (int k = 0; c + k < cols; ++k) word |= (uint32_t)(uint8_t)x[c + k] << (8 * k);
        const uint32_t even = __sxtb16(word);
        __asm__("sxtb16 %0, %1, ror #8" : "=r"(odd) : "r"(word));
        out[0] = __sadd16(even, even);
        out[1] = __sadd16(odd, odd);
    }
#else
    ern_widen_s8(x, cols, x16);
    for (int i = 0; i < ERN_PAD4(cols); ++i) x16[i] = (int16_t)(2 * x16[i]);
#endif
}

void ern_dot4_doubled(const int8_t *w, const int16_t *x16, int groups, const int32_t *init, int32_t acc[4]) {
#if defined(ERN_MVE)
    int32_t s[4] = {0, 0, 0, 0};  /* int8 input, not doubled */
    ern_dot_4rows(w, x16, groups, s);
    acc[0] = init[0] + 2 * s[0]; acc[1] = init[1] + 2 * s[1]; acc[2] = init[2] + 2 * s[2]; acc[3] = init[3] + 2 * s[3];
#else
    ern_dot_4rows_from(w, x16, groups, init[0], init[1], init[2], init[3], acc);
#endif
}

void ern_dot4_doubled_pairs(const int8_t *w, const int16_t *x16, int pairs, const int32_t *init, int32_t acc[4]) {
#if defined(ERN_MVE)
    ern_dot4_doubled(w, x16, 2 * pairs, init, acc);
#else
    ern_dot_4rows_pairs_from(w, x16, pairs, init[0], init[1], init[2], init[3], acc);
#endif
}

void ern_dot4_doubled_odd(const int8_t *w, const int16_t *x16, int pairs, const int32_t *init, int32_t acc[4]) {
#if defined(ERN_MVE)
    ern_dot4_doubled(w, x16, 2 * pairs + 1, init, acc);
#else
    ern_dot_4rows_odd_from(w, x16, pairs, init[0], init[1], init[2], init[3], acc);
#endif
}

/* Natural order for the paired-row layout: each whole group of 4 from one word, (x0, x2) and (x1, x3) by
 * SXTB16, then packed back into (x0, x1), (x2, x3). Only ERN_PAIR_ROWS builds read it; elsewhere plain C. */
static void ern_widen_pairs_any(const int8_t *x, int cols, int16_t *x16, int twice) {
    int c = 0;
#if defined(ERN_PAIR_ROWS)
    uint32_t *out = (uint32_t *)x16;  /* 4-byte aligned: the dot product reads it with LDRD */
    for (; c <= cols - 4; c += 4, out += 2) {
        uint32_t word, odd;
        __builtin_memcpy(&word, x + c, 4);
        const uint32_t even = __sxtb16(word);
        __asm__("sxtb16 %0, %1, ror #8" : "=r"(odd) : "r"(word));
        uint32_t lo = (even & 0xFFFFu) | (odd << 16), hi = (odd & 0xFFFF0000u) | (even >> 16);
        if (twice) {
            lo = __sadd16(lo, lo);
            hi = __sadd16(hi, hi);
        }
        out[0] = lo;
        out[1] = hi;
    }
#endif
    for (; c < ERN_PAD4(cols); ++c) x16[c] = (int16_t)(c < cols ? (twice ? 2 * x[c] : x[c]) : 0);
}

void ern_widen_pairs_s8(const int8_t *x, int cols, int16_t *x16) { ern_widen_pairs_any(x, cols, x16, 0); }

void ern_widen2_pairs_s8(const int8_t *x, int cols, int16_t *x16) { ern_widen_pairs_any(x, cols, x16, 1); }
