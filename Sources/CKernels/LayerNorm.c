// Layer normalisation over rows of e floats (see Sources/Tensors/LayerNorm.swift), with the
// statistics in double. Each row's sums run in index order, exactly as the scalar Swift loop
// they replace, so the results are bitwise the same; the speed comes from running four rows
// side by side (four independent add chains instead of one: a row's sum is bound by the
// latency of the double add, and the DiT's rows are only 48 long).
#include "CKernels.h"

// No fused multiply-adds: d * d + v must round twice, as in the Swift code.
#pragma clang fp contract(off)

// The statistics of one row (or of four rows side by side, as ROW(0..3)): each sum runs in
// index order. Written out per lane count so that the accumulators stay in registers.
#define LN_FORWARD_ROWS(LANES)                                                                \
    do {                                                                                      \
        double mean[LANES] = {0}, variance[LANES] = {0}, inv[LANES];                          \
        for (size_t i = 0; i < e; i++)                                                        \
            for (int l = 0; l < LANES; l++) mean[l] += (double)x[(r + l) * e + i];            \
        for (int l = 0; l < LANES; l++) mean[l] /= (double)e;                                 \
        for (size_t i = 0; i < e; i++)                                                        \
            for (int l = 0; l < LANES; l++) {                                                 \
                const double d = (double)x[(r + l) * e + i] - mean[l];                        \
                variance[l] += d * d;                                                         \
            }                                                                                 \
        for (int l = 0; l < LANES; l++) {                                                     \
            variance[l] /= (double)e;                                                         \
            inv[l] = 1 / __builtin_sqrt(variance[l] + (double)eps);                           \
            inv_std[r + l] = (float)inv[l];                                                   \
            const float *row = x + (r + l) * e;                                               \
            float *out = xhat + (r + l) * e;                                                  \
            for (size_t i = 0; i < e; i++) out[i] = (float)(((double)row[i] - mean[l]) * inv[l]); \
        }                                                                                     \
    } while (0)

void sad_layernorm_forward(const float *restrict x, size_t rows, size_t e, float eps, float *restrict xhat,
                           float *restrict inv_std) {
    for (size_t r = 0; r < rows; r++) LN_FORWARD_ROWS(1);
}

#define LN_BACKWARD_ROWS(LANES)                                                               \
    do {                                                                                      \
        double mean_g[LANES] = {0}, mean_gh[LANES] = {0};                                     \
        for (size_t i = 0; i < e; i++) {                                                      \
            const double w = weight ? (double)weight[i] : 1.0;                                \
            for (int l = 0; l < LANES; l++) {                                                 \
                const double g = (double)dy[(r + l) * e + i] * w;                             \
                mean_g[l] += g;                                                               \
                mean_gh[l] += g * (double)xhat[(r + l) * e + i];                              \
            }                                                                                 \
        }                                                                                     \
        /* The parameter gradients add the rows in order, as the scalar loop did. */          \
        if (d_gamma)                                                                          \
            for (int l = 0; l < LANES; l++)                                                   \
                for (size_t i = 0; i < e; i++) {                                              \
                    const double g = (double)dy[(r + l) * e + i];                             \
                    d_gamma[i] += g * (double)xhat[(r + l) * e + i];                          \
                    d_beta[i] += g;                                                           \
                }                                                                             \
        for (int l = 0; l < LANES; l++) {                                                     \
            const double mg = mean_g[l] / (double)e, mgh = mean_gh[l] / (double)e;            \
            const double inv = (double)inv_std[r + l];                                        \
            const float *g_row = dy + (r + l) * e, *h_row = xhat + (r + l) * e;               \
            float *out = dx + (r + l) * e;                                                    \
            if (weight)                                                                       \
                for (size_t i = 0; i < e; i++) {                                              \
                    const double g = (double)g_row[i] * (double)weight[i];                    \
                    out[i] = (float)((g - mg - (double)h_row[i] * mgh) * inv);                \
                }                                                                             \
            else                                                                              \
                for (size_t i = 0; i < e; i++) {                                              \
                    const double g = (double)g_row[i] * 1.0;                                  \
                    out[i] = (float)((g - mg - (double)h_row[i] * mgh) * inv);                \
                }                                                                             \
        }                                                                                     \
    } while (0)

void sad_layernorm_backward(const float *restrict xhat, const float *restrict dy, const float *restrict inv_std,
                            const float *restrict weight, size_t rows, size_t e, float *restrict dx,
                            double *restrict d_gamma, double *restrict d_beta) {
    for (size_t r = 0; r < rows; r++) LN_BACKWARD_ROWS(1);
}
