#include "ern_mul_s8.h"
#include "ern_support.h"

/* MUL: (a - za) * (b - zb) rescaled. Offsets are the negated zero points. */
void ern_mul_s8(const ern_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out, int n) {
    const int32_t a_offset = p->a_offset, b_offset = p->b_offset, multiplier = p->rq.multiplier;
    const int32_t output_offset = p->rq.zero_point;
    const int shift = p->rq.shift;
    if (p->fast) { /* |product| <= 2^16: twice it goes straight into SMMULR */
        const int32_t round = p->rq.round;
        for (int i = 0; i < n; ++i) {
            const int32_t prod = ((int32_t)a[i] + a_offset) * ((int32_t)b[i] + b_offset);
            out[i] = (int8_t)ern_clamp_s8(ern_requant_fast(2 * prod, multiplier, round, -shift));
        }
        return;
    }
#if ERN_MUL_GENERAL
    if (shift < 0) {
        for (int i = 0; i < n; ++i) {
            const int32_t prod = ((int32_t)a[i] + a_offset) * ((int32_t)b[i] + b_offset);
            out[i] = (int8_t)ern_clamp_s8(ern_rdbp_pos(ern_srdhm_m(prod, multiplier), -shift) + output_offset);
        }
    } else {
        for (int i = 0; i < n; ++i) {
            const int32_t prod = ((int32_t)a[i] + a_offset) * ((int32_t)b[i] + b_offset);
            out[i] = (int8_t)ern_clamp_s8(ern_mbqm(prod, multiplier, shift) + output_offset);
        }
    }
#endif
}

