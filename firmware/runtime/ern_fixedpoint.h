/* The fixed-point requantization of ern_support.h as a function, for tests and applications. */
#ifndef ERN_FIXEDPOINT_H_
#define ERN_FIXEDPOINT_H_
#include "ern_common.h"

/* tflite::MultiplyByQuantizedMultiplier: shift > 0 multiplies first, shift < 0 divides after. */
int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

#endif
