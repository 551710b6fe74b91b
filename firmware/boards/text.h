/* Building the apps' output lines without printf (no libc in the firmware): each writer appends at
 * p and returns the new end; the caller owns the buffer and its size. */
#ifndef ERN_TEXT_H_
#define ERN_TEXT_H_

#include <stdint.h>

char *ern_put_s(char *p, const char *s);             /* a string, without its terminator */
char *ern_put_u(char *p, uint64_t v);                /* decimal */
char *ern_put_hex(char *p, const uint8_t *b, int n); /* two lowercase hex digits per byte */

/* " calib_ticks=C calib_instructions=I stack_used=S stack_size=Z": the tail every app's summary line
 * ends with, so the host turns ticks into instructions the same way for every app. */
char *ern_put_calibration_and_stack(char *p, uint64_t calib_ticks, uint64_t calib_instructions);

#endif
