/* edgernn serial benchmark app, modelled on MLPerf Tiny's runner protocol.
 *
 * Commands end with '%'; every reply line starts with "m-" and a command ends with "m-ready".
 *   name%            m-name-edgernn-<board>
 *   profile%         m-profile-[edgernn] m-model-[in=N,out=M]
 *   db load N%       m-[Expecting N bytes]            (start a new input of N bytes)
 *   db HEX%          m-load-done when N bytes arrived  (hex pairs, any number per command)
 *   infer N W%       W untimed warm-up runs, N timed:  m-cycles-[S] (m-dwt-cycles-[D]) m-ticks-[K]
 *                    m-calib-[C/I] m-instructions-[T]; S: SysTick ticks per inference, D: DWT cycles per
 *                    inference where the counter runs (real M3/M4/M7/M33), T: instructions (QEMU)
 *   results%         m-results-[o0,o1,...]             (int8 outputs of the last inference)
 * Unknown or malformed commands answer m-error-[...]. Timing is SysTick on the processor clock: under
 * qemu -icount it is calibrated to instructions, as in main.c; on a real board ticks are core cycles.
 * UART: boards/uart.c (CMSDK on mps2, USART1 on STM32F4, UART on nRF51).
 */
#include <stdint.h>

#include "model.h"

#include "board.h"
#include "timing.h"

static void put_c(char c) { ern_uart_put(c); }

static void put_s(const char *s) { while (*s) put_c(*s++); }

static void put_i(int64_t v) {
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    if (v < 0) put_c('-');
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    while (n) put_c(tmp[--n]);
}

static char get_c(void) { return ern_uart_get(); }

static int starts_with(const char *s, const char *prefix) {
    while (*prefix) if (*s++ != *prefix++) return 0;
    return 1;
}

static const char *parse_u(const char *s, uint32_t *out) {
    uint32_t v = 0;
    int digits = 0;
    while (*s == ' ') ++s;
    while (*s >= '0' && *s <= '9') { v = v * 10 + (uint32_t)(*s++ - '0'); ++digits; }
    *out = v;
    return digits ? s : 0;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int8_t input[EDGERNN_MODEL_INPUT_SIZE], output[EDGERNN_MODEL_OUTPUT_SIZE];
static uint32_t expected_bytes, loaded_bytes;

static void handle(const char *cmd) {
    uint32_t n, w;
    if (starts_with(cmd, "name")) {
        put_s("m-name-edgernn-" EDGERNN_BOARD "\r\n");
    } else if (starts_with(cmd, "profile")) {
        put_s("m-profile-[edgernn]\r\nm-model-[in=");
        put_i(EDGERNN_MODEL_INPUT_SIZE);
        put_s(",out=");
        put_i(EDGERNN_MODEL_OUTPUT_SIZE);
        put_s("]\r\n");
    } else if (starts_with(cmd, "db load")) {
        if (!parse_u(cmd + 7, &n) || n != EDGERNN_MODEL_INPUT_SIZE) {
            put_s("m-error-[db load expects the input size]\r\n");
        } else {
            expected_bytes = n;
            loaded_bytes = 0;
            put_s("m-[Expecting ");
            put_i(n);
            put_s(" bytes]\r\n");
        }
    } else if (starts_with(cmd, "db ")) {
        const char *p = cmd + 3;
        while (p[0] && p[1] && loaded_bytes < expected_bytes) {
            const int hi = hex_value(p[0]), lo = hex_value(p[1]);
            if (hi < 0 || lo < 0) { put_s("m-error-[bad hex]\r\n"); return; }
            input[loaded_bytes++] = (int8_t)(hi * 16 + lo);
            p += 2;
        }
        if (expected_bytes && loaded_bytes == expected_bytes) put_s("m-load-done\r\n");
    } else if (starts_with(cmd, "infer")) {
        const char *p = parse_u(cmd + 5, &n);
        if (!p || !parse_u(p, &w) || n == 0) { put_s("m-error-[infer N W]\r\n"); return; }
        if (loaded_bytes != EDGERNN_MODEL_INPUT_SIZE) { put_s("m-error-[no input loaded]\r\n"); return; }
        for (uint32_t i = 0; i < w; ++i) edgernn_model_invoke(input, output);
        uint64_t t0 = ern_now_ticks();
        ern_spin(1000000);
        const uint64_t calib = ern_now_ticks() - t0;
        ERN_BARRIER();
        const uint32_t c0 = ern_dwt_cycles();
        t0 = ern_now_ticks();
        ERN_BARRIER();
        for (uint32_t i = 0; i < n; ++i) edgernn_model_invoke(input, output);
        ERN_BARRIER();
        const uint64_t ticks = ern_now_ticks() - t0;
        const uint32_t dwt = ern_dwt_cycles() - c0;
        put_s("m-cycles-[");  /* ticks per inference: core cycles on a real board */
        put_i((int64_t)(ticks / n));
        if (dwt != 0 && ticks < 0xFFFFFFFFu) { /* a running DWT counter (real hardware), not wrapped */
            put_s("]\r\nm-dwt-cycles-[");
            put_i((int64_t)(dwt / n));
        }
        put_s("]\r\nm-ticks-[");
        put_i((int64_t)ticks);
        put_s("]\r\nm-calib-[");
        put_i((int64_t)calib);
        put_s("/2000000]\r\nm-instructions-[");
        put_i((int64_t)(ticks * 2000000u / (calib ? calib : 1) / n));
        put_s("]\r\n");
    } else if (starts_with(cmd, "results")) {
        put_s("m-results-[");
        for (int i = 0; i < EDGERNN_MODEL_OUTPUT_SIZE; ++i) {
            if (i) put_c(',');
            put_i(output[i]);
        }
        put_s("]\r\n");
    } else {
        put_s("m-error-[unknown command]\r\n");
    }
}

int main(void) {
    static char cmd[4 * EDGERNN_MODEL_INPUT_SIZE + 64];
    ern_uart_init();
    ern_timing_start();
    put_s("m-ready\r\n");
    for (;;) {
        uint32_t len = 0;
        for (;;) {
            const char c = get_c();
            if (c == '%') break;
            if (c == '\r' || c == '\n') continue;
            if (len < sizeof cmd - 1) cmd[len++] = c;
        }
        cmd[len] = 0;
        handle(cmd);
        put_s("m-ready\r\n");
    }
}
