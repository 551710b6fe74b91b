/* CONCATENATION, int8, every input at the output's scale and zero point (TFLite Micro refuses
 * anything else): the output is, for each of `outer` blocks, input 0's chunk, input 1's chunk, ...
 * in turn, each chunk the input's slice along the axis (its dimension there x the inner size). */
#ifndef ERN_CONCATENATION_S8_H_
#define ERN_CONCATENATION_S8_H_
#include "ern_common.h"

typedef struct {
    int n_inputs;
    int outer;                    /* product of the dimensions before the axis */
    const int32_t *chunk_bytes;   /* per input: its dimension on the axis x the dimensions after it */
} ern_concatenation_params;

void ern_concatenation_s8(const ern_concatenation_params *p, const int8_t *const *inputs, int8_t *out);

#endif
