/* SOFTMAX over the last dimension, int8 (output scale 1/256, zero point -128). */
#ifndef ERN_SOFTMAX_S8_H_
#define ERN_SOFTMAX_S8_H_
#include "ern_common.h"

typedef struct {
    int rows, depth;
    int32_t beta_multiplier;
    int beta_left_shift;
    int32_t diff_min;
} ern_softmax_params;

void ern_softmax_s8(const ern_softmax_params *p, const int8_t *in, int8_t *out);

#endif
