/* edgernn runtime, public part: what every kernel's public header and a generated model share.
 * The status codes of a generated model's invoke(), alignment, the packed-weight layout switch, and
 * ern_requant, the one requantization struct every kernel's params carry. The fixed-point helpers
 * the kernels compute with are internal: ern_support.h (as CMSIS-NN's arm_nnfunctions.h is separate
 * from arm_nnsupportfunctions.h). All multipliers, shifts and offsets come from the code generator.
 */
#ifndef ERN_COMMON_H_
#define ERN_COMMON_H_

#include <stdint.h>
#include <string.h>

/* Alignment of the arena and the packed weights: the DSP kernels load them a word (or two) at a
 * time. The portable kernels read bytes, so other compilers may leave it out. */
#if defined(__GNUC__) || defined(__clang__)
#define ERN_ALIGN(n) __attribute__((aligned(n)))
#define ERN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ERN_ALIGN(n)
#define ERN_ALWAYS_INLINE inline
#endif

/* invoke() results: 0, or why the inference stopped (TFLite Micro would report an error too). */
#define ERN_OK 0
#define ERN_ERROR_INDEX_OUT_OF_RANGE (-1) /* a GATHER index outside its table */
#define ERN_ERROR_LOOP_LIMIT (-2)         /* a WHILE loop ran more than ERN_MAX_LOOP_STEPS times */
#ifndef ERN_MAX_LOOP_STEPS
#define ERN_MAX_LOOP_STEPS 65536
#endif

#define ERN_INT32_MIN (-2147483647 - 1)
#define ERN_INT32_MAX 2147483647
#define ERN_PAD4(n) (((n) + 3) & ~3)

/* Helium (MVE, Cortex-M55/M85): the dot products use 16-byte vectors, and packed weights are laid out
 * row by row within each block of 4 rows (ERN_ROW_BLOCKS; the generated model.c holds both layouts). */
#if defined(ERN_USE_MVE) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define ERN_MVE 1
#define ERN_ROW_BLOCKS 1
#endif

/* Cores with the DSP extension (Cortex-M4, M7, M33) and no Helium: weight matrices the generator proved
 * fit are stored in the paired-row layout (ERN_PAIR_ROWS, docs/design/paired-rows.md): in each block of
 * 4 rows, rows 2k and 2k+1 share every halfword (256 w[2k][c] + w[2k+1][c]), so one SMLAD on a raw weight
 * word does the products of two rows. Which matrices are paired is the params' pair_rows flag. */
#if defined(ERN_USE_DSP) && defined(__ARM_FEATURE_DSP) && !defined(ERN_MVE)
#define ERN_PAIR_ROWS 1
#endif

/* In a generated model.c: the array a params field points at, by the layout the build reads (the other
 * array is not compiled in). */
#if defined(ERN_PAIR_ROWS)
#define ERN_LAYOUT(paired, plain) paired
#else
#define ERN_LAYOUT(paired, plain) plain
#endif

/* One requantization of an int32 accumulator to the output's type, as TFLite Micro's
 * MultiplyByQuantizedMultiplier(acc, multiplier, shift) + zero_point, then a clamp. Every kernel's
 * params hold their requantizations in this struct (per-channel FULLY_CONNECTED keeps its per-row
 * multipliers and shifts in arrays and the zero point here). */
typedef struct {
    int32_t multiplier;   /* Q0.31, 0 <= multiplier < 2^31 */
    int shift;            /* > 0: multiply by 2^shift first; < 0: rounding divide by 2^-shift after */
    int32_t zero_point;   /* added to the result: the output's zero point */
    int32_t round;        /* ern_requant_fast's constant, 2^(e-1) + zero_point * 2^e with e = -shift: set
                           * where the generator proved ern_requant_fast exact (the kernel's fast flag) */
} ern_requant;

#endif
