/* board_audio_read() over the UART (boards/uart.c): audio streamed by the host, and the kws app's
 * output lines sent back on the same link. For recorded audio on a real board (or QEMU's UART);
 * at 115200 baud the link carries 5.7 kB/s, less than real-time 16 kHz PCM (32 kB/s), so the app
 * simply waits for each chunk (a microphone driver would not).
 *
 * Protocol (commands end with '%', replies are lines; the style of the serial benchmark app):
 *   name%      -> m-name-edgernn-kws-<board>, m-ready
 *   start%     -> m-kws-[rate=R,hop=H,frames=F,features=N,classes=C], m-ready; the stream starts
 *   then, for every chunk the app wants: the app prints m-audio-[N] and the host answers
 *   a K%       followed by exactly 2K bytes: K <= N samples, int16 little-endian; K = 0 ends the stream.
 * Anything else: m-error-[...]. The app's own lines (EDGERNN-KWS-...) come in between.
 */
#include "ern_frontend.h"
#include "kws_audio.h"
#include "kws_config.h"
#include "text.h"

void ern_uart_init(void);
void ern_uart_put(char c);
char ern_uart_get(void);

void ern_kws_puts(const char *s) {
    for (; *s; ++s) {
        if (*s == '\n') ern_uart_put('\r');
        ern_uart_put(*s);
    }
}

static int read_command(char *buf, int size) { /* up to '%'; 0 if it did not fit */
    int n = 0;
    for (;;) {
        const char c = ern_uart_get();
        if (c == '%') { buf[n < size ? n : size - 1] = 0; return n < size; }
        if (c == '\r' || c == '\n') continue;
        if (n < size) buf[n] = c;
        ++n;
    }
}

static int same(const char *a, const char *b) { while (*a && *a == *b) { ++a; ++b; } return *a == *b; }

void board_audio_init(void) {
    char cmd[32], line[96];
    ern_uart_init();
    ern_kws_puts("m-ready\n");
    for (;;) {
        if (!read_command(cmd, sizeof cmd)) {
            ern_kws_puts("m-error-[command too long]\nm-ready\n");
        } else if (same(cmd, "name")) {
            ern_kws_puts("m-name-edgernn-kws-" EDGERNN_BOARD "\nm-ready\n");
        } else if (same(cmd, "start")) {
            char *p = line;
            for (const char *s = "m-kws-[rate="; *s;) *p++ = *s++;
            p = ern_put_u(p, ERN_FE_SAMPLE_RATE);
            for (const char *s = ",hop="; *s;) *p++ = *s++;
            p = ern_put_u(p, ERN_FE_HOP);
            for (const char *s = ",frames="; *s;) *p++ = *s++;
            p = ern_put_u(p, ERN_FE_FRAMES);
            for (const char *s = ",features="; *s;) *p++ = *s++;
            p = ern_put_u(p, ERN_FE_FEATURES);
            for (const char *s = ",classes="; *s;) *p++ = *s++;
            p = ern_put_u(p, ERN_KWS_CLASSES);
            for (const char *s = "]\nm-ready\n"; *s;) *p++ = *s++;
            *p = 0;
            ern_kws_puts(line);
            return;
        } else {
            ern_kws_puts("m-error-[unknown command]\nm-ready\n");
        }
    }
}

int board_audio_read(int16_t *buf, int max_samples) {
    char cmd[32], line[32];
    char *p = line;
    for (const char *s = "m-audio-["; *s;) *p++ = *s++;
    p = ern_put_u(p, (uint32_t)max_samples);
    *p++ = ']';
    *p++ = '\n';
    *p = 0;
    for (;;) {
        ern_kws_puts(line);
        if (!read_command(cmd, sizeof cmd) || cmd[0] != 'a' || cmd[1] != ' ') {
            ern_kws_puts("m-error-[expected: a K%]\n");
            continue;
        }
        uint32_t k = 0;
        const char *s = cmd + 2;
        if (*s < '0' || *s > '9') { ern_kws_puts("m-error-[expected: a K%]\n"); continue; }
        while (*s >= '0' && *s <= '9' && k <= 1000000u) k = k * 10 + (uint32_t)(*s++ - '0');
        if (*s || k > (uint32_t)max_samples) { ern_kws_puts("m-error-[bad sample count]\n"); continue; }
        for (uint32_t i = 0; i < k; ++i) {
            const uint8_t lo = (uint8_t)ern_uart_get(), hi = (uint8_t)ern_uart_get();
            buf[i] = (int16_t)(uint16_t)(lo | (uint16_t)hi << 8);
        }
        return (int)k;
    }
}
