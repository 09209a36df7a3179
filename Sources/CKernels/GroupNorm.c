// Group normalisation statistics and x-hat (see Sources/Tensors/GroupNorm.swift). Each
// group's sums run in exactly the order of the Swift loops they replace (four accumulators,
// element i to accumulator i mod 4, the tail to accumulator 0, combined as (a0 + a1) +
// (a2 + a3)), so the results are bitwise the same (the Swift loops are the reference in
// Tests/TensorsTests/GroupNormKernelTests.swift). The speed comes from summing four or eight
// groups side by side: one group's four-lane sum is a chain of dependent double adds, bound by
// their latency (the U-Net's groups are single 16x16, 8x8 or 4x4 channels).
#include "CKernels.h"

// No fused multiply-adds: d * d + v must round twice, as in the Swift code.
#pragma clang fp contract(off)

typedef double v4d __attribute__((ext_vector_type(4)));
typedef float v4f __attribute__((ext_vector_type(4), aligned(4)));

static inline v4d load4(const float *p) { return __builtin_convertvector(*(const v4f *)p, v4d); }

static inline double combine(v4d a) { return (a[0] + a[1]) + (a[2] + a[3]); }

// LANES groups starting at group g (consecutive, `count` floats each).
#define GROUP_MOMENTS(LANES)                                                                 \
    do {                                                                                     \
        const float *p[LANES];                                                               \
        v4d s[LANES], v[LANES];                                                              \
        double mu[LANES];                                                                    \
        for (int l = 0; l < LANES; l++) { p[l] = x + (g + l) * count; s[l] = 0; v[l] = 0; }  \
        size_t i = 0;                                                                        \
        for (; i + 4 <= count; i += 4)                                                       \
            for (int l = 0; l < LANES; l++) s[l] += load4(p[l] + i);                         \
        for (; i < count; i++)                                                               \
            for (int l = 0; l < LANES; l++) s[l][0] += (double)p[l][i];                      \
        for (int l = 0; l < LANES; l++) mu[l] = combine(s[l]) / (double)count;               \
        for (i = 0; i + 4 <= count; i += 4)                                                  \
            for (int l = 0; l < LANES; l++) {                                                \
                const v4d d = load4(p[l] + i) - mu[l];                                       \
                v[l] += d * d;                                                               \
            }                                                                                \
        for (; i < count; i++)                                                               \
            for (int l = 0; l < LANES; l++) {                                                \
                const double d = (double)p[l][i] - mu[l];                                    \
                v[l][0] += d * d;                                                            \
            }                                                                                \
        for (int l = 0; l < LANES; l++) {                                                    \
            mean[g + l] = mu[l];                                                             \
            variance[g + l] = combine(v[l]) / (double)count;                                 \
        }                                                                                    \
    } while (0)

void sad_group_moments(const float *restrict x, size_t count, size_t groups, double *restrict mean,
                       double *restrict variance) {
    // Eight groups side by side where there are eight: on 8x8 and 4x4 planes, where a group's
    // chains are short, 10-20% faster than four (32 groups, one core); no change on 16x16,
    // which is bound by the float-to-double conversions. Each group's own chain, and so its
    // bits, is the same whatever the lane count.
    size_t g = 0;
    for (; g + 8 <= groups; g += 8) GROUP_MOMENTS(8);
    for (; g + 4 <= groups; g += 4) GROUP_MOMENTS(4);
    for (; g < groups; g++) GROUP_MOMENTS(1);
}

void sad_group_normalize(const float *restrict x, size_t n, double mean, double inv, float *restrict xhat) {
    for (size_t i = 0; i < n; i++) xhat[i] = (float)(((double)x[i] - mean) * inv);
}

// The backward pass's per-plane sums (sum g, sum g h) in the order of the replaced Swift loop:
// element i to lane i mod 4 (the tail too), lanes combined as (a0 + a1) + (a2 + a3); four
// planes side by side.
#define GRADIENT_SUMS(LANES)                                                                 \
    do {                                                                                     \
        v4d sg[LANES], sgh[LANES];                                                           \
        for (int l = 0; l < LANES; l++) { sg[l] = 0; sgh[l] = 0; }                           \
        size_t i = 0;                                                                        \
        for (; i + 4 <= n; i += 4)                                                           \
            for (int l = 0; l < LANES; l++) {                                                \
                const v4d gv = load4(g + (q + l) * n + i), hv = load4(h + (q + l) * n + i);  \
                sg[l] += gv;                                                                 \
                sgh[l] += gv * hv;                                                           \
            }                                                                                \
        for (; i < n; i++)                                                                   \
            for (int l = 0; l < LANES; l++) {                                                \
                const double gv = (double)g[(q + l) * n + i], hv = (double)h[(q + l) * n + i]; \
                sg[l][i % 4] += gv;                                                          \
                sgh[l][i % 4] += gv * hv;                                                    \
            }                                                                                \
        for (int l = 0; l < LANES; l++) {                                                    \
            sum_g[q + l] = combine(sg[l]);                                                   \
            sum_gh[q + l] = combine(sgh[l]);                                                 \
        }                                                                                    \
    } while (0)

void sad_group_gradient_sums(const float *restrict g, const float *restrict h, size_t n, size_t planes,
                             double *restrict sum_g, double *restrict sum_gh) {
    size_t q = 0;
    for (; q + 4 <= planes; q += 4) GRADIENT_SUMS(4);
    for (; q < planes; q++) GRADIENT_SUMS(1);
}

void sad_group_norm_dx(const float *restrict g, const float *restrict h, size_t n, double gamma, double mean_g,
                       double mean_gh, double inv, float *restrict dx) {
    for (size_t i = 0; i < n; i++) dx[i] = (float)(((double)g[i] * gamma - mean_g - (double)h[i] * mean_gh) * inv);
}
