#include "ern_lut_s8.h"
#include "ern_support.h"

/* Table lookup indexed by the int8 value's bit pattern (the generator stores it that way). */
void ern_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = table[(uint8_t)in[i]];
}

