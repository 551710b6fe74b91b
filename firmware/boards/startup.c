/* Bare-metal start-up for Cortex-M under QEMU: vector table, reset handler, semihosting.
 * One file serves every board; the linker script (generated per board) places it. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_bottom, _stack_top;
extern int main(void);

/* ---- semihosting (bkpt 0xAB): output and exit with a status ---- */
static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void ern_puts(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */

void ern_exit(int code) {
    const uint32_t block[2] = {0x20026u, (uint32_t)code}; /* ADP_Stopped_ApplicationExit, status */
    semihost(0x20, block);                                /* SYS_EXIT_EXTENDED */
    for (;;) {}
}

/* ---- reset (memcpy, memset and the stack measurement: board_common.c) ---- */
void reset_handler(void) {
#if defined(__ARM_FEATURE_MVE) || (defined(__ARM_FP) && !defined(__SOFTFP__))
    /* Coprocessors 10 and 11 (FPU, Helium) on: their first instruction faults otherwise. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    uint32_t *src = &_data_load, *dst = &_data_start;
    while (dst < &_data_end) *dst++ = *src++;
    for (dst = &_bss_start; dst < &_bss_end;) *dst++ = 0;
    /* Paint the stack below the current frame so the high-water mark can be measured. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &_stack_bottom; p < sp - 16; ++p) *p = ERN_STACK_PAINT;
    ern_exit(main());
}

static void fault_handler(void) {
    ern_puts("EDGERNN-FAULT hard fault\n");
    ern_exit(3);
}

volatile uint32_t ern_systick_wraps;
static void systick_handler(void) { ++ern_systick_wraps; }
static void default_handler(void) { fault_handler(); }

__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
    (void (*)(void))&_stack_top, reset_handler, default_handler, fault_handler,
    fault_handler, fault_handler, fault_handler, 0, 0, 0, 0,
    default_handler, default_handler, 0, default_handler, systick_handler,
};
