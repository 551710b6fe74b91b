/* edgernn keyword-spotting app: audio in, keywords out, streaming.
 *
 * Audio comes from board_audio_read() (kws_audio.h): a WAV linked into flash (QEMU, tests) or the
 * serial link. The front end (firmware/features) runs on every sample chunk and completes one
 * frame per hop; the model runs every ERN_KWS_EVERY frames on the last ERN_FE_FRAMES frames, and
 * its int8 scores (q + 128) go through the C mirror of the host's RecognizeCommands. The timing
 * contract (the same as edgernn/streaming/device_mirror.py):
 *   f frames complete -> run when f >= FRAMES and (f - FRAMES) % EVERY == 0, on frames f-FRAMES..f-1,
 *   at time_ms = ((f - 1) * HOP + WINDOW) * 1000 / SAMPLE_RATE.
 * Output lines (semihosting, or the UART with ERN_KWS_UART, the serial audio source):
 *   EDGERNN-KWS-RES <time_ms> <scores hex>           every model result (ERN_KWS_PRINT_RESULTS)
 *   EDGERNN-KWS-FEAT <frame> <int8 features hex>     every frame (ERN_KWS_PRINT_FEATURES)
 *   EDGERNN-KWS-DET <time_ms> <label index> <averaged score>
 *   EDGERNN-KWS samples=.. frames=.. results=.. detections=.. fe_ticks=.. model_ticks=.. calib_ticks=..
 *               calib_instructions=.. stack_used=.. stack_size=..
 * Ticks are SysTick counts (instructions under qemu -icount shift=0, calibrated by timing.c);
 * on a real board they are core clock cycles.
 */
#include <stdint.h>

#include "ern_frontend.h"
#include "kws_audio.h"
#include "kws_config.h"
#include "kws_recognize.h"
#include "model.h"
#include "text.h"
#include "timing.h"

#if ERN_KWS_UART /* output on the UART, beside the audio stream (kws_audio_serial.c) */
void ern_kws_puts(const char *s);
#define ern_puts ern_kws_puts
#else
void ern_puts(const char *s);
#endif
#define CPACR (*(volatile uint32_t *)0xE000ED88u)

#if ERN_FE_FEATURES * ERN_FE_FRAMES != EDGERNN_MODEL_INPUT_SIZE
#error "the front end's frames x features differ from the model's input size"
#endif
#if ERN_KWS_CLASSES != EDGERNN_MODEL_OUTPUT_SIZE
#error "the run's class count differs from the model's output size"
#endif

static void emit(char *line, char *end) { *end++ = '\n'; *end = 0; ern_puts(line); }

static ern_frontend_t fe;
static ern_recognizer_t recognizer;
static int8_t frame_ring[ERN_FE_FRAMES][ERN_FE_FEATURES]; /* the last FRAMES frames; frame f at f % FRAMES */
static int8_t model_input[EDGERNN_MODEL_INPUT_SIZE];
static int8_t model_output[EDGERNN_MODEL_OUTPUT_SIZE];
static int16_t chunk[ERN_FE_HOP];
static char line[64 + 2 * (EDGERNN_MODEL_OUTPUT_SIZE + ERN_FE_FEATURES)];

/* One model result on the newest FRAMES frames; returns 1 when the recognizer fires. */
static int run_model(uint32_t frames, uint64_t *model_ticks, uint32_t *time_ms, int *label, int *score) {
    ERN_BARRIER();
    const uint64_t t0 = ern_now_ticks();
    ERN_BARRIER();
    for (uint32_t k = 0; k < ERN_FE_FRAMES; ++k) { /* oldest first */
        const int8_t *src = frame_ring[(frames - ERN_FE_FRAMES + k) % ERN_FE_FRAMES];
        for (int j = 0; j < ERN_FE_FEATURES; ++j) model_input[k * ERN_FE_FEATURES + j] = src[j];
    }
    edgernn_model_invoke(model_input, model_output);
    ERN_BARRIER();
    *model_ticks += ern_now_ticks() - t0;
    ERN_BARRIER();
    uint8_t scores[EDGERNN_MODEL_OUTPUT_SIZE];
    for (int c = 0; c < EDGERNN_MODEL_OUTPUT_SIZE; ++c) scores[c] = (uint8_t)(model_output[c] + 128);
    *time_ms = (uint32_t)(((uint64_t)(frames - 1) * ERN_FE_HOP + ERN_FE_WINDOW) * 1000u / ERN_FE_SAMPLE_RATE);
#if ERN_KWS_PRINT_RESULTS
    char *p = ern_put_s(line, "EDGERNN-KWS-RES ");
    p = ern_put_u(p, *time_ms);
    *p++ = ' ';
    emit(line, ern_put_hex(p, scores, EDGERNN_MODEL_OUTPUT_SIZE));
#endif
    return ern_recognizer_update(&recognizer, *time_ms, scores, label, score);
}

static int __attribute__((noinline)) kws_main(void) {
    ern_timing_start();
    const uint64_t calib_ticks = ern_calibration_ticks();

    if (ern_recognizer_init(&recognizer, ERN_KWS_CLASSES, ern_kws_ignore, ERN_KWS_WINDOW_MS, ERN_KWS_THRESHOLD,
                            ERN_KWS_SUPPRESSION_MS, ERN_KWS_MIN_COUNT) != 0) {
        ern_puts("EDGERNN-FAULT bad recognizer parameters\n");
        return 4;
    }
    ern_frontend_reset(&fe);
    board_audio_init();
    uint64_t fe_ticks = 0, model_ticks = 0, samples = 0;
    uint32_t frames = 0, results = 0, detections = 0;
    int n;
    while ((n = board_audio_read(chunk, ERN_FE_HOP)) > 0) {
        samples += (uint64_t)n;
        for (int off = 0; off < n;) {
            int ready;
            ERN_BARRIER();
            const uint64_t t0 = ern_now_ticks();
            ERN_BARRIER();
            off += ern_frontend_push(&fe, chunk + off, n - off, frame_ring[frames % ERN_FE_FRAMES], &ready);
            ERN_BARRIER();
            fe_ticks += ern_now_ticks() - t0;
            ERN_BARRIER();
            if (!ready) continue;
#if ERN_KWS_PRINT_FEATURES
            char *p = ern_put_s(line, "EDGERNN-KWS-FEAT ");
            p = ern_put_u(p, frames);
            *p++ = ' ';
            emit(line, ern_put_hex(p, (const uint8_t *)frame_ring[frames % ERN_FE_FRAMES], ERN_FE_FEATURES));
#endif
            frames += 1;
            if (frames < ERN_FE_FRAMES || (frames - ERN_FE_FRAMES) % ERN_KWS_EVERY != 0) continue;
            uint32_t time_ms;
            int label, score;
            results += 1;
            if (run_model(frames, &model_ticks, &time_ms, &label, &score)) {
                detections += 1;
                char *p = ern_put_s(line, "EDGERNN-KWS-DET ");
                p = ern_put_u(p, time_ms);
                *p++ = ' ';
                p = ern_put_u(p, (uint64_t)label);
                *p++ = ' ';
                emit(line, ern_put_u(p, (uint64_t)score));
            }
        }
    }
    char *p = ern_put_s(line, "EDGERNN-KWS samples=");
    p = ern_put_u(p, samples);
    p = ern_put_s(p, " frames=");
    p = ern_put_u(p, frames);
    p = ern_put_s(p, " results=");
    p = ern_put_u(p, results);
    p = ern_put_s(p, " detections=");
    p = ern_put_u(p, detections);
    emit(line, p);
    p = ern_put_s(line, "EDGERNN-KWS-TIME fe_ticks=");
    p = ern_put_u(p, fe_ticks);
    p = ern_put_s(p, " model_ticks=");
    p = ern_put_u(p, model_ticks);
    emit(line, ern_put_calibration_and_stack(p, calib_ticks, ERN_CALIB_INSTRUCTIONS));
    return n < 0 ? 5 : 0;
}

int main(void) {
#if defined(__ARM_FP)
    CPACR |= 0xFu << 20; /* the front end's float code runs on the FPU: enable CP10/CP11 first */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
#if ERN_KWS_UART
    kws_main();
    for (;;) {} /* a real board has no semihosting host to exit to: the summary was the last line */
#else
    return kws_main();
#endif
}
