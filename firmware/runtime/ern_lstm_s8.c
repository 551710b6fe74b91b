#include "ern_lstm_s8_inline.h"

/* ---- int8 LSTM with int16 cell (TFLite Micro lstm_eval semantics) ---- */

void ern_sigmoid_s16(const uint16_t *table, const int16_t *in, int16_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = ern_lstm_sigmoid(table, in[i]);
}

void ern_tanh_s16(const uint16_t *table, int32_t multiplier, int shift, const int16_t *in, int16_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = ern_lstm_tanh(table, multiplier, shift, in[i]);
}

/* The general path (params->fast 0; the fast path is ern_lstm_fast in the header). Requantize a gate
 * product to int16, the shift's sign known at compile time (each variant is branch-free). */
static ERN_ALWAYS_INLINE int32_t ern_lstm_requant_s16(int32_t acc, int32_t multiplier, int shift, const int left) {
    if (left) return ern_clamp_s16(ern_srdhm_m((int32_t)((uint32_t)acc << shift), multiplier));  /* shift >= 0 */
    return ern_clamp_s16(ern_rdbp_pos(ern_srdhm_m(acc, multiplier), -shift));                        /* shift < 0 */
}

/* One gate, four rows at a time: int16 (input FC + recurrent FC), saturating, then its activation
 * (tanh for the cell gate when the op says so, sigmoid otherwise). Instantiated per sign of the two
 * shifts, so no row pays for those branches. */
static ERN_ALWAYS_INLINE void ern_lstm_gate_rows(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16,
                                        int16_t *out, const int in_left, const int rec_left) {
    const int gi = (p->n_input + 3) >> 2, gs = (p->n_state + 3) >> 2, n_state = p->n_state;
    const int32_t *ib = p->input_bias[g], *rb = p->recurrent_bias[g];
    const int32_t mi = p->input_rq[g].multiplier, mr = p->recurrent_rq[g].multiplier;
    const int si = p->input_rq[g].shift, sr = p->recurrent_rq[g].shift;
    const int tanh_gate = g == 2 && p->cell_gate_tanh;
    const uint16_t *table = p->sigmoid_table;
    const int8_t *wi = p->input_weights[g], *wr = p->recurrent_weights[g];
    for (int r = 0; r < n_state; r += 4, wi += gi * 16, wr += gs * 16) {
        int32_t ai[4], ar[4];
        ern_dot_4rows(wi, x16, gi, ai);
        ern_dot_4rows(wr, h16, gs, ar);
        const int n = n_state - r < 4 ? n_state - r : 4;
        for (int j = 0; j < n; ++j) {
            const int32_t sum = ern_clamp_s16(ern_lstm_requant_s16(ern_add_wrap(ai[j], ib[r + j]), mi, si, in_left)
                                          + ern_lstm_requant_s16(ern_add_wrap(ar[j], rb[r + j]), mr, sr, rec_left));
            out[r + j] = tanh_gate ? ern_lstm_tanh(table, 3, 0, sum) : ern_lstm_sigmoid(table, sum);
        }
    }
}

#define ERN_GATE_VARIANT(k) \
    if (variant == (k)) { ern_lstm_gate_rows(p, g, x16, h16, out, (k) & 1, (k) >> 1); return; }

#if ERN_LSTM_GENERAL
static void lstm_gate_general(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16, int16_t *out) {
    const int variant = (p->input_rq[g].shift >= 0) | (p->recurrent_rq[g].shift >= 0) << 1;
#if ERN_LSTM_GATE_VARIANTS & 1
    ERN_GATE_VARIANT(0)
#endif
#if ERN_LSTM_GATE_VARIANTS & 2
    ERN_GATE_VARIANT(1)
#endif
#if ERN_LSTM_GATE_VARIANTS & 4
    ERN_GATE_VARIANT(2)
#endif
#if ERN_LSTM_GATE_VARIANTS & 8
    ERN_GATE_VARIANT(3)
#endif
}
#endif

#if ERN_LSTM_GENERAL
static void lstm_state_general(const ern_lstm_params *p, const int16_t *ig, const int16_t *fg, const int16_t *cg,
                               const int16_t *og, int8_t *hidden, int16_t *cell) {
    for (int i = 0; i < p->n_state; ++i) {
        const int32_t kept = ern_clamp_s16(ern_mbqm((int32_t)fg[i] * cell[i], p->forget_mul.multiplier, p->forget_mul.shift));
        const int32_t added = ern_clamp_s16(ern_mbqm((int32_t)ig[i] * cg[i], p->input_mul.multiplier, p->input_mul.shift));
        int32_t c = ern_clamp_s16(kept + added);
        if (p->cell_clip > 0) c = c > p->cell_clip ? p->cell_clip : (c < -p->cell_clip ? -p->cell_clip : c);
        cell[i] = (int16_t)c;
        const int32_t tc = ern_lstm_tanh(p->sigmoid_table, p->cell_tanh_multiplier, p->cell_tanh_shift, c);
        hidden[i] = (int8_t)ern_clamp_s8(ern_mbqm(tc * og[i], p->output_mul.multiplier, p->output_mul.shift)
                                     + p->output_mul.zero_point);
    }
}
#endif

void ern_lstm_s8(const ern_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                 int8_t *output, int16_t *scratch) {
    if (p->fast) {
        ern_lstm_fast(p, input, hidden, cell, output, scratch);
        return;
    }
#if ERN_LSTM_GENERAL
    const int n = p->n_state;
    int16_t *gates = scratch, *x16 = scratch + 4 * n, *h16 = x16 + ((p->n_input + 3) & ~3);
    for (int t = 0; t < p->steps; ++t) {
        ern_widen_s8(input + t * p->n_input, p->n_input, x16);
        ern_widen_s8(hidden, n, h16);
        for (int g = 0; g < 4; ++g) lstm_gate_general(p, g, x16, h16, gates + g * n);
        lstm_state_general(p, gates, gates + n, gates + 2 * n, gates + 3 * n, hidden, cell);
        memcpy(output + t * n, hidden, (size_t)n);
    }
#endif
}
