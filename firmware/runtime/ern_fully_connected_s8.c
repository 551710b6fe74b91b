#include "ern_fully_connected_s8.h"
#include "ern_dot_s8.h"

/* One dot product loop per 4-row block (one copy of it in flash); rows the generator proved in range
 * take ern_requant_fast, a last partial block and other models the general requantization. */
void ern_fully_connected_s8(const ern_fully_connected_params *p, const int8_t *input, int8_t *output,
                            int16_t *x16) {
    const int batches = p->batches, cols = p->cols, rows = p->rows, shift = p->rq.shift, fast = p->fast;
    const int32_t multiplier = p->rq.multiplier, output_offset = p->rq.zero_point, *folded_bias = p->folded_bias;
    const int32_t round = p->rq.round;
    const int pr = ERN_FC_PAIRED(p->pair_rows), block = ern_block_bytes(pr, cols), right = -shift;
    for (int b = 0; b < batches; ++b) {
        ern_widen_for(pr, input + b * cols, cols, x16);
        int8_t *out = output + b * rows;
        const int8_t *w = p->packed_weights;
        for (int r = 0; r < rows; r += 4, w += block) {
            int32_t acc[4];
            ern_dot_4rows_for(pr, w, x16, cols, acc);
            if (fast && r + 4 <= rows) { /* |acc + bias| < 2^30 proven at export: one SMMULR per row */
                out[r] = (int8_t)ern_clamp_s8(ern_requant_fast(2 * (acc[0] + folded_bias[r]), multiplier, round, right));
                out[r + 1] = (int8_t)ern_clamp_s8(ern_requant_fast(2 * (acc[1] + folded_bias[r + 1]), multiplier, round, right));
                out[r + 2] = (int8_t)ern_clamp_s8(ern_requant_fast(2 * (acc[2] + folded_bias[r + 2]), multiplier, round, right));
                out[r + 3] = (int8_t)ern_clamp_s8(ern_requant_fast(2 * (acc[3] + folded_bias[r + 3]), multiplier, round, right));
            } else {
                for (int j = 0; j < 4 && r + j < rows; ++j)
                    out[r + j] = (int8_t)ern_clamp_s8(ern_mbqm(ern_add_wrap(acc[j], folded_bias[r + j]), multiplier, shift)
                                                  + output_offset);
            }
        }
    }
}

void ern_fully_connected_per_channel_s8(const ern_fully_connected_params *p, const int8_t *input, int8_t *output,
                                        int16_t *x16) {
    const int cols = p->cols, rows = p->rows, pr = ERN_FC_PAIRED(p->pair_rows), block = ern_block_bytes(pr, cols);
    for (int b = 0; b < p->batches; ++b) {
        ern_widen_for(pr, input + b * cols, cols, x16);
        int8_t *out = output + b * rows;
        for (int r = 0; r < rows; r += 4) {
            int32_t acc[4];
            ern_dot_4rows_for(pr, p->packed_weights + r / 4 * block, x16, cols, acc);
            for (int j = 0; j < 4 && r + j < rows; ++j)
                out[r + j] = (int8_t)ern_clamp_s8(ern_mbqm(ern_add_wrap(acc[j], p->folded_bias[r + j]), p->multipliers[r + j],
                                                   p->shifts[r + j]) + p->rq.zero_point);
        }
    }
}
