/* What every edgernn firmware app may call on any board: semihosting output and exit, the stack
 * high-water mark (board_common.c; the start-up files paint the stack with ERN_STACK_PAINT), and the
 * UART of boards that have a driver (uart.c). */
#ifndef ERN_BOARD_H_
#define ERN_BOARD_H_

#include <stdint.h>

void ern_puts(const char *s);        /* semihosting SYS_WRITE0 (QEMU: its stdout/stderr) */
void ern_exit(int code);             /* semihosting SYS_EXIT_EXTENDED with a real status */
#define ERN_STACK_PAINT 0xC0FFEE11u /* start-up paints the stack with it at reset */
uint32_t ern_stack_unused(void);     /* bytes of the painted stack never written */
uint32_t ern_stack_size(void);

void ern_uart_init(void);            /* boards with a UART driver (Board.uart in boards.py) */
void ern_uart_put(char c);
char ern_uart_get(void);

#endif
