// Strided gather into a contiguous buffer: the kernel behind axis permutations
// (Sources/Tensors/Permute.swift). A tensor op whose rows are short (the DiT's attention
// heads are 12 floats) spends its time on index bookkeeping, not on the copy; this loop does
// the bookkeeping once per row and copies unit-stride rows with a plain loop that vectorises.
#include "CKernels.h"

void sad_strided_gather(float *restrict dst, const float *restrict src, int rank, const int64_t *shape,
                        const int64_t *strides) {
    if (rank == 0) { dst[0] = src[0]; return; }
    int64_t index[SAD_MAX_GATHER_RANK] = {0};
    const int64_t inner = shape[rank - 1], step = strides[rank - 1];
    int64_t rows = 1;
    for (int a = 0; a < rank - 1; a++) rows *= shape[a];
    if (inner == 0) return;
    const float *from = src;
    for (int64_t r = 0; r < rows; r++) {
        if (step == 1)
            for (int64_t j = 0; j < inner; j++) dst[j] = from[j];
        else
            for (int64_t j = 0; j < inner; j++) dst[j] = from[j * step];
        dst += inner;
        // Next row: the odometer over the outer axes.
        for (int a = rank - 2; a >= 0; a--) {
            from += strides[a];
            if (++index[a] < shape[a]) break;
            from -= strides[a] * shape[a];
            index[a] = 0;
        }
    }
}

// A hint to bring n floats at p into the caches (one prefetch per 64-byte line); no effect on
// any result.
void sad_prefetch(const float *p, size_t n) {
    for (size_t i = 0; i < n; i += 16) __builtin_prefetch(p + i, 0, 2);
}
