/* What every edgernn firmware app may call on any board: semihosting output and exit, the stack
 * high-water mark (startup.c), and the UART of boards that have a driver (uart.c). The board files
 * themselves do not include it, so apps that bring their own declarations still build. */
#ifndef ERN_BOARD_H_
#define ERN_BOARD_H_

#include <stdint.h>

void ern_puts(const char *s);        /* semihosting SYS_WRITE0 (QEMU: its stdout/stderr) */
void ern_exit(int code);             /* semihosting SYS_EXIT_EXTENDED with a real status */
uint32_t ern_stack_unused(void);     /* bytes of the painted stack never written */
uint32_t ern_stack_size(void);

void ern_uart_init(void);            /* boards with a UART driver (Board.uart in boards.py) */
void ern_uart_put(char c);
char ern_uart_get(void);

#endif
