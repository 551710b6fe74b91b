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
#include "text.h"
#include "timing.h"
#include "vectors.h"


int main(void) {
    static int8_t out[EDGERNN_MODEL_OUTPUT_SIZE];
    static char line[64 + 3 * EDGERNN_MODEL_OUTPUT_SIZE];
    ern_timing_start();
    const uint64_t calib_ticks = ern_calibration_ticks();

    uint64_t ticks = 0;
    uint32_t mismatches = 0;
    for (int v = 0; v < EDGERNN_VECTORS; ++v) {
        ERN_BARRIER();
        const uint64_t t0 = ern_now_ticks();
        ERN_BARRIER();
        edgernn_model_invoke(ern_inputs[v], out);
        ERN_BARRIER();
        ticks += ern_now_ticks() - t0;
        ERN_BARRIER();
        char *p = ern_put_s(line, "EDGERNN-OUT ");
        p = ern_put_u(p, (uint64_t)v);
        *p++ = ' ';
        p = ern_put_hex(p, (const uint8_t *)out, EDGERNN_MODEL_OUTPUT_SIZE);
        for (int i = 0; i < EDGERNN_MODEL_OUTPUT_SIZE; ++i) mismatches += out[i] != ern_expected[v][i];
        *p++ = '\n';
        *p = 0;
        ern_puts(line);
    }
    char *p = ern_put_s(line, "EDGERNN-MCU vectors=");
    p = ern_put_u(p, EDGERNN_VECTORS);
    p = ern_put_s(p, " mismatches=");
    p = ern_put_u(p, mismatches);
    p = ern_put_s(p, " ticks=");
    p = ern_put_u(p, ticks);
    p = ern_put_calibration_and_stack(p, calib_ticks, ERN_CALIB_INSTRUCTIONS);
    *p++ = '\n';
    *p = 0;
    ern_puts(line);
    return mismatches ? 1 : 0;
}
