/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell (TFLite Micro's
 * integer LSTM: lstm_eval). Gates are int16 at scale 2^-12 before and 2^-15 after their
 * activation; the cell state is int16 at a power-of-two scale. Gate order in the arrays:
 * input, forget, cell, output (the op's input order). */
#ifndef ERN_LSTM_S8_H_
#define ERN_LSTM_S8_H_
#include "ern_dot_s8.h"

typedef struct {
    int steps, n_input, n_state;
    const int8_t *input_weights[4];      /* [n_state][n_input], packed as for FULLY_CONNECTED */
    const int8_t *recurrent_weights[4];  /* [n_state][n_state], packed */
    const int32_t *input_bias[4];        /* gate bias + input zero point folded in */
    const int32_t *recurrent_bias[4];    /* hidden-state zero point folded in */
    int32_t input_multiplier[4], recurrent_multiplier[4];
    int input_shift[4], recurrent_shift[4];
    int cell_gate_tanh;                  /* 1: tanh on the cell gate, 0: sigmoid */
    int32_t forget_mul_multiplier, input_mul_multiplier, output_mul_multiplier;
    int forget_mul_shift, input_mul_shift, output_mul_shift;
    int32_t hidden_zero_point;
    int32_t cell_tanh_multiplier;        /* tanh(cell): input (x * multiplier + round) >> shift */
    int cell_tanh_shift;
    int32_t cell_clip;                   /* 0: no clipping */
    const uint16_t *sigmoid_table;       /* 256 entries, sigmoid(i/24) in 0.16, exact TFLite values */
    /* fast: 1 when the generator proved requant_fast exact for every requantization (gates, cell,
     * hidden); the rounds are requant_fast's constants (0 for a gate shift >= 0, which multiplies). */
    int fast;
    int32_t input_round[4], recurrent_round[4];
    int32_t forget_mul_round, input_mul_round, output_mul_round;
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
 * output [steps][n_state]. */
void ern_lstm_s8(const ern_lstm_params *p, const int8_t *input, int8_t *hidden, int16_t *cell,
                 int8_t *output, int16_t *scratch);

/* The int16 activations of the LSTM, exposed for tests: sigmoid (input scale 2^-12) and tanh
 * with input (x * multiplier + round) >> shift; output scale 2^-15. */
void ern_sigmoid_s16(const uint16_t *table, const int16_t *in, int16_t *out, int n);
void ern_tanh_s16(const uint16_t *table, int32_t multiplier, int shift, const int16_t *in, int16_t *out, int n);

#endif
