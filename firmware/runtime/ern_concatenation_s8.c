#include "ern_concatenation_s8.h"
#include "ern_support.h"

/* Equal quantization on every input and the output makes the op a copy (TFLite Micro's int8
 * concatenation copies bytes too): row-major order puts, per outer block, each input's chunk
 * after the previous one's. */
void ern_concatenation_s8(const ern_concatenation_params *p, const int8_t *const *inputs, int8_t *out) {
    for (int o = 0; o < p->outer; ++o) {
        for (int i = 0; i < p->n_inputs; ++i) {
            const int32_t chunk = p->chunk_bytes[i];
            memcpy(out, inputs[i] + (int32_t)o * chunk, (size_t)chunk);
            out += chunk;
        }
    }
}
