/* timing.h on RV32: the minstret counter (instructions retired). Under `qemu -icount shift=0` it
 * counts exactly one per instruction; on a real part it counts retired instructions (mcycle would
 * give cycles). ern_spin() calibrates the ticks/instruction factor like on the Cortex-M boards. */
#include "timing.h"

/* CSR instructions are the Zicsr extension, which -march=rv32imac does not name for binutils 2.40 */
#define ZICSR(insn) ".option push\n\t.option arch, +zicsr\n\t" insn "\n\t.option pop"

static uint64_t instret(void) {
    uint32_t hi, lo, hi2;
    do { /* re-read if the low word wrapped between the reads */
        __asm__ volatile(ZICSR("csrr %0, minstreth") : "=r"(hi));
        __asm__ volatile(ZICSR("csrr %0, minstret") : "=r"(lo));
        __asm__ volatile(ZICSR("csrr %0, minstreth") : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t t_start;

void ern_timing_start(void) { t_start = instret(); }

__attribute__((noinline)) uint64_t ern_now_ticks(void) { return instret() - t_start; }

uint32_t ern_dwt_cycles(void) { return 0; }

void __attribute__((noinline)) ern_spin(uint32_t n) {
    __asm__ volatile(".option push\n\t.option norvc\n1: addi %0, %0, -1\n\tbnez %0, 1b\n\t.option pop"
                     : "+r"(n));
}

uint64_t ern_calibration_ticks(void) {
    const uint64_t t0 = ern_now_ticks();
    ern_spin(ERN_CALIB_ITERATIONS);
    return ern_now_ticks() - t0;
}
