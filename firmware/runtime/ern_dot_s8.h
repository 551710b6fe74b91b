/* The int8 matrix x vector core shared by FULLY_CONNECTED and the LSTM.
 *
 * Weights are packed by the generator: rows in blocks of 4, columns in groups of 4 padded with
 * zeros; block b, group g holds rows 4b..4b+3, 4 bytes each, in order. The input is widened to
 * int16 once per call (ern_widen_s8) in the pair order the packed dot product reads.
 */
#ifndef ERN_DOT_S8_H_
#define ERN_DOT_S8_H_
#include "ern_common.h"

/* int8 -> int16 in the pair order the packed dot product reads (x0 x2 x1 x3 per group of 4). */
void ern_widen_s8(const int8_t *x, int cols, int16_t *x16);

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

#endif
