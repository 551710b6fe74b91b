/* Posterior smoothing and suppression for streaming keyword spotting: the C mirror of
 * edgernn/streaming/recognize.py (TFLite Micro micro_speech's RecognizeCommands rules, integer
 * arithmetic only). Any change there must be made here; tests feed both the same score streams.
 *
 * Per model result (time_ms never decreasing):
 *  1. append (time_ms, scores); drop entries with time_ms - t >= window_ms (and beyond
 *     ERN_KWS_MAX_RESULTS, the oldest first);
 *  2. fewer than min_count entries: nothing fires;
 *  3. average each class with integer floor division;
 *  4. top class = highest average, lowest index on ties;
 *  5. fire when top is not ignored, its average >= threshold and nothing fired within the last
 *     suppression_ms (across all keywords).
 */
#ifndef ERN_KWS_RECOGNIZE_H_
#define ERN_KWS_RECOGNIZE_H_

#include <stdint.h>

#define ERN_KWS_MAX_RESULTS 64 /* recognize.py MAX_RESULTS */
#ifndef ERN_KWS_MAX_CLASSES
#define ERN_KWS_MAX_CLASSES 32
#endif

typedef struct {
    uint32_t window_ms, suppression_ms;
    uint32_t threshold, min_count;
    int num_classes;
    uint8_t ignore[ERN_KWS_MAX_CLASSES]; /* 1: never fires (_silence_, _unknown_) */
    /* history: a ring of the newest `count` results, the oldest at `head` */
    uint32_t times[ERN_KWS_MAX_RESULTS];
    uint8_t scores[ERN_KWS_MAX_RESULTS][ERN_KWS_MAX_CLASSES];
    int head, count;
    int fired;                /* 0 until the first detection */
    uint32_t last_fire_ms;
} ern_recognizer_t;

/* Returns 0 on success, -1 on bad parameters (num_classes out of 1..ERN_KWS_MAX_CLASSES,
 * min_count out of 1..ERN_KWS_MAX_RESULTS, threshold > 255). */
int ern_recognizer_init(ern_recognizer_t *r, int num_classes, const uint8_t *ignore, uint32_t window_ms,
                        uint32_t threshold, uint32_t suppression_ms, uint32_t min_count);

/* Feed one result; returns 1 and sets *label, *score (the averaged score) when a keyword fires. */
int ern_recognizer_update(ern_recognizer_t *r, uint32_t time_ms, const uint8_t *scores, int *label, int *score);

#endif
