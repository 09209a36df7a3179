// Radix sort of float32 keys (ascending, IEEE total order for finite values): three LSD
// passes of 11 bits over the keys mapped to order-preserving unsigned integers. For the
// sliced-Wasserstein metrics, which sort 2·L columns of N projections (16,384 × 10,000 for
// D = 256), this is several times faster than a comparison sort.
#include "CKernels.h"
#include <string.h>

static inline uint32_t key_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    // Negative floats: flip all bits; positive: flip the sign bit.
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline float float_of(uint32_t k) {
    uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void sad_sort_floats(float *values, size_t n, uint32_t *scratch) {
    if (n < 2) return;
    uint32_t *a = scratch, *b = scratch + n;
    for (size_t i = 0; i < n; i++) a[i] = key_of(values[i]);
    size_t count[2048];
    for (int pass = 0; pass < 3; pass++) {
        const int shift = pass * 11;
        memset(count, 0, sizeof(count));
        for (size_t i = 0; i < n; i++) count[(a[i] >> shift) & 2047]++;
        size_t sum = 0;
        for (int d = 0; d < 2048; d++) { size_t c = count[d]; count[d] = sum; sum += c; }
        for (size_t i = 0; i < n; i++) b[count[(a[i] >> shift) & 2047]++] = a[i];
        uint32_t *t = a; a = b; b = t;
    }
    for (size_t i = 0; i < n; i++) values[i] = float_of(a[i]);
}
