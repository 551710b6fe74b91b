#include "ern_lstm_s8.h"

/* ---- int8 LSTM with int16 cell (TFLite Micro lstm_eval semantics) ---- */

/* Sigmoid on a 2^-12 input: |3x| indexes the table in steps of 2^9 with linear interpolation. */
static inline int16_t sigmoid_s16(const uint16_t *table, int32_t x) {
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 9;
    uint32_t r;
    if (uh >= 255) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t ua = table[uh], ub = table[uh + 1];
        r = (ua << 9) + (a & 0x1FFu) * (ub - ua);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
    return (int16_t)(r >> 10);
}

/* tanh(y) = 2 sigmoid(2y) - 1 on the same table, steps of 2^8. */
static inline int16_t tanh_s16(const uint16_t *table, int32_t multiplier, int shift, int32_t x) {
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + round) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 8;
    int32_t r;
    if (uh >= 255) {
        r = (int32_t)(0xFFFFu << 8);
    } else {
        const uint32_t ua = table[uh], ub = table[uh + 1];
        r = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

void ern_sigmoid_s16(const uint16_t *table, const int16_t *in, int16_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = sigmoid_s16(table, in[i]);
}

void ern_tanh_s16(const uint16_t *table, int32_t multiplier, int shift, const int16_t *in, int16_t *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = tanh_s16(table, multiplier, shift, in[i]);
}

/* Requantize to int16 with the shift's sign known at compile time (each variant is branch-free). */
static ERN_ALWAYS_INLINE int32_t requant_s16(int32_t acc, int32_t multiplier, int shift, const int left) {
    if (left) return clamp_s16(srdhm_m((int32_t)((uint32_t)acc << shift), multiplier));  /* shift >= 0 */
    return clamp_s16(rdbp_pos(srdhm_m(acc, multiplier), -shift));                        /* shift < 0 */
}

/* One gate, four rows at a time: int16 (input FC + recurrent FC), saturating, then its activation.
 * Instantiated per activation and per sign of the two shifts, so no row pays for a branch. */
static ERN_ALWAYS_INLINE void gate_rows(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16,
                                        int16_t *out, const int tanh_gate, const int in_left, const int rec_left) {
    const int gi = (p->n_input + 3) >> 2, gs = (p->n_state + 3) >> 2;
    const int32_t *ib = p->input_bias[g], *rb = p->recurrent_bias[g];
    const int32_t mi = p->input_multiplier[g], mr = p->recurrent_multiplier[g];
    const int si = p->input_shift[g], sr = p->recurrent_shift[g];
    const uint16_t *table = p->sigmoid_table;
    const int8_t *wi = p->input_weights[g], *wr = p->recurrent_weights[g];
    for (int r = 0; r < p->n_state; r += 4, wi += gi * 16, wr += gs * 16) {
        int32_t ai[4], ar[4];
        dot_4rows(wi, x16, gi, ai);
        dot_4rows(wr, h16, gs, ar);
        const int n = p->n_state - r < 4 ? p->n_state - r : 4;
        for (int j = 0; j < n; ++j) {
            const int32_t sum = clamp_s16(requant_s16(add_wrap(ai[j], ib[r + j]), mi, si, in_left)
                                          + requant_s16(add_wrap(ar[j], rb[r + j]), mr, sr, rec_left));
            out[r + j] = tanh_gate ? tanh_s16(table, 3, 0, sum) : sigmoid_s16(table, sum);
        }
    }
}

#define ERN_GATE_VARIANTS(tanh_gate)                                                            \
    switch ((p->input_shift[g] >= 0) | (p->recurrent_shift[g] >= 0) << 1) {                     \
    case 0: gate_rows(p, g, x16, h16, out, tanh_gate, 0, 0); break;                             \
    case 1: gate_rows(p, g, x16, h16, out, tanh_gate, 1, 0); break;                             \
    case 2: gate_rows(p, g, x16, h16, out, tanh_gate, 0, 1); break;                             \
    default: gate_rows(p, g, x16, h16, out, tanh_gate, 1, 1); break;                            \
    }

static void lstm_gate_sigmoid(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16, int16_t *out) {
    ERN_GATE_VARIANTS(0)
}

static void lstm_gate_tanh(const ern_lstm_params *p, int g, const int16_t *x16, const int16_t *h16, int16_t *out) {
    ERN_GATE_VARIANTS(1)
}

void ern_lstm_s8(const ern_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                 int8_t *output, int16_t *scratch) {
    const int n = p->n_state;
    int16_t *ig = scratch, *fg = scratch + n, *cg = scratch + 2 * n, *og = scratch + 3 * n;
    int16_t *x16 = scratch + 4 * n, *h16 = x16 + ((p->n_input + 3) & ~3);
    for (int t = 0; t < p->steps; ++t) {
        ern_widen_s8(input + t * p->n_input, p->n_input, x16);
        ern_widen_s8(hidden, n, h16);
        lstm_gate_sigmoid(p, 0, x16, h16, ig);
        lstm_gate_sigmoid(p, 1, x16, h16, fg);
        if (p->cell_gate_tanh) lstm_gate_tanh(p, 2, x16, h16, cg);
        else lstm_gate_sigmoid(p, 2, x16, h16, cg);
        lstm_gate_sigmoid(p, 3, x16, h16, og);
        for (int i = 0; i < n; ++i) {
            const int32_t kept = clamp_s16(mbqm((int32_t)fg[i] * cell[i], p->forget_mul_multiplier, p->forget_mul_shift));
            const int32_t added = clamp_s16(mbqm((int32_t)ig[i] * cg[i], p->input_mul_multiplier, p->input_mul_shift));
            int32_t c = clamp_s16(kept + added);
            if (p->cell_clip > 0) c = c > p->cell_clip ? p->cell_clip : (c < -p->cell_clip ? -p->cell_clip : c);
            cell[i] = (int16_t)c;
        }
        for (int i = 0; i < n; ++i) {
            const int32_t tc = tanh_s16(p->sigmoid_table, p->cell_tanh_multiplier, p->cell_tanh_shift, cell[i]);
            hidden[i] = (int8_t)clamp_s8(mbqm(tc * og[i], p->output_mul_multiplier, p->output_mul_shift)
                                         + p->hidden_zero_point);
        }
        memcpy(output + t * n, hidden, (size_t)n);
    }
}
