/* The C mirror of edgernn/streaming/recognize.py; see kws_recognize.h for the rules. */
#include "kws_recognize.h"

int ern_recognizer_init(ern_recognizer_t *r, int num_classes, const uint8_t *ignore, uint32_t window_ms,
                        uint32_t threshold, uint32_t suppression_ms, uint32_t min_count) {
    if (num_classes < 1 || num_classes > ERN_KWS_MAX_CLASSES || min_count < 1 || min_count > ERN_KWS_MAX_RESULTS ||
        threshold > 255)
        return -1;
    r->num_classes = num_classes;
    for (int c = 0; c < ERN_KWS_MAX_CLASSES; ++c) r->ignore[c] = c < num_classes ? ignore[c] : 1;
    r->window_ms = window_ms;
    r->threshold = threshold;
    r->suppression_ms = suppression_ms;
    r->min_count = min_count;
    r->head = r->count = r->fired = 0;
    r->last_fire_ms = 0;
    return 0;
}

int ern_recognizer_update(ern_recognizer_t *r, uint32_t time_ms, const uint8_t *scores, int *label, int *score) {
    /* 1. Dropping the oldest before appending when full keeps the same newest 64 as Python's
     * append-then-drop. */
    if (r->count == ERN_KWS_MAX_RESULTS) {
        r->head = (r->head + 1) % ERN_KWS_MAX_RESULTS;
        r->count -= 1;
    }
    const int slot = (r->head + r->count) % ERN_KWS_MAX_RESULTS;
    r->times[slot] = time_ms;
    for (int c = 0; c < r->num_classes; ++c) r->scores[slot][c] = scores[c];
    r->count += 1;
    while (r->count > 0 && time_ms - r->times[r->head] >= r->window_ms) {
        r->head = (r->head + 1) % ERN_KWS_MAX_RESULTS;
        r->count -= 1;
    }
    /* 2. */
    if ((uint32_t)r->count < r->min_count) return 0;
    /* 3, 4. */
    int top = 0;
    uint32_t top_avg = 0;
    for (int c = 0; c < r->num_classes; ++c) {
        uint32_t sum = 0;
        for (int i = 0, k = r->head; i < r->count; ++i, k = (k + 1) % ERN_KWS_MAX_RESULTS) sum += r->scores[k][c];
        const uint32_t avg = sum / (uint32_t)r->count;
        if (c == 0 || avg > top_avg) { top = c; top_avg = avg; }
    }
    /* 5. */
    if (r->ignore[top] || top_avg < r->threshold) return 0;
    if (r->fired && time_ms - r->last_fire_ms < r->suppression_ms) return 0;
    r->fired = 1;
    r->last_fire_ms = time_ms;
    *label = top;
    *score = (int)top_avg;
    return 1;
}
