/* ern_dot_4rows, optimized for cores with the DSP extension (Cortex-M4, M7, M33): SXTB16 + SMLAD.
 * Bit-exact with ern_dot_s8_ref.h (the firmware tests run both on the same vectors). */
#ifndef ERN_DOT_S8_DSP_H_
#define ERN_DOT_S8_DSP_H_
#define ERN_DOT_HAS_PAIR_LOOPS 1 /* its own ern_dot_4rows_odd_from and ern_dot_4rows_pairs_from (asm loops) */
#include "ern_support.h"

/* One group: 4 columns of 4 rows, 16 MACs in 19 instructions (LDRD of inputs, two LDRD of weights,
 * 8 SXTB16, 8 SMLAD). */
#define ERN_DOT_GROUP                                   \
    "ldrd %[xa], %[xb], [%[xp]], #8\n\t"                \
    "ldrd %[v0], %[v1], [%[wp]], #8\n\t"                \
    "sxtb16 %[t], %[v0]\n\t"                            \
    "smlad %[s0], %[t], %[xa], %[s0]\n\t"               \
    "sxtb16 %[t], %[v0], ror #8\n\t"                    \
    "smlad %[s0], %[t], %[xb], %[s0]\n\t"               \
    "sxtb16 %[t], %[v1]\n\t"                            \
    "smlad %[s1], %[t], %[xa], %[s1]\n\t"               \
    "sxtb16 %[t], %[v1], ror #8\n\t"                    \
    "smlad %[s1], %[t], %[xb], %[s1]\n\t"               \
    "ldrd %[v0], %[v1], [%[wp]], #8\n\t"                \
    "sxtb16 %[t], %[v0]\n\t"                            \
    "smlad %[s2], %[t], %[xa], %[s2]\n\t"               \
    "sxtb16 %[t], %[v0], ror #8\n\t"                    \
    "smlad %[s2], %[t], %[xb], %[s2]\n\t"               \
    "sxtb16 %[t], %[v1]\n\t"                            \
    "smlad %[s3], %[t], %[xa], %[s3]\n\t"               \
    "sxtb16 %[t], %[v1], ror #8\n\t"                    \
    "smlad %[s3], %[t], %[xb], %[s3]\n\t"

/* The body shared by the three entry points below: acc[k] = i_k + rows k of w . x16, the given asm
 * (ERN_DOT_GROUPs and loop control on %[g] = count) run over the 4 accumulators s0..s3. */
#define ERN_DOT_4ROWS_ASM(count, code)                                                                      \
    do {                                                                                                   \
        const int8_t *wp = w;                                                                              \
        const int16_t *xp = x16;                                                                           \
        uint32_t s0 = (uint32_t)i0, s1 = (uint32_t)i1, s2 = (uint32_t)i2, s3 = (uint32_t)i3;               \
        uint32_t xa, xb, v0, v1, t;                                                                        \
        int g = (count);                                                                                   \
        __asm__ volatile(code                                                                              \
                         : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [wp] "+r"(wp),      \
                           [xp] "+r"(xp), [g] "+r"(g), [xa] "=&r"(xa), [xb] "=&r"(xb), [v0] "=&r"(v0),     \
                           [v1] "=&r"(v1), [t] "=&r"(t)                                                    \
                         :                                                                                 \
                         : "cc", "memory");                                                                \
        acc[0] = (int32_t)s0; acc[1] = (int32_t)s1; acc[2] = (int32_t)s2; acc[3] = (int32_t)s3;           \
    } while (0)

/* acc[k] = i_k + row k . x (ern_dot_4rows starts from zero). */
static inline void ern_dot_4rows_from(const int8_t *w, const int16_t *x16, int groups, int32_t i0, int32_t i1, int32_t i2,
                                  int32_t i3, int32_t acc[4]) {
    /* Hand-scheduled (GCC's version shuffled accumulators between registers); two groups per loop
     * iteration, an odd one first: 40 instructions per 32 MACs. */
    ERN_DOT_4ROWS_ASM(groups,
        "tst %[g], #1\n\t"
        "beq 2f\n\t"
        ERN_DOT_GROUP
        "2:\n\t"
        "asrs %[g], %[g], #1\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        ERN_DOT_GROUP
        ERN_DOT_GROUP
        "subs %[g], %[g], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        );
}

/* ern_dot_4rows_from for an odd number of groups >= 3, given as pairs = groups / 2: the odd group, then the loop. */
static inline void ern_dot_4rows_odd_from(const int8_t *w, const int16_t *x16, int pairs, int32_t i0, int32_t i1,
                                      int32_t i2, int32_t i3, int32_t acc[4]) {
    ERN_DOT_4ROWS_ASM(pairs,
        ERN_DOT_GROUP
        "1:\n\t"
        ERN_DOT_GROUP
        ERN_DOT_GROUP
        "subs %[g], %[g], #1\n\t"
        "bne 1b\n\t"
        );
}

/* ern_dot_4rows_from for an even number of groups >= 2, given as pairs: the loop alone. */
static inline void ern_dot_4rows_pairs_from(const int8_t *w, const int16_t *x16, int pairs, int32_t i0, int32_t i1,
                                        int32_t i2, int32_t i3, int32_t acc[4]) {
    ERN_DOT_4ROWS_ASM(pairs,
        "1:\n\t"
        ERN_DOT_GROUP
        ERN_DOT_GROUP
        "subs %[g], %[g], #1\n\t"
        "bne 1b\n\t"
        );
}

#endif
