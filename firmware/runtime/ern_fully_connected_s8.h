/* FULLY_CONNECTED, int8 (TFLite Micro reference semantics), per-tensor or per-channel weights.
 *
 * folded_bias[r] = bias[r] + input_offset * sum(weights[r]), computed at export time: the
 * identity sum(w * (x + off)) = sum(w * x) + off * sum(w) holds exactly in int32, so the inner
 * loop is a pure dot product (SMLAD on cores with the DSP extension, ERN_USE_DSP). The packed weight
 * layout is ern_dot_s8.h's.
 */
#ifndef ERN_FULLY_CONNECTED_S8_H_
#define ERN_FULLY_CONNECTED_S8_H_
#include "ern_common.h"

typedef struct {
    int batches, cols, rows;
    const int8_t *packed_weights;   /* [rows][cols], packed (ern_dot_s8.h) */
    const int32_t *folded_bias;     /* [rows] */
    ern_requant rq;                 /* per-tensor requantization; per-channel: only its zero_point */
    const int32_t *multipliers;     /* per-channel: one per row (ern_fully_connected_per_channel_s8) */
    const int32_t *shifts;
    int fast;                       /* per-tensor: 1 when ern_requant_fast with rq.round is exact for every input */
    int pair_rows;                  /* 1: packed_weights in the paired-row layout where the build reads it
                                     * (ERN_PAIR_ROWS, ern_dot_s8_dsp.h) */
} ern_fully_connected_params;

/* The weight layouts a model's FULLY_CONNECTED ops use, chosen by the generator (edgernn_rt.c defines it;
 * the default compiles both): bit 0 plain blocks, bit 1 paired rows (read only where ERN_PAIR_ROWS is set). */
#ifndef ERN_FC_LAYOUTS
#define ERN_FC_LAYOUTS 3
#endif
#if defined(ERN_PAIR_ROWS) && !(ERN_FC_LAYOUTS & 1)
#define ERN_FC_PAIRED(pair_rows) 1  /* every FULLY_CONNECTED paired: the plain path is not compiled */
#elif defined(ERN_PAIR_ROWS) && (ERN_FC_LAYOUTS & 2)
#define ERN_FC_PAIRED(pair_rows) (pair_rows)
#else
#define ERN_FC_PAIRED(pair_rows) 0
#endif

/* Scratch: the widened input, cols rounded up to 4, as int16. */
#define ERN_FULLY_CONNECTED_S8_SCRATCH_BYTES(cols) (2 * ERN_PAD4(cols))

void ern_fully_connected_s8(const ern_fully_connected_params *p, const int8_t *input, int8_t *output,
                            int16_t *scratch);
void ern_fully_connected_per_channel_s8(const ern_fully_connected_params *p, const int8_t *input, int8_t *output,
                                        int16_t *scratch);

#endif
