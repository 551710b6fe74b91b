/* ADD and SUB, int8: raw = (table[tabled input byte] + plain_sign * (plain input << 20)) / 2,
 * output = clamp(requantize(raw) + rq.zero_point). The generator builds the table exactly as
 * TFLite Micro rescales that input (negated for a subtrahend), doubled, with the plain input's
 * offset folded in; see ern_add_s8.c. */
#ifndef ERN_ADD_S8_H_
#define ERN_ADD_S8_H_
#include "ern_common.h"

typedef struct {
    const int32_t *table;     /* 2 * rescaled tabled input + plain_sign * plain_offset * 2^20, by byte */
    int table_input;          /* 0: the first input is tabled, 1: the second */
    int32_t plain_offset, plain_sign;
    ern_requant rq;           /* the output requantization (of half the raw sum) */
    int fast;                 /* 1: ern_requant_fast with rq.round is exact for every input (the generator checked) */
} ern_add_params;

/* ERN_ADD_GENERAL 0 (edgernn_rt.c, when every ADD/SUB of the model is fast) leaves the general path out. */
#ifndef ERN_ADD_GENERAL
#define ERN_ADD_GENERAL 1
#endif

void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n);

#endif
