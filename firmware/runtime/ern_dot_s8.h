/* The int8 matrix x vector core shared by FULLY_CONNECTED and the LSTM.
 *
 * Weights are packed by the generator: rows in blocks of 4, columns in groups of 4 padded with
 * zeros; block b, group g holds rows 4b..4b+3, 4 bytes each, in order. The input is widened to
 * int16 once per call (ern_widen_s8) in the pair order the packed dot product reads.
 * With Helium (ERN_MVE) a block holds its 4 rows one after the other instead (same block size), and
 * the "widened" input stays int8: 16 products per vector instruction need no widening.
 */
#ifndef ERN_DOT_S8_H_
#define ERN_DOT_S8_H_
#include "ern_common.h"

/* int8 -> int16 in the pair order the packed dot product reads (x0 x2 x1 x3 per group of 4);
 * with ERN_MVE a copy of the int8 input, zero-padded to a multiple of 4, in the same buffer. */
void ern_widen_s8(const int8_t *x, int cols, int16_t *x16);

/* dot_4rows(w, x16, groups, acc): four rows' dot products with the widened input. The optimized
 * version where the core has the DSP extension and ERN_USE_DSP is set, the reference otherwise. */
#if defined(ERN_MVE)
#include "ern_dot_s8_mve.h"
#elif defined(ERN_DSP)
#include "ern_dot_s8_dsp.h"
#else
#include "ern_dot_s8_ref.h"
#endif

#endif
