/* The fused int8 GRU step with Helium (MVE, Cortex-M55): 4 units per vector. Included by ern_gru_s8_inline.h when
 * ERN_MVE is set; ern_gru_step_inline then runs ern_gru_step_mve instead of the scalar loop.
 *
 * All 3 x 2 projections first (to int8 on the stack, 6 n bytes), then the element-wise ops.
 * Same arithmetic as the scalar kernel, lane by lane, so the same bits (tests/targets/test_firmware_m55.py):
 *   ern_smmulr(a, m)            -> VRMULH.S32: round(a * m / 2^32), ties up, the same 64-bit product
 *   ern_requant_fast's >> e     -> VSHL by -e (arithmetic, truncating like >>)
 *   ern_clamp_s8 after >> e     -> VQSHL by 24 - e, VSHR by 24 (ern_requant_s8_v; VMAX / VMIN past e = 24)
 *   table[v], lut[v]        -> gathers (VLDRW / VLDRB with offsets v + 128 from the table's first entry)
 * The dot products stay VMLADAVA (16 int8 products per instruction) against the int8 input held in
 * registers; the rows are the packed weights' rows (ERN_ROW_BLOCKS: row r at r * PAD4(cols)). */
#ifndef ERN_GRU_S8_MVE_H_
#define ERN_GRU_S8_MVE_H_
#include <arm_mve.h>

/* The wider projections' 4 rows (bias: the plain biases, ERN_ROW_BLOCKS): the sums from zero, then the bias. */
static ERN_ALWAYS_INLINE int32x4_t ern_gru_rows_v(const int8_t *w, int stride, const int8_t *x, int cols,
                                                   const int32_t *bias, int32_t m, int32_t round, int right) {
    static const int32_t zero[4] = {0, 0, 0, 0};
    const int32x4_t dot2 = ern_dot4_doubled_unrolled_v(w, stride, x, cols, zero);
    return ern_requant_s8_v(vaddq_s32(dot2, vshlq_n_s32(vld1q_s32(bias), 1)), m, round, right);
}

/* ern_gru_add on 4 lanes: the tabled operand's int32 from the table, the plain one times +-2^20. */
static ERN_ALWAYS_INLINE int32x4_t ern_gru_add_v(const ern_gru_add_params *p, int32x4_t a, int32x4_t b) {
    const int32x4_t tabled = p->tabled_second ? b : a, plain = p->tabled_second ? a : b;
    const uint32x4_t idx = vreinterpretq_u32_s32(vaddq_n_s32(tabled, 128));
    const int32x4_t t = vldrwq_gather_shifted_offset_s32(p->table - 128, idx);
    return ern_requant_s8_v(vmlaq_n_s32(t, plain, p->plain_scale), p->rq.multiplier, p->rq.round, -p->rq.shift);
}

static ERN_ALWAYS_INLINE int32x4_t ern_gru_mul_v(const ern_gru_mul_params *p, int32x4_t a, int32x4_t b) {
    const int32x4_t prod = vmulq_s32(vaddq_n_s32(a, p->a_offset), vaddq_n_s32(b, p->b_offset));
    return ern_requant_s8_half_v(prod, p->rq.multiplier, p->rq.round, -p->rq.shift); /* of 2 prod, VQRDMULH */
}

static ERN_ALWAYS_INLINE uint32x4_t ern_lut_index_v(int32x4_t v) {
    return vreinterpretq_u32_s32(vaddq_n_s32(v, 128));
}

static ERN_ALWAYS_INLINE void ern_gru_step_mve(const ern_gru_params *p, const int8_t *x, const int8_t *h,
                                               int8_t *h_out, int16_t *scratch) {
    const int n = p->n_state, ni = p->n_input, si = ERN_PAD4(ni), ss = n; /* row strides (n a multiple of 4) */
    int8_t *h8 = (int8_t *)scratch; /* the state the products read: h_out may overwrite h */
    for (int c = 0; c < n; c += 16) {
        const mve_pred16_t q = vctp8q((uint32_t)(n - c));
        vst1q_p_s8(h8 + c, vld1q_z_s8(h + c, q), q);
    }
    /* First every projection row, to int8 on the stack; then the element-wise ops 4 units at a time. */
    int8_t xi[3][n], hr[3][n];
    if (ni <= ERN_MVE_REG_COLS && n <= ERN_MVE_REG_COLS) {
        /* x and h in vectors for every row (ern_dot4_regs_doubled_v); the 3 gates' rows one after the other
         * (row r of gate g is row g n + r of the weights, its bias at g n + r, its result at xi/hr + g n + r) */
        int8x16_t xv[4], hv[4];
        ern_load_chunks_v(x, ni, xv);
        for (int r = 0; r < 3 * n; r += 4)
            vstrbq_s32(xi[0] + r, ern_requant_s8_half_v(ern_dot4_regs_v(p->input_weights + r * si, si, xv, ni,
                                                                        p->input_bias + r),
                                                        p->input_rq.multiplier, p->input_rq.round, -p->input_rq.shift));
        ern_load_chunks_v(h8, n, hv);
        for (int r = 0; r < 3 * n; r += 4)
            vstrbq_s32(hr[0] + r, ern_requant_s8_half_v(ern_dot4_regs_v(p->recurrent_weights + r * ss, ss, hv, n,
                                                                        p->recurrent_bias + r),
                                                        p->recurrent_rq.multiplier, p->recurrent_rq.round,
                                                        -p->recurrent_rq.shift));
    } else {  /* wider: the looped products, one gate and projection per loop (few live pointers: no spills) */
        const int32_t wi_gate = n * si, wr_gate = n * ss; /* bytes per gate */
        for (int g = 0; g < 3; ++g) {
            for (int j = 0; j < n; j += 4)
                vstrbq_s32(xi[g] + j, ern_gru_rows_v(p->input_weights + g * wi_gate + j * si, si, x, ni,
                                                     p->input_bias + g * n + j, p->input_rq.multiplier,
                                                     p->input_rq.round, -p->input_rq.shift));
            for (int j = 0; j < n; j += 4)
                vstrbq_s32(hr[g] + j, ern_gru_rows_v(p->recurrent_weights + g * wr_gate + j * ss, ss, h8, n,
                                                     p->recurrent_bias + g * n + j, p->recurrent_rq.multiplier,
                                                     p->recurrent_rq.round, -p->recurrent_rq.shift));
        }
    }
    for (int j = 0; j < n; j += 4) {
        const int32x4_t z = vreinterpretq_s32_u32(vldrbq_gather_offset_u32(
            p->lut_z - 128, ern_lut_index_v(ern_gru_add_v(&p->add_z, vldrbq_s32(xi[0] + j), vldrbq_s32(hr[0] + j)))));
        const int32x4_t r = vreinterpretq_s32_u32(vldrbq_gather_offset_u32(
            p->lut_r - 128, ern_lut_index_v(ern_gru_add_v(&p->add_r, vldrbq_s32(xi[1] + j), vldrbq_s32(hr[1] + j)))));
        const int32x4_t nn = vldrbq_gather_offset_s32(
            p->lut_n - 128, ern_lut_index_v(ern_gru_add_v(&p->add_n, vldrbq_s32(xi[2] + j),
                                                          ern_gru_mul_v(&p->mul_r, r, vldrbq_s32(hr[2] + j)))));
        const int32x4_t hv = vldrbq_s32(h8 + j);
        const int32x4_t s = p->complement ? ern_gru_add_v(&p->sub_h, nn, hv) : ern_gru_add_v(&p->sub_h, hv, nn);
        vstrbq_s32(h_out + j, ern_gru_add_v(&p->add_out, p->complement ? hv : nn, ern_gru_mul_v(&p->mul_z, z, s)));
    }
}

#endif
