#include "timing.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

extern volatile uint32_t ern_systick_wraps; /* counted by startup.c's SysTick handler */

/* DWT cycle counter (Cortex-M3/M4/M7/M33/M55). QEMU does not model it: it reads 0 there.
 * M0/M0+ cores have no CYCCNT at all. */
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
static void dwt_start(void) {
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;    /* CYCCNTENA */
}
uint32_t ern_dwt_cycles(void) { return DWT_CYCCNT; }
#else
static void dwt_start(void) {}
uint32_t ern_dwt_cycles(void) { return 0; }
#endif

void ern_timing_start(void) {
    dwt_start();
    SYST_RVR = ERN_SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7; /* processor clock, interrupt on wrap, enable */
    while (SYST_CVR == 0) {} /* the first load from 0 raises no wrap: start once it has happened */
}

/* noinline: the apps call it across files anyway; inlined here it would double the calibration code */
__attribute__((noinline)) uint64_t ern_now_ticks(void) {
    uint32_t w1, w2, cvr;
    do { /* re-read if the counter wrapped between the two reads */
        w1 = ern_systick_wraps;
        cvr = SYST_CVR;
        w2 = ern_systick_wraps;
    } while (w1 != w2);
    return (uint64_t)w1 * (ERN_SYSTICK_RELOAD + 1u) + (ERN_SYSTICK_RELOAD - cvr);
}

void __attribute__((noinline)) ern_spin(uint32_t n) {
    __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
}

uint64_t ern_calibration_ticks(void) {
    const uint64_t t0 = ern_now_ticks();
    ern_spin(ERN_CALIB_ITERATIONS);
    return ern_now_ticks() - t0;
}
