/* The fixed-point primitives of ern_common.h as functions, for tests and applications. */
#ifndef ERN_FIXEDPOINT_H_
#define ERN_FIXEDPOINT_H_
#include "ern_common.h"

int32_t ern_srdhm(int32_t a, int32_t b);                    /* (a*b*2 + round) >> 32, saturating */
int32_t ern_rounding_divide_by_pot(int32_t x, int exponent); /* x / 2^exponent, rounded half away from 0 */
int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

#endif
