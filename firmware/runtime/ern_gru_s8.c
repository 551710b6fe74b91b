#include "ern_gru_s8_inline.h"

void ern_gru_step_s8(const ern_gru_params *p, const int8_t *x, const int8_t *h, int8_t *h_out, int16_t *scratch) {
    ern_gru_step_inline(p, x, h, h_out, scratch);
}
