/* UART drivers for the serial app: one per peripheral family, picked at build time.
 *   ERN_UART_CMSDK  Arm CMSDK APB UART (mps2 boards)
 *   ERN_UART_STM32  STM32F4 USART1 on PA9/PA10 (32F429IDISCOVERY virtual COM port) or, at 0x40004400,
 *                   USART2 on PA2/PA3 (Nucleo-64 virtual COM port); QEMU netduinoplus2
 *   ERN_UART_NRF51  nRF51 UART on P0.24/P0.25 (BBC micro:bit v1 USB serial; QEMU microbit)
 * ERN_UART_BASE is the peripheral's address. 115200 8N1 from the reset clock (no PLL set-up), so the
 * same image runs in QEMU and on the board. */
#include <stdint.h>

#define REG(offset) (*(volatile uint32_t *)(ERN_UART_BASE + (offset)))

#if defined(ERN_UART_CMSDK)
void ern_uart_init(void) {
    REG(0x10) = 16; /* BAUDDIV */
    REG(0x08) = 3;  /* CTRL: TX and RX enable */
}
void ern_uart_put(char c) {
    while (REG(0x04) & 1u) {} /* STATE: TX buffer full */
    REG(0x00) = (uint8_t)c;
}
char ern_uart_get(void) {
    while (!(REG(0x04) & 2u)) {} /* STATE: RX buffer full */
    return (char)REG(0x00);
}

#elif defined(ERN_UART_STM32)
#define RCC_AHB1ENR (*(volatile uint32_t *)0x40023830u)
#define RCC_APB1ENR (*(volatile uint32_t *)0x40023840u)
#define RCC_APB2ENR (*(volatile uint32_t *)0x40023844u)
#define GPIOA_MODER (*(volatile uint32_t *)0x40020000u)
#define GPIOA_AFRL (*(volatile uint32_t *)0x40020020u)
#define GPIOA_AFRH (*(volatile uint32_t *)0x40020024u)
void ern_uart_init(void) {
    RCC_AHB1ENR |= 1u << 0;                                         /* GPIOA clock */
#if ERN_UART_BASE == 0x40004400u                                    /* USART2 on PA2/PA3 (Nucleo-64 VCP) */
    RCC_APB1ENR |= 1u << 17;
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 4)) | (0xAu << 4);       /* PA2, PA3: alternate function */
    GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFu << 8)) | (0x77u << 8);       /* AF7: USART2 */
#else                                                               /* USART1 on PA9/PA10 */
    RCC_APB2ENR |= 1u << 4;
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 18)) | (0xAu << 18);     /* PA9, PA10: alternate function */
    GPIOA_AFRH = (GPIOA_AFRH & ~(0xFFu << 4)) | (0x77u << 4);       /* AF7: USART1 */
#endif
    REG(0x08) = 0x8B;                                               /* BRR: 16 MHz HSI / 115200 */
    REG(0x0C) = (1u << 13) | (1u << 3) | (1u << 2);                 /* CR1: UE, TE, RE */
}
void ern_uart_put(char c) {
    while (!(REG(0x00) & (1u << 7))) {} /* SR.TXE */
    REG(0x04) = (uint8_t)c;
}
char ern_uart_get(void) {
    while (!(REG(0x00) & (1u << 5))) {} /* SR.RXNE */
    return (char)REG(0x04);
}

#elif defined(ERN_UART_NRF51)
void ern_uart_init(void) {
    REG(0x50C) = 24;          /* PSELTXD: P0.24 */
    REG(0x514) = 25;          /* PSELRXD: P0.25 */
    REG(0x524) = 0x01D7E000u; /* BAUDRATE: 115200 */
    REG(0x500) = 4;           /* ENABLE */
    REG(0x008) = 1;           /* TASKS_STARTTX */
    REG(0x000) = 1;           /* TASKS_STARTRX */
}
void ern_uart_put(char c) {
    REG(0x11C) = 0; /* EVENTS_TXDRDY */
    REG(0x51C) = (uint8_t)c;
    while (!REG(0x11C)) {}
}
char ern_uart_get(void) {
    while (!REG(0x108)) {} /* EVENTS_RXDRDY */
    REG(0x108) = 0;
    return (char)REG(0x518);
}

#else
#error "define ERN_UART_CMSDK, ERN_UART_STM32 or ERN_UART_NRF51"
#endif
