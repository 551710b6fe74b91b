/* Timing shared by the firmware apps: SysTick extended to 64 bits by counting its wraps, a spin
 * loop of known length to calibrate ticks against instructions, and the DWT cycle counter where
 * the core has one.
 *
 * SysTick runs on the processor clock. Under `qemu -icount shift=0` every instruction takes 1 ns
 * of virtual time, so ticks are proportional to instructions; ern_spin() calibrates the factor, so
 * no board clock has to be assumed. On a real board, ticks are core clock cycles.
 */
#ifndef ERN_TIMING_H_
#define ERN_TIMING_H_

#include <stdint.h>

#define ERN_SYSTICK_RELOAD 0xFFFFFFu
#define ERN_BARRIER() __asm__ volatile("" ::: "memory") /* keep the measured call between the reads */

void ern_timing_start(void);         /* SysTick free-running with its wrap interrupt, DWT enabled */
uint64_t ern_now_ticks(void);        /* SysTick ticks since ern_timing_start */
void ern_spin(uint32_t n);           /* exactly 2 instructions per iteration (subs, bne) */
uint32_t ern_dwt_cycles(void);       /* DWT CYCCNT; 0 where there is none (M0) or QEMU does not model it */

#define ERN_CALIB_ITERATIONS 1000000u
#define ERN_CALIB_INSTRUCTIONS (2ull * ERN_CALIB_ITERATIONS)
uint64_t ern_calibration_ticks(void); /* ticks taken by ERN_CALIB_INSTRUCTIONS instructions (ern_spin) */

#endif
