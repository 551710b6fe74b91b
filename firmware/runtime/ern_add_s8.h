/* ADD and SUB, int8: raw = table[tabled input byte] + plain_sign * ((plain input + plain_offset) << 19),
 * output = clamp(requantize(raw) + output_offset). The generator builds the table exactly as
 * TFLite Micro rescales that input (negated for a subtrahend); see ern_add_s8.c. */
#ifndef ERN_ADD_S8_H_
#define ERN_ADD_S8_H_
#include "ern_common.h"

typedef struct {
    const int32_t *table;
    int table_input;          /* 0: the first input is tabled, 1: the second */
    int32_t plain_offset, plain_sign, output_multiplier;
    int output_shift;
    int32_t output_offset;
} ern_add_params;

void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n);

#endif
