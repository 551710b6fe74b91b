/* Where the kws app gets its audio: the board-audio interface.
 *
 * A real microphone driver implements these two functions; the app calls board_audio_read()
 * in a loop and runs the front end on whatever it returns, so any block size works (the app asks
 * for one hop, ERN_FE_HOP samples, at a time). Samples are 16 kHz (ERN_FE_SAMPLE_RATE) mono int16.
 *
 * Shipped implementations:
 *   kws_audio_flash.c   a WAV linked into flash (QEMU runs, tests, bench), ends after the last sample
 *   kws_audio_serial.c  audio streamed by the host over the UART (`edgernn firmware stream`)
 *
 * Worked example (docs/guides/firmware.md, "Keyword spotting on the device"): an Arduino Nano 33 BLE Sense
 * (nRF52840, Cortex-M4F) with its MP34DT05 PDM microphone: the nRF PDM peripheral (16 kHz, mono,
 * EasyDMA) fills two ping-pong buffers of ERN_FE_HOP samples; its END interrupt marks a buffer
 * full, and board_audio_read() waits for one, copies it out and hands the peripheral the other.
 */
#ifndef ERN_KWS_AUDIO_H_
#define ERN_KWS_AUDIO_H_

#include <stdint.h>

/* Start the audio source (clocks, DMA, microphone power). */
void board_audio_init(void);

/* Block until up to max_samples samples are available and copy them into buf. Returns the
 * number copied (> 0), 0 at the end of the stream (a file; a microphone never ends), or < 0 on
 * an error (e.g. the DMA overran: samples were lost and the stream's timing is broken). */
int board_audio_read(int16_t *buf, int max_samples);

#endif
