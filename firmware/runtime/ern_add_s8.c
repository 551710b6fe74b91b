#include "ern_add_s8.h"
#include "ern_support.h"

/* ADD and SUB (TFLite Micro's add/sub: both inputs to a common scale with 20 bits of headroom,
 * then the output rescale). An input's rescaled value depends on its int8 value alone, so the
 * generator tabulates it (256 int32, exact, negated for a subtrahend, doubled, with the other input's
 * offset folded in). The input with the larger scale has the multiplier 1/2 exactly, so its rescaled
 * value is (y + offset) << 19 with no table: raw2 = table[x] + sign * (y << 20) is twice the sum,
 * which is what ern_requant_fast takes (one SMMULR); the general path halves it (exact: it is even). */
void ern_add_s8(const ern_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n) {
    const int32_t *table = p->table;
    const int8_t *tabled = p->table_input ? b : a, *plain = p->table_input ? a : b;
    const int32_t sign = p->plain_sign, m = p->rq.multiplier, zp = p->rq.zero_point;
    const int shift = p->rq.shift;
    if (p->fast) {
        const int32_t round = p->rq.round;
        const int e = -shift;
        if (sign > 0) {
            for (int i = 0; i < n; ++i)
                out[i] = (int8_t)ern_clamp_s8(ern_requant_fast(table[(uint8_t)tabled[i]] + plain[i] * (1 << 20), m, round, e));
        } else {
            for (int i = 0; i < n; ++i)
                out[i] = (int8_t)ern_clamp_s8(ern_requant_fast(table[(uint8_t)tabled[i]] - plain[i] * (1 << 20), m, round, e));
        }
        return;
    }
#if ERN_ADD_GENERAL
    for (int i = 0; i < n; ++i) {
        const int32_t raw2 = table[(uint8_t)tabled[i]] + sign * plain[i] * (1 << 20);
        out[i] = (int8_t)ern_clamp_s8(ern_mbqm(raw2 >> 1, m, shift) + zp);
    }
#endif
}
