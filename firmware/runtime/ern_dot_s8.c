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
