/* edgernn benchmark app: runs the generated model on baked-in test vectors under QEMU.
 *
 * Prints, over semihosting, one line per vector with the int8 outputs (hex), and a summary:
 *   EDGERNN-MCU vectors=N mismatches=M ticks=T calib_ticks=C calib_instructions=I stack_used=S stack_size=Z
 * Time is counted with SysTick. Under `qemu -icount shift=0` every instruction takes 1 ns of
 * virtual time, so ticks are proportional to instructions; the factor is calibrated on a loop
 * of known length (calib_instructions), so no board clock has to be assumed.
 */
#include <stdint.h>

#include "model.h"
#include "vectors.h"

void ern_puts(const char *s);
uint32_t ern_stack_unused(void);
uint32_t ern_stack_size(void);
extern volatile uint32_t ern_systick_wraps;

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define RELOAD 0xFFFFFFu
#define BARRIER() __asm__ volatile("" ::: "memory")

static uint64_t now_ticks(void) {
    uint32_t w1, w2, cvr;
    do { /* re-read if the counter wrapped between the two reads */
        w1 = ern_systick_wraps;
        cvr = SYST_CVR;
        w2 = ern_systick_wraps;
    } while (w1 != w2);
    return (uint64_t)w1 * (RELOAD + 1u) + (RELOAD - cvr);
}

/* Exactly 2 instructions per iteration (subs, bne). */
static void __attribute__((noinline)) spin(uint32_t n) {
    __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
}

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
    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7; /* processor clock, interrupt on wrap, enable */
    while (SYST_CVR == 0) {} /* the first load from 0 raises no wrap: start once it has happened */

    const uint32_t calib_iterations = 1000000;
    uint64_t t0 = now_ticks();
    spin(calib_iterations);
    const uint64_t calib_ticks = now_ticks() - t0;

    uint64_t ticks = 0;
    uint32_t mismatches = 0;
    for (int v = 0; v < EDGERNN_VECTORS; ++v) {
        BARRIER();
        t0 = now_ticks();
        BARRIER();
        edgernn_model_invoke(ern_inputs[v], out);
        BARRIER();
        ticks += now_ticks() - t0;
        BARRIER();
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
