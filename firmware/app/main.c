/* edgernn benchmark app: runs the generated model on baked-in test vectors under QEMU.
 *
 * Prints, over semihosting, one line per vector with the int8 outputs (hex), and a summary:
 *   EDGERNN-MCU vectors=N mismatches=M ticks=T calib_ticks=C calib_instructions=I stack_used=S stack_size=Z
 * Time is counted with SysTick (timing.h): ticks are proportional to instructions under
 * `qemu -icount shift=0`, the factor calibrated on a loop of known length (calib_instructions).
 */
#include <stdint.h>

#include "board.h"
#include "model.h"
#include "timing.h"
#include "vectors.h"


static char *put_u(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put_s(char *p, const char *s) { while (*s) *p++ = *s++; return p; }

int main(void) {
    static int8_t out[EDGERNN_MODEL_OUTPUT_SIZE];
    static char line[64 + 3 * EDGERNN_MODEL_OUTPUT_SIZE];
    static const char hex[] = "0123456789abcdef";
    ern_timing_start();

    const uint32_t calib_iterations = 1000000;
    uint64_t t0 = ern_now_ticks();
    ern_spin(calib_iterations);
    const uint64_t calib_ticks = ern_now_ticks() - t0;

    uint64_t ticks = 0;
    uint32_t mismatches = 0;
    for (int v = 0; v < EDGERNN_VECTORS; ++v) {
        ERN_BARRIER();
        t0 = ern_now_ticks();
        ERN_BARRIER();
        edgernn_model_invoke(ern_inputs[v], out);
        ERN_BARRIER();
        ticks += ern_now_ticks() - t0;
        ERN_BARRIER();
        char *p = put_s(line, "EDGERNN-OUT ");
        p = put_u(p, (uint64_t)v);
        *p++ = ' ';
        for (int i = 0; i < EDGERNN_MODEL_OUTPUT_SIZE; ++i) {
            const uint8_t b = (uint8_t)out[i];
            *p++ = hex[b >> 4];
            *p++ = hex[b & 15];
            if (out[i] != ern_expected[v][i]) ++mismatches;
        }
        *p++ = '\n';
        *p = 0;
        ern_puts(line);
    }
    char *p = put_s(line, "EDGERNN-MCU vectors=");
    p = put_u(p, EDGERNN_VECTORS);
    p = put_s(p, " mismatches=");
    p = put_u(p, mismatches);
    p = put_s(p, " ticks=");
    p = put_u(p, ticks);
    p = put_s(p, " calib_ticks=");
    p = put_u(p, calib_ticks);
    p = put_s(p, " calib_instructions=");
    p = put_u(p, 2ull * calib_iterations);
    p = put_s(p, " stack_used=");
    p = put_u(p, ern_stack_size() - ern_stack_unused());
    p = put_s(p, " stack_size=");
    p = put_u(p, ern_stack_size());
    *p++ = '\n';
    *p = 0;
    ern_puts(line);
    return mismatches ? 1 : 0;
}
