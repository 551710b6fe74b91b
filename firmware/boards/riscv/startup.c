/* Bare-metal start-up for RV32 (QEMU sifive_e): entry, trap handler, semihosting.
 * The same services as ../startup.c (board.h): output and exit over semihosting, the stack
 * high-water mark, and memcpy/memset for a freestanding build. The linker script puts the
 * .isr_vector section (here: _start) first in flash, where sifive_e's reset jumps (0x20400000). */
#include <stddef.h>
#include <stdint.h>

#include "board.h"

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_bottom, _stack_top;
extern int main(void);
void reset_handler(void);

/* ---- semihosting: the RISC-V semihosting sequence (slli/ebreak/srai, uncompressed, in one page) ---- */
static int semihost(int op, const void *arg) {
    register int a0 __asm__("a0") = op;
    register const void *a1 __asm__("a1") = arg;
    __asm__ volatile(".option push\n\t.option norvc\n\t.balign 16\n\t"
                     "slli x0, x0, 0x1f\n\tebreak\n\tsrai x0, x0, 7\n\t.option pop"
                     : "+r"(a0) : "r"(a1) : "memory");
    return a0;
}

void ern_puts(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */

void ern_exit(int code) {
    const uint32_t block[2] = {0x20026u, (uint32_t)code}; /* ADP_Stopped_ApplicationExit, status */
    semihost(0x20, block);                                /* SYS_EXIT_EXTENDED */
    for (;;) {}
}

/* Any trap (illegal instruction, misaligned or faulting access) ends the run with a fault line. */
__attribute__((aligned(4))) static void trap_handler(void) {
    ern_puts("EDGERNN-FAULT trap\n");
    ern_exit(3);
}

/* Entry: stack pointer, trap vector, then C. */
__attribute__((section(".isr_vector"), naked, used)) void _start(void) {
    __asm__ volatile("la sp, _stack_top\n\t"
                     "j reset_handler");
}

void reset_handler(void) {
    __asm__ volatile(".option push\n\t.option arch, +zicsr\n\tcsrw mtvec, %0\n\t.option pop"
                     : : "r"((uintptr_t)trap_handler));
    uint32_t *src = &_data_load, *dst = &_data_start;
    while (dst < &_data_end) *dst++ = *src++;
    for (dst = &_bss_start; dst < &_bss_end;) *dst++ = 0;
    uint32_t *sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    for (uint32_t *p = &_stack_bottom; p < sp - 16; ++p) *p = ERN_STACK_PAINT;
    ern_exit(main());
}
