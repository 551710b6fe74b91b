#include "ern_gru_s8.h"

void ern_gru_widen(const int8_t *x, int cols, int16_t *x16) {
    ern_widen_s8(x, cols, x16);
#if !defined(ERN_MVE)
    /* doubled: |2x| <= 256 fits int16, and the dot products come out doubled for free */
#if defined(ERN_DSP)
    uint32_t *pairs = (uint32_t *)x16;  /* 4-byte aligned (the dot product reads it with LDRD) */
    for (int i = 0; i < ERN_PAD4(cols) / 2; ++i) pairs[i] = __sadd16(pairs[i], pairs[i]);
#else
    for (int i = 0; i < ERN_PAD4(cols); ++i) x16[i] = (int16_t)(2 * x16[i]);
#endif
#endif
}

void ern_gru_dot4(const int8_t *w, const int16_t *x16, int groups, const int32_t *init, int32_t acc[4]) {
#if defined(ERN_MVE)
    int32_t s[4] = {0, 0, 0, 0};  /* int8 input, not doubled */
    dot_4rows(w, x16, groups, s);
    acc[0] = init[0] + 2 * s[0]; acc[1] = init[1] + 2 * s[1]; acc[2] = init[2] + 2 * s[2]; acc[3] = init[3] + 2 * s[3];
#else
    dot_4rows_from(w, x16, groups, init[0], init[1], init[2], init[3], acc);
#endif
}

void ern_gru_step_s8(const ern_gru_params *p, const int8_t *x, const int8_t *h, int8_t *h_out, int16_t *scratch) {
    ern_gru_step_inline(p, x, h, h_out, scratch);
}
