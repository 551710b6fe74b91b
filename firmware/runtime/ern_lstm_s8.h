/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell (TFLite Micro's
 * integer LSTM: lstm_eval). Gates are int16 at scale 2^-12 before and 2^-15 after their
 * activation; the cell state is int16 at a power-of-two scale. Gate order in the arrays:
 * input, forget, cell, output (the op's input order). */
#ifndef ERN_LSTM_S8_H_
#define ERN_LSTM_S8_H_
#include "ern_common.h"

typedef struct {
    int steps, n_input, n_state;
    const int8_t *input_weights[4];      /* [n_state][n_input], packed as for FULLY_CONNECTED */
    const int8_t *recurrent_weights[4];  /* [n_state][n_state], packed */
    const int32_t *input_bias[4];        /* gate bias + input zero point folded in (doubled when fast) */
    const int32_t *recurrent_bias[4];    /* hidden-state zero point folded in (doubled when fast) */
    /* 1 (fast cells only): with ERN_PAIR_ROWS (DSP cores) input_weights[g] is instead gate g's paired-row
     * stream, block by block the input projection's start values (doubled biases) and paired weights, then
     * the recurrent projection's (ern_dot4p_stream); the other weight and bias pointers are 0 there */
    int pair_rows;
    /* the gate projections to int16 at 2^-12 (zero point 0), by gate; round: ern_requant_fast's constant
     * when fast (0 for a shift >= 0, which multiplies) */
    ern_requant input_rq[4], recurrent_rq[4];
    int cell_gate_tanh;                  /* 1: tanh on the cell gate, 0: sigmoid */
    /* forget gate x cell and input gate x cell gate to the cell's scale (zero point 0); output gate x
     * tanh(cell) to the hidden state (zero_point: the hidden state's) */
    ern_requant forget_mul, input_mul, output_mul;
    int32_t cell_tanh_multiplier;        /* tanh(cell): input (x * multiplier + round) >> shift */
    int cell_tanh_shift;
    int32_t cell_clip;                   /* 0: no clipping */
    const uint16_t *sigmoid_table;       /* 256 entries, sigmoid(i/24) in 0.16, exact TFLite values */
    const uint16_t *sigmoid_table1;      /* fast path: entries 0..193 plus one (TFLite's rounding term) */
    /* fast: 1 when the generator proved ern_requant_fast exact for every requantization (gates, cell,
     * hidden) with the rounds of the ern_requant structs. */
    int fast;
} ern_lstm_params;

/* The requantization variants a model needs, chosen by the generator (edgernn_rt.c defines them; the
 * defaults compile every variant): bit k of ERN_LSTM_GATE_VARIANTS set = gates whose input shift is
 * >= 0 (k & 1) and recurrent shift is >= 0 (k & 2) occur; ERN_LSTM_GENERAL: a cell without the fast flag. */
#ifndef ERN_LSTM_GATE_VARIANTS
#define ERN_LSTM_GATE_VARIANTS 15
#endif
#ifndef ERN_LSTM_GENERAL
#define ERN_LSTM_GENERAL 1
#endif

/* Scratch: 4 gate vectors of n_state int16, the widened input and hidden state (rounded up to 4). */
#define ERN_LSTM_S8_SCRATCH_BYTES(n_input, n_state) (2 * (4 * (n_state) + ERN_PAD4(n_input) + ERN_PAD4(n_state)))

/* hidden [n_state] int8 and cell [n_state] int16 carry the state (reset them before a sequence);
 * output [steps][n_state]. With the fast flag the biases are doubled and padded to a multiple of 4
 * (ern_dot4_doubled starts from them). */
void ern_lstm_s8(const ern_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                 int8_t *output, int16_t *scratch);

/* The int16 activations of the LSTM, exposed for tests: sigmoid (input scale 2^-12) and tanh
 * with input (x * multiplier + round) >> shift; output scale 2^-15. */
void ern_sigmoid_s16(const uint16_t *table, const int16_t *in, int16_t *out, int n);
void ern_tanh_s16(const uint16_t *table, int32_t multiplier, int shift, const int16_t *in, int16_t *out, int n);

#endif
