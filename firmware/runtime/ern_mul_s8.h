/* MUL, int8: (a - za) * (b - zb) rescaled. Offsets are the negated zero points. */
#ifndef ERN_MUL_S8_H_
#define ERN_MUL_S8_H_
#include "ern_common.h"

typedef struct {
    int32_t a_offset, b_offset;
    ern_requant rq;           /* the product's requantization */
    int fast;                 /* 1: ern_requant_fast with rq.round is exact (shift < 0; the generator checked) */
} ern_mul_params;

/* ERN_MUL_GENERAL 0 (edgernn_rt.c, when every MUL of the model is fast) leaves the general path out. */
#ifndef ERN_MUL_GENERAL
#define ERN_MUL_GENERAL 1
#endif

void ern_mul_s8(const ern_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n);

#endif
