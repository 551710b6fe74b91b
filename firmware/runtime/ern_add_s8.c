#include "ern_add_s8.h"

/* ADD and SUB (TFLite Micro's add/sub: both inputs to a common scale with 20 bits of headroom,
 * then the output rescale). An input's rescaled value depends on its int8 value alone, so the
 * generator tabulates it (256 int32, exact, negated for a subtrahend). The input with the larger
 * scale has the multiplier 1/2 exactly, so its rescaled value is (x + offset) << 19 with no
 * table. raw = table[x] + sign * ((y + offset) << 19), then one requantization. */
void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n) {
    const int32_t *table = p->table;
    const int8_t *tabled = p->table_input ? b : a, *plain = p->table_input ? a : b;
    const int32_t off = p->plain_offset, sign = p->plain_sign, m = p->output_multiplier, zp = p->output_offset;
    const int shift = p->output_shift;
    if (shift < 0) {
        for (int i = 0; i < n; ++i) {
            const int32_t raw = table[(uint8_t)tabled[i]] + sign * (int32_t)((uint32_t)(plain[i] + off) << 19);
            out[i] = (int8_t)clamp_s8(rdbp_pos(srdhm_m(raw, m), -shift) + zp);
        }
    } else {
        for (int i = 0; i < n; ++i) {
            const int32_t raw = table[(uint8_t)tabled[i]] + sign * (int32_t)((uint32_t)(plain[i] + off) << 19);
            out[i] = (int8_t)clamp_s8(mbqm(raw, m, shift) + zp);
        }
    }
}

