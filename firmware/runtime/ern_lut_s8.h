/* Element-wise int8 -> int8 through a 256-entry table indexed by the input's byte: LOGISTIC, TANH
 * (the generator fills the table by running TFLite Micro's own kernel on every int8 value). */
#ifndef ERN_LUT_S8_H_
#define ERN_LUT_S8_H_
#include "ern_common.h"

void ern_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int n);

#endif
