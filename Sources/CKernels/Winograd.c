// Winograd F(2x2, 3x3) tile transforms (see Sources/Tensors/WinogradConv.swift for the
// algorithm). Written in C because every loop here runs across a row of tiles and must
// vectorise: in Swift, the overflow checks on index arithmetic kept these loops scalar
// (measured: the transforms took longer than the GEMMs they feed).
#include "CKernels.h"

void sad_winograd_input(const float *restrict plane, int h, int w, float *restrict v, size_t v_stride,
                        float *restrict scratch) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2, half = tw + 1, ph = 2 * th + 2;
    float *restrict even = scratch, *restrict odd = scratch + (size_t)ph * half;
    float *restrict rows = odd + (size_t)ph * half;
    // Padded row y + 1 holds input row y; even[j] is input column 2j - 1, odd[j] column 2j.
    for (int y = 0; y < h; y++) {
        const float *src = plane + (size_t)y * w;
        float *e = even + (size_t)(y + 1) * half, *d = odd + (size_t)(y + 1) * half;
        for (int k = 0; k < w / 2; k++) { d[k] = src[2 * k]; e[k + 1] = src[2 * k + 1]; }
        if (w % 2 == 1) d[w / 2] = src[w - 1];
    }
    for (int ty = 0; ty < th; ty++) {
        // B^T d over padded rows 2ty .. 2ty + 3, for the even and the odd columns.
        for (int parity = 0; parity < 2; parity++) {
            const float *r0 = (parity == 0 ? even : odd) + (size_t)(2 * ty) * half;
            const float *r1 = r0 + half, *r2 = r1 + half, *r3 = r2 + half;
            float *q = rows + (size_t)(4 * parity) * half;
            for (int k = 0; k < half; k++) {
                q[k] = r0[k] - r2[k];
                q[half + k] = r1[k] + r2[k];
                q[2 * half + k] = r2[k] - r1[k];
                q[3 * half + k] = r1[k] - r3[k];
            }
        }
        // (B^T d) B: row k of the transformed tiles gives elements 4k .. 4k + 3.
        for (int k = 0; k < 4; k++) {
            const float *e = rows + (size_t)k * half, *d = rows + (size_t)(4 + k) * half;
            float *v0 = v + (size_t)(4 * k) * v_stride + (size_t)ty * tw;
            float *v1 = v0 + v_stride, *v2 = v1 + v_stride, *v3 = v2 + v_stride;
            for (int tx = 0; tx < tw; tx++) {
                v0[tx] = e[tx] - e[tx + 1];
                v1[tx] = d[tx] + e[tx + 1];
                v2[tx] = e[tx + 1] - d[tx];
                v3[tx] = d[tx] - d[tx + 1];
            }
        }
    }
}

void sad_winograd_output(const float *restrict m, size_t m_stride, int h, int w, float bias,
                         float *restrict dst, float *restrict scratch) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    float *restrict top = scratch, *restrict bottom = scratch + 2 * tw;
    for (int ty = 0; ty < th; ty++) {
        const float *t = m + (size_t)ty * tw;
        const float *m0 = t, *m1 = t + m_stride, *m2 = t + 2 * m_stride, *m3 = t + 3 * m_stride;
        const float *m4 = t + 4 * m_stride, *m5 = t + 5 * m_stride, *m6 = t + 6 * m_stride, *m7 = t + 7 * m_stride;
        const float *m8 = t + 8 * m_stride, *m9 = t + 9 * m_stride, *m10 = t + 10 * m_stride, *m11 = t + 11 * m_stride;
        const float *m12 = t + 12 * m_stride, *m13 = t + 13 * m_stride, *m14 = t + 14 * m_stride, *m15 = t + 15 * m_stride;
        for (int tx = 0; tx < tw; tx++) {
            // A^T M (rows 0 + 1 + 2 and 1 - 2 - 3), then . A (the same on columns).
            float a00 = m0[tx] + m4[tx] + m8[tx], a01 = m1[tx] + m5[tx] + m9[tx];
            float a02 = m2[tx] + m6[tx] + m10[tx], a03 = m3[tx] + m7[tx] + m11[tx];
            float a10 = m4[tx] - m8[tx] - m12[tx], a11 = m5[tx] - m9[tx] - m13[tx];
            float a12 = m6[tx] - m10[tx] - m14[tx], a13 = m7[tx] - m11[tx] - m15[tx];
            top[2 * tx] = a00 + a01 + a02 + bias;
            top[2 * tx + 1] = a01 - a02 - a03 + bias;
            bottom[2 * tx] = a10 + a11 + a12 + bias;
            bottom[2 * tx + 1] = a11 - a12 - a13 + bias;
        }
        // The half-tile overhang of odd sizes is dropped.
        float *row = dst + (size_t)(2 * ty) * w;
        for (int x = 0; x < w; x++) row[x] = top[x];
        if (2 * ty + 1 < h) {
            row += w;
            for (int x = 0; x < w; x++) row[x] = bottom[x];
        }
    }
}
