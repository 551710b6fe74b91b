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

/* ---- The paired-row layout (ERN_PAIR_ROWS, docs/design/paired-rows.md) ----
 * Per block of 4 rows, rows (0, 1) and (2, 3) are pairs (P, Q): each halfword holds 256 P[c] + Q[c] (the
 * generator stores the bytes Q[c] and P[c] - [Q[c] < 0], which fits int8 for weights in -127..127). SMLAD
 * of a raw weight word with the input pair (x[c], x[c+1]) adds 256 (P.x) + Q.x; SXTB16 of the same word
 * gives Q[c], Q[c+1] alone, and a second SMLAD adds Q.x. Per pair: a = 256 (i_P + P.x) + i_Q + Q.x and
 * b = i_Q + Q.x, so P's sum is (a - b) >> 8, exact while |i_P + P.x| < 2^23 (the generator proves it).
 * Four products for three instructions instead of two. The input is widened in natural order
 * (x0, x1), (x2, x3) (ern_widen_pairs_s8); columns come in groups of 4 (4 words: pair 0 columns 0-1,
 * pair 0 columns 2-3, pair 1 columns 0-1, pair 1 columns 2-3) and, for an odd number of column pairs,
 * a last half group of 2 columns (2 words: pair 0, pair 1). */

/* One weight word against one input pair: a += word . x (both rows), then b += low bytes . x (row Q). */
#define ERN_DOTP_WORD(a, b, v, x)                          \
    "smlad %[" a "], %[" v "], %[" x "], %[" a "]\n\t"   \
    "sxtb16 %[" v "], %[" v "]\n\t"                      \
    "smlad %[" b "], %[" v "], %[" x "], %[" b "]\n\t"

/* One group: 4 columns of 4 rows, 16 MACs in 14 instructions (LDRD of inputs, LDM of 4 weight words,
 * 4 SXTB16, 8 SMLAD). */
#define ERN_DOTP_GROUP                                      \
    "ldrd %[xa], %[xb], [%[xp]], #8\n\t"                  \
    "ldmia %[wp]!, {%[v0], %[v1], %[v2], %[v3]}\n\t"      \
    ERN_DOTP_WORD("a0", "b0", "v0", "xa")                    \
    ERN_DOTP_WORD("a0", "b0", "v1", "xb")                    \
    ERN_DOTP_WORD("a1", "b1", "v2", "xa")                    \
    ERN_DOTP_WORD("a1", "b1", "v3", "xb")

/* The last 2 columns of an odd number of column pairs: 8 MACs in 8 instructions. */
#define ERN_DOTP_HALF                                       \
    "ldr %[xa], [%[xp]], #4\n\t"                          \
    "ldrd %[v0], %[v2], [%[wp]], #8\n\t"                  \
    ERN_DOTP_WORD("a0", "b0", "v0", "xa")                    \
    ERN_DOTP_WORD("a1", "b1", "v2", "xa")

/* The weight words live in r8..r11 (LDM fills its registers in ascending order). */
#define ERN_DOTP_ASM(code, count)                                                                          \
    do {                                                                                                   \
        register uint32_t v0 __asm__("r8"), v1 __asm__("r9"), v2 __asm__("r10"), v3 __asm__("r11");        \
        uint32_t xa, xb;                                                                                   \
        int g = (count);                                                                                   \
        __asm__ volatile(code                                                                              \
                         : [a0] "+r"(a0), [b0] "+r"(b0), [a1] "+r"(a1), [b1] "+r"(b1), [wp] "+r"(wp),      \
                           [xp] "+r"(xp), [g] "+r"(g), [xa] "=&r"(xa), [xb] "=&r"(xb), [v0] "=&r"(v0),     \
                           [v1] "=&r"(v1), [v2] "=&r"(v2), [v3] "=&r"(v3)                                  \
                         :                                                                                 \
                         : "cc", "memory");                                                                \
        (void)g; (void)xb; (void)v1; (void)v3;                                                             \
    } while (0)

/* The same for straight-line code (no loop counter). */
#define ERN_DOTP_ASM_STRAIGHT(code)                                                                        \
    do {                                                                                                   \
        register uint32_t v0 __asm__("r8"), v1 __asm__("r9"), v2 __asm__("r10"), v3 __asm__("r11");        \
        uint32_t xa, xb;                                                                                   \
        __asm__ volatile(code                                                                              \
                         : [a0] "+r"(a0), [b0] "+r"(b0), [a1] "+r"(a1), [b1] "+r"(b1), [wp] "+r"(wp),      \
                           [xp] "+r"(xp), [xa] "=&r"(xa), [xb] "=&r"(xb), [v0] "=&r"(v0),                  \
                           [v1] "=&r"(v1), [v2] "=&r"(v2), [v3] "=&r"(v3)                                  \
                         :                                                                                 \
                         : "cc", "memory");                                                                \
        (void)xb; (void)v1; (void)v3;                                                                      \
    } while (0)

/* The products of one block over cols columns, added to a0, b0, a1, b1 (wp, xp advance): 4 groups per
 * loop iteration (58 instructions per 64 MACs), then 2, 1 and a half group as cols needs them. Inline:
 * with cols known at compile time only the parts it needs remain; otherwise a 2-group loop (less flash). */
#define ERN_DOTP_COLS(cols)                                                                                \
    do {                                                                                                   \
        const int pairs_ = ((cols) + 1) >> 1, groups_ = pairs_ >> 1;                                      \
        if (!__builtin_constant_p(cols)) { /* sizes known at run time (FULLY_CONNECTED): the smaller loop */ \
            if (groups_ >= 2)                                                                              \
                ERN_DOTP_ASM("1:\n\t" ERN_DOTP_GROUP ERN_DOTP_GROUP "subs %[g], %[g], #1\n\t" "bne 1b\n\t",   \
                             groups_ >> 1);                                                                \
        } else {                                                                                           \
            if (groups_ >= 4)                                                                              \
                ERN_DOTP_ASM("1:\n\t" ERN_DOTP_GROUP ERN_DOTP_GROUP ERN_DOTP_GROUP ERN_DOTP_GROUP            \
                             "subs %[g], %[g], #1\n\t" "bne 1b\n\t", groups_ >> 2);                        \
            if (groups_ & 2) ERN_DOTP_ASM_STRAIGHT(ERN_DOTP_GROUP ERN_DOTP_GROUP);                         \
        }                                                                                                  \
        if (groups_ & 1) ERN_DOTP_ASM_STRAIGHT(ERN_DOTP_GROUP);                                            \
        if (pairs_ & 1) ERN_DOTP_ASM_STRAIGHT(ERN_DOTP_HALF);                                              \
    } while (0)

/* acc[k] = i_k + row k . x for a block of 4 paired rows with cols columns (x16: ern_widen_pairs_s8). */
static ERN_ALWAYS_INLINE void ern_dot4p_from(const int8_t *w, const int16_t *x16, int cols, int32_t i0, int32_t i1,
                                             int32_t i2, int32_t i3, int32_t acc[4]) {
    uint32_t a0 = (uint32_t)i1 + ((uint32_t)i0 << 8), b0 = (uint32_t)i1;
    uint32_t a1 = (uint32_t)i3 + ((uint32_t)i2 << 8), b1 = (uint32_t)i3;
    const int8_t *wp = w;
    const int16_t *xp = x16;
    ERN_DOTP_COLS(cols);
    acc[0] = (int32_t)(a0 - b0) >> 8;
    acc[1] = (int32_t)b0;
    acc[2] = (int32_t)(a1 - b1) >> 8;
    acc[3] = (int32_t)b1;
}

/* One projection of a fused stream (the GRU's and LSTM's paired weights, docs/design/paired-rows.md): 4 words
 * of start values (256 i_0 + i_1, i_1, 256 i_2 + i_3, i_3: the doubled biases, combined at export) loaded by
 * one LDM, then the block's paired weights. acc[k] = i_k + row k . x; returns the stream past the block. */
static ERN_ALWAYS_INLINE const int8_t *ern_dot4p_stream(const int8_t *w, const int16_t *x16, int cols, int32_t acc[4]) {
    register uint32_t a0 __asm__("r0"), b0 __asm__("r1"), a1 __asm__("r2"), b1 __asm__("r3");
    const int8_t *wp = w;
    const int16_t *xp = x16;
    __asm__ volatile("ldmia %[wp]!, {%[a0], %[b0], %[a1], %[b1]}"
                     : [a0] "=r"(a0), [b0] "=r"(b0), [a1] "=r"(a1), [b1] "=r"(b1), [wp] "+r"(wp) : : "memory");
    ERN_DOTP_COLS(cols);
    acc[0] = (int32_t)(a0 - b0) >> 8;
    acc[1] = (int32_t)b0;
    acc[2] = (int32_t)(a1 - b1) >> 8;
    acc[3] = (int32_t)b1;
    return wp;
}

#endif
