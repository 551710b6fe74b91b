/* ern_dot_4rows, reference: portable C, the definition the optimized kernels are tested against.
 * Four dot products at once: rows packed in blocks of 4 (ern_dot_s8.h), so one pass over x serves
 * four rows and the weights stream from one pointer. */
#ifndef ERN_DOT_S8_REF_H_
#define ERN_DOT_S8_REF_H_
#include "ern_support.h"

/* acc[k] = i_k + row k . x (ern_dot_4rows starts from zero). */
static inline void ern_dot_4rows_from(const int8_t *w, const int16_t *x16, int groups, int32_t i0, int32_t i1, int32_t i2,
                                  int32_t i3, int32_t acc[4]) {
    int32_t s[4] = {i0, i1, i2, i3};
    for (int g = 0; g < groups; ++g, w += 16, x16 += 4) {
        for (int j = 0; j < 4; ++j) {
            const int8_t *r = w + 4 * j;
            s[j] += r[0] * x16[0] + r[2] * x16[1] + r[1] * x16[2] + r[3] * x16[3];
        }
    }
    for (int j = 0; j < 4; ++j) acc[j] = s[j];
}

#endif
