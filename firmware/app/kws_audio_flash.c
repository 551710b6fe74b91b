/* board_audio_read() from a 16-bit PCM stream linked into flash (kws_pcm.S, generated: the WAV's
 * samples as .incbin between ern_kws_pcm and ern_kws_pcm_end). */
#include "kws_audio.h"

extern const int16_t ern_kws_pcm[], ern_kws_pcm_end[];
static const int16_t *next;

void board_audio_init(void) { next = ern_kws_pcm; }

int board_audio_read(int16_t *buf, int max_samples) {
    int n = 0;
    while (n < max_samples && next < ern_kws_pcm_end) buf[n++] = *next++;
    return n;
}
