#include "text.h"

#include "board.h"

/* noinline: -O2 would otherwise copy the 64-bit division loop into every caller in this file (flash) */
#define ERN_SMALL __attribute__((noinline))

ERN_SMALL char *ern_put_s(char *p, const char *s) {
    while (*s) *p++ = *s++;
    return p;
}

ERN_SMALL char *ern_put_u(char *p, uint64_t v) {
    char tmp[20]; /* 2^64 - 1 has 20 digits */
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

char *ern_put_hex(char *p, const uint8_t *b, int n) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < n; ++i) {
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    return p;
}

char *ern_put_calibration_and_stack(char *p, uint64_t calib_ticks, uint64_t calib_instructions) {
    p = ern_put_s(p, " calib_ticks=");
    p = ern_put_u(p, calib_ticks);
    p = ern_put_s(p, " calib_instructions=");
    p = ern_put_u(p, calib_instructions);
    p = ern_put_s(p, " stack_used=");
    p = ern_put_u(p, ern_stack_size() - ern_stack_unused());
    p = ern_put_s(p, " stack_size=");
    return ern_put_u(p, ern_stack_size());
}
