#include "ern_fixedpoint.h"
#include "ern_support.h"

int32_t ern_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) { return ern_mbqm(x, multiplier, shift); }
