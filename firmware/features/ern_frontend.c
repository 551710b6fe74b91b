/* edgernn audio front end (see ern_frontend.h). Every table is generated at export time. */
#include "ern_frontend.h"

#define ERN_FE_HALF (ERN_FE_NFFT / 2) /* the real FFT runs as a complex FFT of half the length */
#define ERN_FE_BINS (ERN_FE_HALF + 1)

#if ERN_FE_FIXED
static int32_t fe_buf[ERN_FE_NFFT];  /* ERN_FE_HALF complex values, re/im interleaved */
static uint64_t fe_power[ERN_FE_POWER_BINS];
static int32_t fe_log2[ERN_FE_NMELS]; /* log2 of the floored mel energies, Q16 */
static int fe_shift;                  /* the frame's block exponent r */
#else
static float fe_buf[ERN_FE_NFFT];    /* ERN_FE_HALF complex values, re/im interleaved */
static float fe_power[ERN_FE_BINS];
static float fe_mel[ERN_FE_NMELS];
#endif

void ern_frontend_reset(ern_frontend_t *fe) {
    for (int i = 0; i < ERN_FE_WINDOW; ++i) fe->ring[i] = 0;
    fe->pos = 0;
    fe->samples = 0;
    fe->frames = 0;
    fe->to_next = ERN_FE_WINDOW;
}

/* log(x) = e*ln2 + log(m), m in [sqrt(1/2), sqrt(2)): log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172,
 * whose odd series to s^9 is below float precision. ln2 is split so e*ln2_hi is exact. */
float ern_logf(float x) {
    union { float f; uint32_t u; } v = {x};
    int e = (int)((v.u >> 23) & 0xFF) - 127;
    v.u = (v.u & 0x007FFFFFu) | 0x3F800000u; /* m in [1, 2) */
    float m = v.f;
    if (m > 1.41421356f) { m *= 0.5f; e += 1; }
    const float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    const float series = 2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))));
    return (float)e * 6.93145751953125e-1f + ((float)e * 1.428606765330187e-6f + series);
}

#if ERN_FE_FIXED
/* ---- fixed point (cores without an FPU): bit for bit edgernn/features/fixed_point.py ---- */

/* (b * w + 2^30) >> 31, exactly, with 32-bit products only (Cortex-M0 has no 32x32->64 multiply).
 * Signed 16-bit halves b = bh * 2^16 + bl, w = wh * 2^16 + wl (bl, wl in [-2^15, 2^15)) keep every
 * partial product and sum below 2^31 for |b| < 2^30; the low product's fraction cannot change the
 * floor, so b*w*2^-31 = 2 bh wh + floor((bh wl + bl wh + (bl wl + 2^30) / 2^16) / 2^15). */
static int32_t mq31(int32_t b, int32_t w) {
    const int32_t bl = (int16_t)(uint16_t)((uint32_t)b & 0xFFFFu), wl = (int16_t)(uint16_t)((uint32_t)w & 0xFFFFu);
    const int32_t bh = (b - bl) >> 16, wh = (w >> 16) + ((w >> 15) & 1); /* b - bl: a multiple of 2^16 */
    const uint32_t low = (uint32_t)(bl * wl) + (1u << 30);
    return 2 * bh * wh + ((bh * wl + bl * wh + (int32_t)(low >> 16)) >> 15);
}

static int bit_length64(uint64_t v) {
    int n = 0;
    if (v >> 32) { n += 32; v >>= 32; }
    uint32_t w = (uint32_t)v;
    if (w >> 16) { n += 16; w >>= 16; }
    if (w >> 8) { n += 8; w >>= 8; }
    if (w >> 4) { n += 4; w >>= 4; }
    if (w >> 2) { n += 2; w >>= 2; }
    if (w >> 1) { n += 1; w >>= 1; }
    return n + (int)w;
}

/* pcm * window (Q31) as int64 with 32-bit products only: w = wh * 2^16 + wl. */
static int64_t windowed(int16_t pcm, int32_t w) {
    const int32_t hi = (int32_t)pcm * (w >> 16), lo = (int32_t)pcm * (int32_t)(w & 0xFFFF);
    return (int64_t)hi * 65536 + lo;
}

/* Window in Q31 (a Q15 window's rounding would leak a loud tone into quiet bands), then block
 * floating point: shift right by r so that |x| <= 2^20. Two passes: no int64 frame buffer in RAM. */
static void window_into_buf(const int16_t *a, int na, const int16_t *b) {
    uint64_t peak = 0;
    for (int i = 0; i < ERN_FE_WINDOW; ++i) {
        const int64_t v = windowed(i < na ? a[i] : b[i - na], ern_fe_window[i]);
        const uint64_t m = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
        if (m > peak) peak = m;
    }
    int r = bit_length64(peak) - 20;
    r = r < ERN_FE_MIN_SHIFT ? ERN_FE_MIN_SHIFT : r > ERN_FE_MAX_SHIFT ? ERN_FE_MAX_SHIFT : r;
    const int64_t half = (int64_t)1 << (r - 1);
    for (int i = 0; i < ERN_FE_WINDOW; ++i)
        fe_buf[i] = (int32_t)((windowed(i < na ? a[i] : b[i - na], ern_fe_window[i]) + half) >> r);
    for (int i = ERN_FE_WINDOW; i < ERN_FE_NFFT; ++i) fe_buf[i] = 0;
    fe_shift = r;
}

/* Radix-2 FFT of ERN_FE_HALF complex values, no scaling (|Z| < 2^28.5), Q31 twiddles. */
static void fft_half(int32_t *z) {
    for (int i = 0; i < ERN_FE_HALF; ++i) {
        const int j = ern_fe_bitrev[i];
        if (j > i) {
            int32_t t = z[2 * i]; z[2 * i] = z[2 * j]; z[2 * j] = t;
            t = z[2 * i + 1]; z[2 * i + 1] = z[2 * j + 1]; z[2 * j + 1] = t;
        }
    }
    for (int i = 0; i + 1 < ERN_FE_HALF; i += 2) { /* stage of length 2: the twiddle is exactly 1 */
        int32_t *a = z + 2 * i, *b = a + 2;
        const int32_t tr = b[0], ti = b[1];
        b[0] = a[0] - tr;
        b[1] = a[1] - ti;
        a[0] += tr;
        a[1] += ti;
    }
    /* stage of length 4: twiddles 1 and -i, where mq31 is exact too (|b| < 2^30): t = b, t = -i b */
    for (int i = 0; i + 3 < ERN_FE_HALF; i += 4) {
        int32_t *a = z + 2 * i, *b = a + 4;
        int32_t tr = b[0], ti = b[1];
        b[0] = a[0] - tr;
        b[1] = a[1] - ti;
        a[0] += tr;
        a[1] += ti;
        a += 2;
        b += 2;
        tr = b[1];
        ti = -b[0];
        b[0] = a[0] - tr;
        b[1] = a[1] - ti;
        a[0] += tr;
        a[1] += ti;
    }
    for (int len = 8; len <= ERN_FE_HALF; len <<= 1) {
        const int half = len >> 1, stride = ERN_FE_NFFT / len;
        for (int start = 0; start < ERN_FE_HALF; start += len) {
            for (int k = 0; k < half; ++k) {
                const int32_t wr = ern_fe_cos[k * stride], wi = -ern_fe_sin[k * stride];
                int32_t *a = z + 2 * (start + k), *b = z + 2 * (start + k + half);
                const int32_t tr = mq31(b[0], wr) - mq31(b[1], wi), ti = mq31(b[0], wi) + mq31(b[1], wr);
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
}

static uint64_t square64(int32_t v) { return (uint64_t)((int64_t)v * v); }

/* |X[k]|^2 of xq from X2 = 2X = E2 + W * O2, computed as (xr2^2 + xi2^2) >> 2. */
static void real_power(const int32_t *z, uint64_t *power) {
    power[0] = square64(z[0] + z[1]);
    const int last = ERN_FE_POWER_BINS - 1 < ERN_FE_HALF ? ERN_FE_POWER_BINS - 1 : ERN_FE_HALF - 1;
    for (int k = 1; k <= last; ++k) {
        const int32_t ar = z[2 * k], ai = z[2 * k + 1];
        const int32_t br = z[2 * (ERN_FE_HALF - k)], bi = -z[2 * (ERN_FE_HALF - k) + 1];
        const int32_t er = ar + br, ei = ai + bi, or_ = ai - bi, oi = -(ar - br);
        const int32_t wr = ern_fe_cos[k], wi = -ern_fe_sin[k];
        const int32_t xr = er + mq31(or_, wr) - mq31(oi, wi), xi = ei + mq31(or_, wi) + mq31(oi, wr);
        power[k] = (square64(xr) + square64(xi)) >> 2;
    }
    if (ERN_FE_POWER_BINS > ERN_FE_HALF) power[ERN_FE_HALF] = square64(z[0] - z[1]);
}

/* log2(v) in Q16 for v > 0: exponent plus a 64-segment table of log2(1 + f), linearly interpolated. */
static int32_t log2_q16(uint64_t v) {
    const int e = bit_length64(v) - 1;
    const uint32_t norm = e >= 31 ? (uint32_t)(v >> (e - 31)) : (uint32_t)(v << (31 - e));
    const uint32_t f = norm - 0x80000000u;
    const int idx = (int)(f >> 25);
    const int32_t rem = (int32_t)((f >> 9) & 0xFFFFu);
    const int32_t lo = ern_fe_log2_table[idx], step = ern_fe_log2_table[idx + 1] - lo;
    return e * 65536 + lo + ((step * rem + (1 << 15)) >> 16);
}

static void buf_to_features(float *features) {
    fft_half(fe_buf);
    real_power(fe_buf, fe_power);
    const uint16_t *w = ern_fe_mel_weight;
    for (int m = 0; m < ERN_FE_NMELS; ++m) {
        uint64_t acc = 0;
        const uint64_t *p = fe_power + ern_fe_mel_first[m];
        for (int j = 0; j < ern_fe_mel_count[m]; ++j) acc += (p[j] >> 15) * *w++;
        /* the energy is acc * 2^(2r - 92); so is the 1e-6 floor, from its table */
        fe_log2[m] = log2_q16(acc + ern_fe_floor[fe_shift - ERN_FE_MIN_SHIFT]) + (2 * fe_shift - 92) * 65536;
    }
    for (int j = 0; j < ERN_FE_FEATURES; ++j) { /* DCT (ln 2 folded in): L = hi * 2^16 + lo keeps products 32-bit */
        int32_t hi = 0;
        int64_t lo = 0;
        for (int m = 0; m < ERN_FE_NMELS; ++m) {
            const int32_t d = ern_fe_dct[m * ERN_FE_FEATURES + j];
            hi += (fe_log2[m] >> 16) * d;
            lo += (int32_t)((uint32_t)fe_log2[m] & 0xFFFFu) * d;
        }
        features[j] = (float)((int64_t)hi * 65536 + lo) * 0x1p-31f;
    }
}

#else /* ---- float32 (cores with an FPU; libgcc soft float elsewhere) ---- */

/* In-place radix-2 decimation-in-time FFT of ERN_FE_HALF complex values (re/im interleaved).
 * Twiddle k of a stage of length L is exp(-2 pi i k / L) = table entry k * NFFT / L. */
static void fft_half(float *z) {
    for (int i = 0; i < ERN_FE_HALF; ++i) {
        const int j = ern_fe_bitrev[i];
        if (j > i) {
            float t = z[2 * i]; z[2 * i] = z[2 * j]; z[2 * j] = t;
            t = z[2 * i + 1]; z[2 * i + 1] = z[2 * j + 1]; z[2 * j + 1] = t;
        }
    }
    for (int i = 0; i + 1 < ERN_FE_HALF; i += 2) { /* stage of length 2: the twiddle is 1 */
        float *a = z + 2 * i, *b = a + 2;
        const float tr = b[0], ti = b[1];
        b[0] = a[0] - tr;
        b[1] = a[1] - ti;
        a[0] += tr;
        a[1] += ti;
    }
    for (int len = 4; len <= ERN_FE_HALF; len <<= 1) {
        const int half = len >> 1, stride = ERN_FE_NFFT / len;
        for (int start = 0; start < ERN_FE_HALF; start += len) {
            for (int k = 0; k < half; ++k) {
                const float wr = ern_fe_cos[k * stride], wi = -ern_fe_sin[k * stride];
                float *a = z + 2 * (start + k), *b = z + 2 * (start + k + half);
                const float tr = b[0] * wr - b[1] * wi, ti = b[0] * wi + b[1] * wr;
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
}

/* |X[k]|^2 for k = 0 .. ERN_FE_POWER_BINS - 1 (the bins the mel filters use; NFFT/2 at most) of the
 * real sequence packed in z (even samples real, odd imaginary):
 * X[k] = (Z[k] + conj Z[H-k]) / 2 - i W^k (Z[k] - conj Z[H-k]) / 2, W = exp(-2 pi i / NFFT). */
static void real_power(const float *z, float *power) {
    power[0] = (z[0] + z[1]) * (z[0] + z[1]);
    const int last = ERN_FE_POWER_BINS - 1 < ERN_FE_HALF ? ERN_FE_POWER_BINS - 1 : ERN_FE_HALF - 1;
    for (int k = 1; k <= last; ++k) {
        const float ar = z[2 * k], ai = z[2 * k + 1];
        const float br = z[2 * (ERN_FE_HALF - k)], bi = -z[2 * (ERN_FE_HALF - k) + 1];
        const float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi); /* even part */
        const float dr = 0.5f * (ar - br), di = 0.5f * (ai - bi);
        const float or_ = di, oi = -dr;                           /* odd part: -i * d */
        const float wr = ern_fe_cos[k], wi = -ern_fe_sin[k];
        const float xr = er + (or_ * wr - oi * wi), xi = ei + (or_ * wi + oi * wr);
        power[k] = xr * xr + xi * xi;
    }
    if (ERN_FE_POWER_BINS > ERN_FE_HALF) power[ERN_FE_HALF] = (z[0] - z[1]) * (z[0] - z[1]);
}

/* fe_buf = window * the samples a[0..na) then b[0..nb) (a ring buffer's two halves), zero padded.
 * The window table carries the 1/32768 PCM scale (a power of two: exact). */
static void window_into_buf(const int16_t *a, int na, const int16_t *b) {
    for (int i = 0; i < na; ++i) fe_buf[i] = (float)a[i] * ern_fe_window[i];
    for (int i = na; i < ERN_FE_WINDOW; ++i) fe_buf[i] = (float)b[i - na] * ern_fe_window[i];
    for (int i = ERN_FE_WINDOW; i < ERN_FE_NFFT; ++i) fe_buf[i] = 0.0f;
}

/* fe_buf (windowed frame) -> features */
static void buf_to_features(float *features) {
    fft_half(fe_buf);
    real_power(fe_buf, fe_power);
    const float *w = ern_fe_mel_weight;
    for (int m = 0; m < ERN_FE_NMELS; ++m) { /* each filter covers a short run of bins */
        float acc = 0.0f;
        const float *p = fe_power + ern_fe_mel_first[m];
        for (int j = 0; j < ern_fe_mel_count[m]; ++j) acc += p[j] * *w++;
        fe_mel[m] = ern_logf(acc + ERN_FE_LOG_FLOOR);
    }
#if ERN_FE_MFCC
    for (int j = 0; j < ERN_FE_FEATURES; ++j) {
        float acc = 0.0f;
        for (int m = 0; m < ERN_FE_NMELS; ++m) acc += fe_mel[m] * ern_fe_dct[m * ERN_FE_FEATURES + j];
        features[j] = acc;
    }
#else
    for (int j = 0; j < ERN_FE_FEATURES; ++j) features[j] = fe_mel[j];
#endif
}

#endif

void ern_frontend_features_f32(const int16_t *frame, float *features) {
    window_into_buf(frame, ERN_FE_WINDOW, frame);
    buf_to_features(features);
}

/* The same float operations as edgernn's Python: ((x - mean) / std) / scale, then round half away
 * from zero, add the zero point, clamp. */
void ern_frontend_quantize(const float *features, int8_t *out) {
    for (int j = 0; j < ERN_FE_FEATURES; ++j) {
        const float v = ((features[j] - ern_fe_mean[j]) / ern_fe_std[j]) / ERN_FE_INPUT_SCALE;
        const float a = (v < 0.0f ? -v : v) + 0.5f;
        int32_t q = a >= 1000.0f ? 1000 : (int32_t)a; /* truncation of a >= 0 is floor */
        q = (v < 0.0f ? -q : q) + ERN_FE_INPUT_ZERO_POINT;
        out[j] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
    }
}

int ern_frontend_push(ern_frontend_t *fe, const int16_t *pcm, int n, int8_t *out, int *ready) {
    *ready = 0;
    int used = 0;
    while (used < n && fe->to_next > 0) { /* copy up to the end of the next frame, no per-sample division */
        uint32_t m = (uint32_t)(n - used) < fe->to_next ? (uint32_t)(n - used) : fe->to_next;
        fe->samples += m;
        fe->to_next -= m;
        while (m--) {
            fe->ring[fe->pos] = pcm[used++];
            fe->pos = fe->pos + 1 == ERN_FE_WINDOW ? 0 : fe->pos + 1;
        }
    }
    if (fe->to_next == 0) { /* frame k completes with sample k*hop + window - 1 */
        float features[ERN_FE_FEATURES];
        /* the oldest sample is at pos: ring[pos..] then ring[..pos) */
        window_into_buf(fe->ring + fe->pos, ERN_FE_WINDOW - (int)fe->pos, fe->ring);
        buf_to_features(features);
        ern_frontend_quantize(features, out);
        fe->frames += 1;
        fe->to_next = ERN_FE_HOP;
        *ready = 1;
    }
    return used;
}

int ern_frontend_clip_s8(const int16_t *pcm, int n, int8_t *out, int max_frames) {
    ern_frontend_t fe;
    int frames = 0, ready;
    ern_frontend_reset(&fe);
    while (n > 0 && frames < max_frames) {
        const int used = ern_frontend_push(&fe, pcm, n, out + frames * ERN_FE_FEATURES, &ready);
        pcm += used;
        n -= used;
        frames += ready;
    }
    return frames;
}

int ern_frontend_clip_f32(const int16_t *pcm, int n, float *out, int max_frames) {
    int frames = 0;
    for (int start = 0; start + ERN_FE_WINDOW <= n && frames < max_frames; start += ERN_FE_HOP)
        ern_frontend_features_f32(pcm + start, out + (frames++) * ERN_FE_FEATURES);
    return frames;
}
