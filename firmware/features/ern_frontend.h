/* edgernn audio front end: 16-bit PCM -> MFCC (or log-mel) frames -> int8 model input.
 *
 * The C twin of edgernn/features/frontend.py, computed incrementally: audio arrives in chunks of
 * any size, a ring buffer keeps the last window of samples, and each time a frame completes
 * (frame k covers samples [k*hop, k*hop + window)) it is turned into features:
 *   Hann window -> real FFT (n_fft, zero padded) -> |X|^2 -> triangular mel filters -> log(. + 1e-6)
 *   -> DCT-II -> (x - mean) / std (the run's training statistics) -> int8 with the model's input
 *   scale and zero point (round half away from zero, as TFLite and edgernn's quantize do).
 * Arithmetic: float32 throughout (single precision FPU on Cortex-M4F/M7/M33/M55; libgcc's soft
 * float on cores without one). Sizes and every constant table (window, twiddles, bit reversal,
 * mel weights, DCT, standardization, quantization) come from the generated ern_frontend_tables.h
 * (edgernn/export/frontend_c.py), so nothing is computed at start-up and nothing is allocated.
 * Not reentrant: one front end per image (the FFT scratch is static).
 */
#ifndef ERN_FRONTEND_H_
#define ERN_FRONTEND_H_

#include <stdint.h>

#include "ern_frontend_tables.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int16_t ring[ERN_FE_WINDOW]; /* the last ERN_FE_WINDOW samples; ring[pos] is the oldest */
    uint32_t pos;                /* next write index in ring */
    uint32_t samples;            /* samples received since reset */
    uint32_t frames;             /* frames completed since reset */
    uint32_t to_next;            /* samples still missing for the next frame */
} ern_frontend_t;

void ern_frontend_reset(ern_frontend_t *fe);

/* Feed up to n samples. Stops right after a frame completes: then *ready = 1 and `out` holds that
 * frame's ERN_FE_FEATURES int8 values. Returns the number of samples consumed (call again with
 * the rest). */
int ern_frontend_push(ern_frontend_t *fe, const int16_t *pcm, int n, int8_t *out, int *ready);

/* One frame of ERN_FE_WINDOW samples (oldest first) -> ERN_FE_FEATURES float features
 * (MFCCs or log-mel energies, before standardization). */
void ern_frontend_features_f32(const int16_t *frame, float *features);

/* Standardize and quantize one frame of float features to the model's int8 input. */
void ern_frontend_quantize(const float *features, int8_t *out);

/* Natural logarithm for x > 0 (the firmware links no libm). */
float ern_logf(float x);

/* A whole clip at once (host tests): frames of n samples -> out[frames][ERN_FE_FEATURES].
 * Returns the number of frames written (at most max_frames). */
int ern_frontend_clip_s8(const int16_t *pcm, int n, int8_t *out, int max_frames);
int ern_frontend_clip_f32(const int16_t *pcm, int n, float *out, int max_frames);

#ifdef __cplusplus
}
#endif

#endif
