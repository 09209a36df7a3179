// C (M, N) += A (M, L) · B (N, L)ᵀ for the Winograd weight gradients, whose sums run over
// many tiles (L = 8 images × tiles: 512 at 16×16, 1,568 at 28×28, 2,048 at 32×32) into small
// (O, C) blocks. OpenBLAS takes these through its packed path and copies both operands first;
// measured alone on AVX-512 (one thread), (32, 2048)·(2048, 32) ran at 47–74 GFLOP/s there and
// at 90–98 here, where each row pair is read straight from the operands.
//
// Every element is one sum with a fixed order, whatever block of C it falls in: sixteen lanes
// accumulate l ≡ lane (mod 16) with fused multiply-adds over the whole 16-float groups, the
// lanes are added in a fixed tree (8 + 8, 4 + 4, 2 + 2, 1 + 1), the tail l = 16·⌊L/16⌋ … L − 1
// follows one fmaf at a time in order, and the total is added to C. So the result does not
// depend on M, N, the blocking or the machine's vector width (only on L and the operands).
#include "CKernels.h"

#include <math.h>
#include <string.h>

typedef float sad_nt_v16 __attribute__((ext_vector_type(16)));
typedef float sad_nt_v8 __attribute__((ext_vector_type(8)));
typedef float sad_nt_v4 __attribute__((ext_vector_type(4)));
typedef float sad_nt_v2 __attribute__((ext_vector_type(2)));

static inline sad_nt_v16 sad_nt_load(const float *p) {
    sad_nt_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float sad_nt_lane_sum(sad_nt_v16 v) {
    sad_nt_v8 a = v.lo + v.hi;
    sad_nt_v4 b = a.lo + a.hi;
    sad_nt_v2 c = b.lo + b.hi;
    return c.x + c.y;
}

// One (rows, cols) block of C, rows and cols ≤ 4; inlined with constants for the 4 × 4
// interior so that the 16 accumulators, 4 rows of A and 4 of B stay in registers.
static inline __attribute__((always_inline)) void sad_nt_block(
    int rows, int cols, size_t l_count, const float *a, size_t lda, const float *b, size_t ldb,
    float *c, size_t ldc) {
    sad_nt_v16 acc[4][4];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) acc[i][j] = (sad_nt_v16)0;
    size_t l = 0;
    for (; l + 16 <= l_count; l += 16) {
        sad_nt_v16 av[4], bv[4];
        for (int i = 0; i < rows; i++) av[i] = sad_nt_load(a + i * lda + l);
        for (int j = 0; j < cols; j++) bv[j] = sad_nt_load(b + j * ldb + l);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) acc[i][j] = __builtin_elementwise_fma(av[i], bv[j], acc[i][j]);
    }
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            float s = sad_nt_lane_sum(acc[i][j]);
            for (size_t t = l; t < l_count; t++) s = fmaf(a[i * lda + t], b[j * ldb + t], s);
            c[i * ldc + j] += s;
        }
    }
}

void sad_sgemm_nt_accumulate(size_t m, size_t n, size_t l_count, const float *a, size_t lda, const float *b,
                             size_t ldb, float *c, size_t ldc) {
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        size_t j = 0;
        for (; j + 4 <= n; j += 4)
            sad_nt_block(4, 4, l_count, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
        for (; j < n; j++) sad_nt_block(4, 1, l_count, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
    }
    for (; i < m; i++) {
        size_t j = 0;
        for (; j + 4 <= n; j += 4)
            sad_nt_block(1, 4, l_count, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
        for (; j < n; j++) sad_nt_block(1, 1, l_count, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
    }
}
