/* What every board's start-up shares, whatever the architecture: the two libc functions the compiler
 * may call under -ffreestanding (struct copies, zeroing) and the stack measurement. The start-up
 * files (boards/startup.c, boards/riscv/startup.c) paint the stack with ERN_STACK_PAINT at reset. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"

extern uint32_t _stack_bottom, _stack_top;

void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) { /* both word aligned: copy words */
        for (; n >= 4; n -= 4, d += 4, s += 4) *(uint32_t *)d = *(const uint32_t *)s;
    }
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int v, size_t n) {
    uint8_t *d = dst;
    while (n--) *d++ = (uint8_t)v;
    return dst;
}

/* Bytes of stack never written since reset (the paint is intact). */
uint32_t ern_stack_unused(void) {
    const uint32_t *p = &_stack_bottom;
    while (p < &_stack_top && *p == ERN_STACK_PAINT) ++p;
    return (uint32_t)((const uint8_t *)p - (const uint8_t *)&_stack_bottom);
}

uint32_t ern_stack_size(void) { return (uint32_t)((uint8_t *)&_stack_top - (uint8_t *)&_stack_bottom); }
