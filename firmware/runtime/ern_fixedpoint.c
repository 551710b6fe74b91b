#include "ern_fixedpoint.h"

int32_t ern_srdhm(int32_t a, int32_t b) { return srdhm(a, b); }
int32_t ern_rounding_divide_by_pot(int32_t x, int exponent) { return rounding_divide_by_pot(x, exponent); }
int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) { return mbqm(x, multiplier, shift); }
