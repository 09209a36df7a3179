// im2col and its adjoint col2im for one image (see Sources/Tensors/Conv2d.swift). In C
// because the rows are short (8 or 4 floats for the U-Net's stride-2 downsampling
// convolutions) and strided: in Swift the per-row overhead and the overflow-checked strided
// index kept these loops scalar, and they took 6% of a training step. Same loop order and the
// same additions as the Swift loops they replace, so the results are bitwise the same.
#include "CKernels.h"

void sad_im2col(const float *restrict x, int channels, int h, int w, int kh, int kw, int stride, int pad,
                float *restrict cols, size_t ld, float *restrict padded) {
    const int ho = (h + 2 * pad - kh) / stride + 1, wo = (w + 2 * pad - kw) / stride + 1;
    const int ph = h + 2 * pad, pw = w + 2 * pad;
    if (pad > 0)
        for (int i = 0; i < ph * pw; i++) padded[i] = 0;
    for (int c = 0; c < channels; c++) {
        const float *plane = x + (size_t)c * h * w;
        for (int y = 0; y < h; y++) {
            const float *src = plane + (size_t)y * w;
            float *dst = padded + (size_t)(y + pad) * pw + pad;
            for (int j = 0; j < w; j++) dst[j] = src[j];
        }
        for (int ki = 0; ki < kh; ki++)
            for (int kj = 0; kj < kw; kj++) {
                float *dst = cols + ((size_t)(c * kh + ki) * kw + kj) * ld;
                for (int oy = 0; oy < ho; oy++) {
                    const float *row = padded + (size_t)(oy * stride + ki) * pw + kj;
                    float *d = dst + (size_t)oy * wo;
                    if (stride == 1)
                        for (int ox = 0; ox < wo; ox++) d[ox] = row[ox];
                    else if (stride == 2)
                        for (int ox = 0; ox < wo; ox++) d[ox] = row[2 * ox];
                    else
                        for (int ox = 0; ox < wo; ox++) d[ox] = row[ox * stride];
                }
            }
    }
}

// The output positions o with 0 <= o*stride + k - pad < extent, as [*low, *high).
static void valid_range(int k, int extent, int out_extent, int stride, int pad, int *low, int *high) {
    const int low_num = pad - k, high_num = extent - 1 + pad - k;
    const int lo = low_num <= 0 ? 0 : (low_num + stride - 1) / stride;
    int hi = high_num < 0 ? -1 : high_num / stride;
    if (hi > out_extent - 1) hi = out_extent - 1;
    *low = lo;
    *high = lo <= hi ? hi + 1 : lo;
}

void sad_col2im(const float *restrict cols, int channels, int h, int w, int kh, int kw, int stride, int pad,
                float *restrict dx) {
    const int ho = (h + 2 * pad - kh) / stride + 1, wo = (w + 2 * pad - kw) / stride + 1;
    const size_t positions = (size_t)ho * wo;
    for (size_t i = 0; i < (size_t)channels * h * w; i++) dx[i] = 0;
    for (int c = 0; c < channels; c++) {
        float *plane = dx + (size_t)c * h * w;
        for (int ki = 0; ki < kh; ki++) {
            int y0, y1;
            valid_range(ki, h, ho, stride, pad, &y0, &y1);
            for (int kj = 0; kj < kw; kj++) {
                int x0, x1;
                valid_range(kj, w, wo, stride, pad, &x0, &x1);
                const float *src = cols + ((size_t)(c * kh + ki) * kw + kj) * positions;
                for (int oy = y0; oy < y1; oy++) {
                    const float *s = src + (size_t)oy * wo;
                    // Offsets may be negative before the first valid column: index from the plane.
                    float *row = plane + (ptrdiff_t)(oy * stride + ki - pad) * w;
                    for (int ox = x0; ox < x1; ox++) row[ox * stride + kj - pad] += s[ox];
                }
            }
        }
    }
}
