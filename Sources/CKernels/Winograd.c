// Winograd F(2x2, 3x3) tile transforms (see Sources/Tensors/WinogradConv.swift for the
// algorithm). Written in C because every loop here runs across a row of tiles and must
// vectorise: in Swift, the overflow checks on index arithmetic kept these loops scalar
// (measured: the transforms took longer than the GEMMs they feed).
#include "CKernels.h"
#include <string.h>

// Unaligned 8- and 4-lane vectors: tile rows start at arbitrary floats.
typedef float v8u __attribute__((ext_vector_type(8), aligned(4)));
typedef float v4u __attribute__((ext_vector_type(4), aligned(4)));

// One run of tiles tx .. tx + lanes - 1 of tile row ty, with T = v8u, v4u or float. The 4x4
// patch of tile tx has columns even[tx], odd[tx], even[tx + 1], odd[tx + 1] of padded rows
// 2ty .. 2ty + 3. B^T d combines rows (r0 - r2, r1 + r2, r2 - r1, r1 - r3), then . B
// combines the columns (c0 - c2, c1 + c2, c2 - c1, c1 - c3) of each resulting row k,
// giving elements 4k .. 4k + 3.
#define WINOGRAD_INPUT_RUN(T, tx)                                                            \
    do {                                                                                     \
        T ea[4], oa[4], eb[4], ob[4];                                                        \
        for (int r = 0; r < 4; r++) {                                                        \
            ea[r] = *(const T *)(e_rows[r] + (tx));                                          \
            eb[r] = *(const T *)(e_rows[r] + (tx) + 1);                                      \
            oa[r] = *(const T *)(o_rows[r] + (tx));                                          \
            ob[r] = *(const T *)(o_rows[r] + (tx) + 1);                                      \
        }                                                                                    \
        T c0[4] = {ea[0] - ea[2], ea[1] + ea[2], ea[2] - ea[1], ea[1] - ea[3]};              \
        T c1[4] = {oa[0] - oa[2], oa[1] + oa[2], oa[2] - oa[1], oa[1] - oa[3]};              \
        T c2[4] = {eb[0] - eb[2], eb[1] + eb[2], eb[2] - eb[1], eb[1] - eb[3]};              \
        T c3[4] = {ob[0] - ob[2], ob[1] + ob[2], ob[2] - ob[1], ob[1] - ob[3]};              \
        for (int k = 0; k < 4; k++) {                                                        \
            *(T *)(dst[4 * k] + (tx)) = c0[k] - c2[k];                                       \
            *(T *)(dst[4 * k + 1] + (tx)) = c1[k] + c2[k];                                   \
            *(T *)(dst[4 * k + 2] + (tx)) = c2[k] - c1[k];                                   \
            *(T *)(dst[4 * k + 3] + (tx)) = c1[k] - c3[k];                                   \
        }                                                                                    \
    } while (0)

void sad_winograd_input(const float *restrict plane, int h, int w, float *restrict v, size_t v_stride,
                        float *restrict scratch) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2, half = tw + 1, ph = 2 * th + 2;
    float *restrict even = scratch, *restrict odd = scratch + (size_t)ph * half;
    // Padded row y + 1 holds input row y; even[j] is input column 2j - 1, odd[j] column 2j.
    for (int y = 0; y < h; y++) {
        const float *src = plane + (size_t)y * w;
        float *e = even + (size_t)(y + 1) * half, *d = odd + (size_t)(y + 1) * half;
        for (int k = 0; k < w / 2; k++) { d[k] = src[2 * k]; e[k + 1] = src[2 * k + 1]; }
        if (w % 2 == 1) d[w / 2] = src[w - 1];
    }
    for (int ty = 0; ty < th; ty++) {
        const float *e_rows[4], *o_rows[4];
        for (int r = 0; r < 4; r++) {
            e_rows[r] = even + (size_t)(2 * ty + r) * half;
            o_rows[r] = odd + (size_t)(2 * ty + r) * half;
        }
        float *dst[16];
        for (int xi = 0; xi < 16; xi++) dst[xi] = v + (size_t)xi * v_stride + (size_t)ty * tw;
        int tx = 0;
        for (; tx + 8 <= tw; tx += 8) WINOGRAD_INPUT_RUN(v8u, tx);
        for (; tx + 4 <= tw; tx += 4) WINOGRAD_INPUT_RUN(v4u, tx);
        for (; tx < tw; tx++) WINOGRAD_INPUT_RUN(float, tx);
    }
}

// The same transform for the planes of one channel of several images when w is 4, 8 or 16,
// vectorised over whole image rows instead of runs of tiles (no de-interleaved copy, no
// per-tile-row pointer set-up; on 8x8 and 4x4 planes the runs above are half or a quarter of
// a vector). Tile row s of the flattened sequence (image j = s / th, ty = s % th) reads
// input rows 2ty - 1 .. 2ty + 2 of plane j (a, b, c, d; zero outside), forms the row
// combinations R = (a - c, b + c, c - b, b - d) across the row, then the column combinations
// (col 2tx - 1 - col 2tx + 1, col 2tx + col 2tx + 1, col 2tx + 1 - col 2tx, col 2tx - col 2tx + 2)
// of each R_k from its odd and even lanes shifted by one: the same operations on the same
// operands as WINOGRAD_INPUT_RUN, so the results are bitwise the same. Groups of 8 / tw tile
// rows are stored together as one 8-float vector (their outputs are adjacent in v).
typedef float v16u __attribute__((ext_vector_type(16), aligned(4)));
typedef float v2f __attribute__((ext_vector_type(2), aligned(4)));

// Row r of plane j (r may be -1 or >= h: zero).
#define ROW_OR_ZERO(T, j, r) \
    ((r) >= 0 && (r) < h ? *(const T *)(x + (size_t)(j) * plane_stride + (size_t)(r) * w) : (T)0)

// The 16 outputs (HALF-lane vectors) of flat tile row s into out[16].
// LOAD(T, j, r) gives row r of plane j (zero outside the plane).
#define WINOGRAD_INPUT_ROW_LOADED(T, HALF, EVEN, ODD, SHIFT_RIGHT, SHIFT_LEFT, s, out, LOAD)      \
    do {                                                                                     \
        const int j_ = (s) / th, ty_ = (s) % th;                                             \
        const T a = LOAD(T, j_, 2 * ty_ - 1), b = LOAD(T, j_, 2 * ty_);                      \
        const T c = LOAD(T, j_, 2 * ty_ + 1), d = LOAD(T, j_, 2 * ty_ + 2);                  \
        const T r[4] = {a - c, b + c, c - b, b - d};                                         \
        for (int k = 0; k < 4; k++) {                                                        \
            const HALF e = EVEN(r[k]), o = ODD(r[k]);                                        \
            const HALF o_prev = SHIFT_RIGHT(o), e_next = SHIFT_LEFT(e);                      \
            (out)[4 * k] = o_prev - o;                                                       \
            (out)[4 * k + 1] = e + o;                                                        \
            (out)[4 * k + 2] = o - e;                                                        \
            (out)[4 * k + 3] = e - e_next;                                                   \
        }                                                                                    \
    } while (0)

#define WINOGRAD_INPUT_ROW(T, HALF, EVEN, ODD, SHIFT_RIGHT, SHIFT_LEFT, s, out) \
    WINOGRAD_INPUT_ROW_LOADED(T, HALF, EVEN, ODD, SHIFT_RIGHT, SHIFT_LEFT, s, out, ROW_OR_ZERO)

#define EVEN16(v) __builtin_shufflevector(v, v, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODD16(v) __builtin_shufflevector(v, v, 1, 3, 5, 7, 9, 11, 13, 15)
#define RIGHT8(v) __builtin_shufflevector(v, (v8u)0, 8, 0, 1, 2, 3, 4, 5, 6)
#define LEFT8(v) __builtin_shufflevector(v, (v8u)0, 1, 2, 3, 4, 5, 6, 7, 8)
#define EVEN8(v) __builtin_shufflevector(v, v, 0, 2, 4, 6)
#define ODD8(v) __builtin_shufflevector(v, v, 1, 3, 5, 7)
#define RIGHT4(v) __builtin_shufflevector(v, (v4u)0, 4, 0, 1, 2)
#define LEFT4(v) __builtin_shufflevector(v, (v4u)0, 1, 2, 3, 4)
#define EVEN4(v) __builtin_shufflevector(v, v, 0, 2)
#define ODD4(v) __builtin_shufflevector(v, v, 1, 3)
#define RIGHT2(v) __builtin_shufflevector(v, (v2f)0, 2, 0)
#define LEFT2(v) __builtin_shufflevector(v, (v2f)0, 1, 2)

// The other widths 5 .. 32 (defined at the end of this file); 0 for widths outside them.
static int input_padded(const float *x, size_t plane_stride, int images, int h, int w, float *v, size_t v_stride);
static int output_padded(const float *m, size_t m_stride, int images, int h, int w, float bias, float *dst,
                         size_t plane_stride);
static int adjoint_padded(const float *dy, size_t plane_stride, int images, int h, int w, float *dm,
                          size_t dm_stride);

// ---- 16 tiles at a time for w = 16 (two tile rows), 8 (four) and 4 (eight): every store of V
// is a whole 16-lane vector, and the tile rows are walked with an (image, tile row) counter
// instead of a division per row. The row combinations R_k of a tile row (as
// WINOGRAD_INPUT_ROW_LOADED) are formed on its image rows; the column combinations of the 16
// tiles come from R_k of two (w = 16), four (w = 8, paired into 16 lanes) or eight (w = 4, four
// to 16 lanes) tile rows by one two-source permute each for the even lanes, the odd lanes, and
// the odd / even lanes shifted by one tile (zero past the plane's edge). The same operations on
// the same operands as WINOGRAD_INPUT_ROW_LOADED, so the results are bitwise the same (measured
// alone, one core, 4 images of 32 channels: a 16x16 plane 77 -> 57 ns).

// Advances the flat tile row (j, ty) by one.
#define NEXT_TILE_ROW(j, ty)                                                                 \
    do {                                                                                     \
        if (++(ty) == th) { (ty) = 0; (j)++; }                                               \
    } while (0)

// R_k (k = 0 .. 3) of tile row ty of plane j: image rows 2ty - 1 .. 2ty + 2 (zero outside).
#define ROW_COMBINATIONS(T, j, ty, r)                                                        \
    do {                                                                                     \
        const T a_ = ROW_OR_ZERO(T, j, 2 * (ty) - 1), b_ = ROW_OR_ZERO(T, j, 2 * (ty));      \
        const T c_ = ROW_OR_ZERO(T, j, 2 * (ty) + 1), d_ = ROW_OR_ZERO(T, j, 2 * (ty) + 2);  \
        (r)[0] = a_ - c_;                                                                    \
        (r)[1] = b_ + c_;                                                                    \
        (r)[2] = c_ - b_;                                                                    \
        (r)[3] = b_ - d_;                                                                    \
    } while (0)

typedef int32_t v16i __attribute__((ext_vector_type(16)));

// The even and odd lanes of the 32 lanes of p and q, 16 each.
#define EVEN_OF_PAIR(p, q) \
    __builtin_shufflevector(p, q, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODD_OF_PAIR(p, q) \
    __builtin_shufflevector(p, q, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)

// The four column combinations (o_prev - o, e + o, o - e, e - e_next) of the 32 columns of
// p and q (R_k of consecutive tile rows, 16 lanes each) into out[0 .. 3], 16 tiles each.
// `first` / `last` are all ones except in the lanes of each tile row's first / last tile,
// where the shifted operand is the zero padding.
#define INPUT_COLUMNS16(p, q, PREV, NEXT, first, last, out)                                  \
    do {                                                                                     \
        const v16u e_ = EVEN_OF_PAIR(p, q), o_ = ODD_OF_PAIR(p, q);                          \
        const v16u prev_ = (first) ? (v16u)__builtin_shufflevector(p, q, PREV) : (v16u)0;   \
        const v16u next_ = (last) ? (v16u)__builtin_shufflevector(p, q, NEXT) : (v16u)0;    \
        (out)[0] = prev_ - o_;                                                               \
        (out)[1] = e_ + o_;                                                                  \
        (out)[2] = o_ - e_;                                                                  \
        (out)[3] = e_ - next_;                                                               \
    } while (0)

// Odd lanes shifted right and even lanes shifted left by one tile within tile rows of 8 tiles
// (w = 16), 4 (w = 8) or 2 (w = 4); the lanes that take the padding read lane 0 and are masked to zero.
#define PREV_OF_8 0, 1, 3, 5, 7, 9, 11, 13, 0, 17, 19, 21, 23, 25, 27, 29
#define NEXT_OF_8 2, 4, 6, 8, 10, 12, 14, 0, 18, 20, 22, 24, 26, 28, 30, 0
#define PREV_OF_4 0, 1, 3, 5, 0, 9, 11, 13, 0, 17, 19, 21, 0, 25, 27, 29
#define NEXT_OF_4 2, 4, 6, 0, 10, 12, 14, 0, 18, 20, 22, 0, 26, 28, 30, 0
#define PREV_OF_2 0, 1, 0, 5, 0, 9, 0, 13, 0, 17, 0, 21, 0, 25, 0, 29
#define NEXT_OF_2 2, 0, 6, 0, 10, 0, 14, 0, 18, 0, 22, 0, 26, 0, 30, 0

// Lanes not at the first (last) tile of a tile row of `tiles` tiles: all ones, else zero.
static inline v16i not_first_tile(int tiles) {
    const v16i lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    return lane % tiles != 0;
}
static inline v16i not_last_tile(int tiles) {
    const v16i lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    return lane % tiles != tiles - 1;
}

// Tile rows 0 .. 2 * (rows / 2) - 1 of w = 16 planes; returns the first tile row not done.
// noinline here and below: inlined into their callers, they slowed the callers' other loops (the
// 4-wide adjoint's, before it was grouped too, ran 2.5x slower alone, one core), the register
// allocation of the merged function being the likely cause.
__attribute__((noinline)) static int input_pairs16(const float *restrict x, size_t plane_stride, int images, int h,
                                                   float *const dst[16]) {
    const int w = 16, th = (h + 1) / 2, rows = images * th;
    const v16i first = not_first_tile(8), last = not_last_tile(8);
    int s = 0, j = 0, ty = 0;
    for (; s + 2 <= rows; s += 2) {
        v16u p[4], q[4];
        ROW_COMBINATIONS(v16u, j, ty, p);
        NEXT_TILE_ROW(j, ty);
        ROW_COMBINATIONS(v16u, j, ty, q);
        NEXT_TILE_ROW(j, ty);
        for (int k = 0; k < 4; k++) {
            v16u out[4];
            INPUT_COLUMNS16(p[k], q[k], PREV_OF_8, NEXT_OF_8, first, last, out);
            for (int c = 0; c < 4; c++) *(v16u *)(dst[4 * k + c] + (size_t)s * 8) = out[c];
        }
    }
    return s;
}

// Tile rows 0 .. 4 * (rows / 4) - 1 of w = 8 planes; returns the first tile row not done.
__attribute__((noinline)) static int input_quads8(const float *restrict x, size_t plane_stride, int images, int h,
                                                  float *const dst[16]) {
    const int w = 8, th = (h + 1) / 2, rows = images * th;
    const v16i first = not_first_tile(4), last = not_last_tile(4);
    int s = 0, j = 0, ty = 0;
    for (; s + 4 <= rows; s += 4) {
        v8u r[4][4];
        for (int g = 0; g < 4; g++) {
            ROW_COMBINATIONS(v8u, j, ty, r[g]);
            NEXT_TILE_ROW(j, ty);
        }
        for (int k = 0; k < 4; k++) {
            const v16u p =
                __builtin_shufflevector(r[0][k], r[1][k], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            const v16u q =
                __builtin_shufflevector(r[2][k], r[3][k], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            v16u out[4];
            INPUT_COLUMNS16(p, q, PREV_OF_4, NEXT_OF_4, first, last, out);
            for (int c = 0; c < 4; c++) *(v16u *)(dst[4 * k + c] + (size_t)s * 4) = out[c];
        }
    }
    return s;
}

// Tile rows 0 .. 8 * (rows / 8) - 1 of w = 4 planes (two tiles per tile row, so 16 tiles are
// eight tile rows: one whole 4x4 plane is two); returns the first tile row not done.
__attribute__((noinline)) static int input_octets4(const float *restrict x, size_t plane_stride, int images, int h,
                                                   float *const dst[16]) {
    const int w = 4, th = (h + 1) / 2, rows = images * th;
    const v16i first = not_first_tile(2), last = not_last_tile(2);
    int s = 0, j = 0, ty = 0;
    for (; s + 8 <= rows; s += 8) {
        v4u r[8][4];
        for (int g = 0; g < 8; g++) {
            ROW_COMBINATIONS(v4u, j, ty, r[g]);
            NEXT_TILE_ROW(j, ty);
        }
        for (int k = 0; k < 4; k++) {
            // R_k of tile rows 0 .. 3 (p) and 4 .. 7 (q), four columns each.
            const v8u p01 = __builtin_shufflevector(r[0][k], r[1][k], 0, 1, 2, 3, 4, 5, 6, 7);
            const v8u p23 = __builtin_shufflevector(r[2][k], r[3][k], 0, 1, 2, 3, 4, 5, 6, 7);
            const v8u q01 = __builtin_shufflevector(r[4][k], r[5][k], 0, 1, 2, 3, 4, 5, 6, 7);
            const v8u q23 = __builtin_shufflevector(r[6][k], r[7][k], 0, 1, 2, 3, 4, 5, 6, 7);
            const v16u p = __builtin_shufflevector(p01, p23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            const v16u q = __builtin_shufflevector(q01, q23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            v16u out[4];
            INPUT_COLUMNS16(p, q, PREV_OF_2, NEXT_OF_2, first, last, out);
            for (int c = 0; c < 4; c++) *(v16u *)(dst[4 * k + c] + (size_t)s * 2) = out[c];
        }
    }
    return s;
}

int sad_winograd_input_planes(const float *restrict x, size_t plane_stride, int images, int h, int w,
                              float *restrict v, size_t v_stride) {
    const int th = (h + 1) / 2, rows = images * th;
    float *dst[16];
    for (int xi = 0; xi < 16; xi++) dst[xi] = v + (size_t)xi * v_stride;
    if (w == 16) {
        for (int s = input_pairs16(x, plane_stride, images, h, dst); s < rows; s++) {
            v8u out[16];
            WINOGRAD_INPUT_ROW(v16u, v8u, EVEN16, ODD16, RIGHT8, LEFT8, s, out);
            for (int xi = 0; xi < 16; xi++) *(v8u *)(dst[xi] + (size_t)s * 8) = out[xi];
        }
    } else if (w == 8) {
        int s = input_quads8(x, plane_stride, images, h, dst);
        for (; s + 2 <= rows; s += 2) {
            v4u p[16], q[16];
            WINOGRAD_INPUT_ROW(v8u, v4u, EVEN8, ODD8, RIGHT4, LEFT4, s, p);
            WINOGRAD_INPUT_ROW(v8u, v4u, EVEN8, ODD8, RIGHT4, LEFT4, s + 1, q);
            for (int xi = 0; xi < 16; xi++)
                *(v8u *)(dst[xi] + (size_t)s * 4) = __builtin_shufflevector(p[xi], q[xi], 0, 1, 2, 3, 4, 5, 6, 7);
        }
        for (; s < rows; s++) {
            v4u p[16];
            WINOGRAD_INPUT_ROW(v8u, v4u, EVEN8, ODD8, RIGHT4, LEFT4, s, p);
            for (int xi = 0; xi < 16; xi++) *(v4u *)(dst[xi] + (size_t)s * 4) = p[xi];
        }
    } else if (w == 4) {
        int s = input_octets4(x, plane_stride, images, h, dst);
        for (; s + 4 <= rows; s += 4) {
            v2f p[16], q[16], r2[16], t[16];
            WINOGRAD_INPUT_ROW(v4u, v2f, EVEN4, ODD4, RIGHT2, LEFT2, s, p);
            WINOGRAD_INPUT_ROW(v4u, v2f, EVEN4, ODD4, RIGHT2, LEFT2, s + 1, q);
            WINOGRAD_INPUT_ROW(v4u, v2f, EVEN4, ODD4, RIGHT2, LEFT2, s + 2, r2);
            WINOGRAD_INPUT_ROW(v4u, v2f, EVEN4, ODD4, RIGHT2, LEFT2, s + 3, t);
            for (int xi = 0; xi < 16; xi++) {
                const v4u lo = __builtin_shufflevector(p[xi], q[xi], 0, 1, 2, 3);
                const v4u hi = __builtin_shufflevector(r2[xi], t[xi], 0, 1, 2, 3);
                *(v8u *)(dst[xi] + (size_t)s * 2) = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
            }
        }
        for (; s < rows; s++) {
            v2f p[16];
            WINOGRAD_INPUT_ROW(v4u, v2f, EVEN4, ODD4, RIGHT2, LEFT2, s, p);
            for (int xi = 0; xi < 16; xi++) *(v2f *)(dst[xi] + (size_t)s * 2) = p[xi];
        }
    } else {
        return input_padded(x, plane_stride, images, h, w, v, v_stride);
    }
    return 1;
}

// A^T M A for tiles tx .. tx + lanes - 1 of one tile row: a_r = rows (0 + 1 + 2) and
// (1 - 2 - 3) of M, then the same on columns gives the 2x2 outputs y00 y01 / y10 y11.
#define WINOGRAD_OUTPUT_TILES(T, tx)                                                         \
    T mm[16];                                                                                \
    for (int xi = 0; xi < 16; xi++) mm[xi] = *(const T *)(src[xi] + (tx));                   \
    T a0[4], a1[4];                                                                          \
    for (int k = 0; k < 4; k++) {                                                            \
        a0[k] = mm[k] + mm[4 + k] + mm[8 + k];                                               \
        a1[k] = mm[4 + k] - mm[8 + k] - mm[12 + k];                                          \
    }                                                                                        \
    T y00 = a0[0] + a0[1] + a0[2] + bias, y01 = a0[1] - a0[2] - a0[3] + bias;                \
    T y10 = a1[0] + a1[1] + a1[2] + bias, y11 = a1[1] - a1[2] - a1[3] + bias;

void sad_winograd_output(const float *restrict m, size_t m_stride, int h, int w, float bias,
                         float *restrict dst, float *restrict scratch) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    float *restrict top = scratch, *restrict bottom = scratch + 2 * tw;
    for (int ty = 0; ty < th; ty++) {
        const float *src[16];
        for (int xi = 0; xi < 16; xi++) src[xi] = m + (size_t)xi * m_stride + (size_t)ty * tw;
        int tx = 0;
        for (; tx + 8 <= tw; tx += 8) {
            WINOGRAD_OUTPUT_TILES(v8u, tx)
            // Interleave (y00[i], y01[i]) into output columns 2(tx + i), 2(tx + i) + 1.
            *(v8u *)(top + 2 * tx) = __builtin_shufflevector(y00, y01, 0, 8, 1, 9, 2, 10, 3, 11);
            *(v8u *)(top + 2 * tx + 8) = __builtin_shufflevector(y00, y01, 4, 12, 5, 13, 6, 14, 7, 15);
            *(v8u *)(bottom + 2 * tx) = __builtin_shufflevector(y10, y11, 0, 8, 1, 9, 2, 10, 3, 11);
            *(v8u *)(bottom + 2 * tx + 8) = __builtin_shufflevector(y10, y11, 4, 12, 5, 13, 6, 14, 7, 15);
        }
        for (; tx + 4 <= tw; tx += 4) {
            WINOGRAD_OUTPUT_TILES(v4u, tx)
            *(v4u *)(top + 2 * tx) = __builtin_shufflevector(y00, y01, 0, 4, 1, 5);
            *(v4u *)(top + 2 * tx + 4) = __builtin_shufflevector(y00, y01, 2, 6, 3, 7);
            *(v4u *)(bottom + 2 * tx) = __builtin_shufflevector(y10, y11, 0, 4, 1, 5);
            *(v4u *)(bottom + 2 * tx + 4) = __builtin_shufflevector(y10, y11, 2, 6, 3, 7);
        }
        for (; tx < tw; tx++) {
            WINOGRAD_OUTPUT_TILES(float, tx)
            top[2 * tx] = y00; top[2 * tx + 1] = y01;
            bottom[2 * tx] = y10; bottom[2 * tx + 1] = y11;
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

// The output transform for one output channel of several images when w is 4, 8 or 16: 8
// tiles at a time (one tile row of a 16-wide plane, two of an 8-wide one, four of a 4-wide
// one; tile row s = j th + ty of the flattened sequence is image j's row ty), interleaved in
// registers and stored straight into the output rows (no row scratch). Same operations as
// WINOGRAD_OUTPUT_TILES, so bitwise the same as sad_winograd_output plane by plane.
static inline float *output_row(float *dst, size_t plane_stride, int th, int h, int w, int s, int half) {
    const int j = s / th, y = 2 * (s % th) + half;
    return y < h ? dst + (size_t)j * plane_stride + (size_t)y * w : 0;
}

// 16 tiles at a time for w = 16 (two tile rows), 8 (four) and 4 (eight), the tile rows walked with an
// (image, tile row) counter: the 16 products of the 16 tiles are whole-vector loads, and each
// pair of output rows is one two-source permute of (y00, y01) or (y10, y11). The arithmetic is
// WINOGRAD_OUTPUT_TILES on the same operands: bitwise the same. Returns the first tile row
// not done.
__attribute__((noinline)) static int output_groups(const float *restrict m, size_t m_stride, int images, int h, int w,
                                                   float bias, float *restrict dst, size_t plane_stride) {
    const int th = (h + 1) / 2, tw = w / 2, rows = images * th, per = 16 / tw;
    int s = 0, j = 0, ty = 0;
    for (; s + per <= rows; s += per) {
        const float *src[16];
        for (int xi = 0; xi < 16; xi++) src[xi] = m + (size_t)xi * m_stride + (size_t)s * tw;
        WINOGRAD_OUTPUT_TILES(v16u, 0)
        // Output rows 2ty, 2ty + 1 of tile rows g (the low half of a permute) and g + 1 (its high half).
        const v16u top01 =
            __builtin_shufflevector(y00, y01, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const v16u top23 =
            __builtin_shufflevector(y00, y01, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const v16u bottom01 =
            __builtin_shufflevector(y10, y11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const v16u bottom23 =
            __builtin_shufflevector(y10, y11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        if (w == 16) {
            const v16u tops[2] = {top01, top23}, bottoms[2] = {bottom01, bottom23};
            for (int g = 0; g < 2; g++) {
                float *row = dst + (size_t)j * plane_stride + (size_t)(2 * ty) * w;
                *(v16u *)row = tops[g];
                if (2 * ty + 1 < h) *(v16u *)(row + w) = bottoms[g];
                NEXT_TILE_ROW(j, ty);
            }
        } else if (w == 8) {
            const v8u tops[4] = {top01.lo, top01.hi, top23.lo, top23.hi};
            const v8u bottoms[4] = {bottom01.lo, bottom01.hi, bottom23.lo, bottom23.hi};
            for (int g = 0; g < 4; g++) {
                float *row = dst + (size_t)j * plane_stride + (size_t)(2 * ty) * w;
                *(v8u *)row = tops[g];
                if (2 * ty + 1 < h) *(v8u *)(row + w) = bottoms[g];
                NEXT_TILE_ROW(j, ty);
            }
        } else {
            const v4u tops[8] = {top01.lo.lo, top01.lo.hi, top01.hi.lo, top01.hi.hi,
                                 top23.lo.lo, top23.lo.hi, top23.hi.lo, top23.hi.hi};
            const v4u bottoms[8] = {bottom01.lo.lo, bottom01.lo.hi, bottom01.hi.lo, bottom01.hi.hi,
                                    bottom23.lo.lo, bottom23.lo.hi, bottom23.hi.lo, bottom23.hi.hi};
            for (int g = 0; g < 8; g++) {
                float *row = dst + (size_t)j * plane_stride + (size_t)(2 * ty) * w;
                *(v4u *)row = tops[g];
                if (2 * ty + 1 < h) *(v4u *)(row + w) = bottoms[g];
                NEXT_TILE_ROW(j, ty);
            }
        }
    }
    return s;
}

int sad_winograd_output_planes(const float *restrict m, size_t m_stride, int images, int h, int w, float bias,
                               float *restrict dst, size_t plane_stride) {
    if (w != 4 && w != 8 && w != 16) return output_padded(m, m_stride, images, h, w, bias, dst, plane_stride);
    const int th = (h + 1) / 2, tw = w / 2, rows = images * th;
    const int per = 8 / tw;  // tile rows per group of 8 tiles
    int s = output_groups(m, m_stride, images, h, w, bias, dst, plane_stride);
    for (; s + per <= rows; s += per) {
        const float *src[16];
        for (int xi = 0; xi < 16; xi++) src[xi] = m + (size_t)xi * m_stride + (size_t)s * tw;
        WINOGRAD_OUTPUT_TILES(v8u, 0)
        if (w == 16) {
            const v16u top = __builtin_shufflevector(y00, y01, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
            const v16u bottom = __builtin_shufflevector(y10, y11, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
            float *t = output_row(dst, plane_stride, th, h, w, s, 0);
            float *b = output_row(dst, plane_stride, th, h, w, s, 1);
            *(v16u *)t = top;
            if (b) *(v16u *)b = bottom;
        } else if (w == 8) {
            const v8u top0 = __builtin_shufflevector(y00, y01, 0, 8, 1, 9, 2, 10, 3, 11);
            const v8u top1 = __builtin_shufflevector(y00, y01, 4, 12, 5, 13, 6, 14, 7, 15);
            const v8u bottom0 = __builtin_shufflevector(y10, y11, 0, 8, 1, 9, 2, 10, 3, 11);
            const v8u bottom1 = __builtin_shufflevector(y10, y11, 4, 12, 5, 13, 6, 14, 7, 15);
            const v8u tops[2] = {top0, top1}, bottoms[2] = {bottom0, bottom1};
            for (int g = 0; g < 2; g++) {
                *(v8u *)output_row(dst, plane_stride, th, h, w, s + g, 0) = tops[g];
                float *b = output_row(dst, plane_stride, th, h, w, s + g, 1);
                if (b) *(v8u *)b = bottoms[g];
            }
        } else {
            const v8u top01 = __builtin_shufflevector(y00, y01, 0, 8, 1, 9, 2, 10, 3, 11);
            const v8u top23 = __builtin_shufflevector(y00, y01, 4, 12, 5, 13, 6, 14, 7, 15);
            const v8u bottom01 = __builtin_shufflevector(y10, y11, 0, 8, 1, 9, 2, 10, 3, 11);
            const v8u bottom23 = __builtin_shufflevector(y10, y11, 4, 12, 5, 13, 6, 14, 7, 15);
            const v4u tops[4] = {top01.lo, top01.hi, top23.lo, top23.hi};
            const v4u bottoms[4] = {bottom01.lo, bottom01.hi, bottom23.lo, bottom23.hi};
            for (int g = 0; g < 4; g++) {
                *(v4u *)output_row(dst, plane_stride, th, h, w, s + g, 0) = tops[g];
                float *b = output_row(dst, plane_stride, th, h, w, s + g, 1);
                if (b) *(v4u *)b = bottoms[g];
            }
        }
    }
    // The last tile rows (fewer than a group), one tile at a time.
    for (; s < rows; s++) {
        const float *src[16];
        for (int xi = 0; xi < 16; xi++) src[xi] = m + (size_t)xi * m_stride + (size_t)s * tw;
        float *t = output_row(dst, plane_stride, th, h, w, s, 0), *b = output_row(dst, plane_stride, th, h, w, s, 1);
        for (int tx = 0; tx < tw; tx++) {
            WINOGRAD_OUTPUT_TILES(float, tx)
            t[2 * tx] = y00;
            t[2 * tx + 1] = y01;
            if (b) { b[2 * tx] = y10; b[2 * tx + 1] = y11; }
        }
    }
    return 1;
}

// A dY A^T for tiles tx .. tx + lanes - 1 of one tile row, A = [1 0; 1 1; 1 -1; 0 -1] (the
// transpose of the output transform's A^T): rows r_i = A[i] . dY, i.e. (d0, d0 + d1,
// d0 - d1, -d1) of the tile's rows d0, d1, then the same on the columns of each r_i.
#define WINOGRAD_OUTPUT_ADJOINT_RUN(T, tx)                                                   \
    do {                                                                                     \
        T d00 = *(const T *)(te + (tx)), d01 = *(const T *)(to + (tx));                      \
        T d10 = *(const T *)(be + (tx)), d11 = *(const T *)(bo + (tx));                      \
        T r0[2] = {d00, d01}, r1[2] = {d00 + d10, d01 + d11};                                \
        T r2[2] = {d00 - d10, d01 - d11}, r3[2] = {-d10, -d11};                              \
        T *rows[4] = {r0, r1, r2, r3};                                                       \
        for (int i = 0; i < 4; i++) {                                                        \
            T a = rows[i][0], b = rows[i][1];                                                \
            *(T *)(dst[4 * i] + (tx)) = a;                                                   \
            *(T *)(dst[4 * i + 1] + (tx)) = a + b;                                           \
            *(T *)(dst[4 * i + 2] + (tx)) = a - b;                                           \
            *(T *)(dst[4 * i + 3] + (tx)) = -b;                                              \
        }                                                                                    \
    } while (0)

void sad_winograd_output_adjoint(const float *restrict dy, int h, int w, float *restrict dm, size_t dm_stride,
                                 float *restrict scratch) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2, row = tw + 8;
    // The even and odd columns of output rows 2ty (top) and 2ty + 1 (bottom), zero past the edge.
    float *restrict te = scratch, *restrict to = scratch + row, *restrict be = scratch + 2 * row,
                    *restrict bo = scratch + 3 * row;
    for (int ty = 0; ty < th; ty++) {
        const float *top = dy + (size_t)(2 * ty) * w;
        const float *bottom = 2 * ty + 1 < h ? top + w : NULL;
        for (int k = 0; k < tw; k++) {
            te[k] = top[2 * k];
            to[k] = 2 * k + 1 < w ? top[2 * k + 1] : 0;
            be[k] = bottom ? bottom[2 * k] : 0;
            bo[k] = bottom && 2 * k + 1 < w ? bottom[2 * k + 1] : 0;
        }
        float *dst[16];
        for (int xi = 0; xi < 16; xi++) dst[xi] = dm + (size_t)xi * dm_stride + (size_t)ty * tw;
        int tx = 0;
        for (; tx + 8 <= tw; tx += 8) WINOGRAD_OUTPUT_ADJOINT_RUN(v8u, tx);
        for (; tx + 4 <= tw; tx += 4) WINOGRAD_OUTPUT_ADJOINT_RUN(v4u, tx);
        for (; tx < tw; tx++) WINOGRAD_OUTPUT_ADJOINT_RUN(float, tx);
    }
}

// The adjoint for one output channel of several images when w is 4, 8 or 16: 8 tiles at a
// time (the tile rows s .. s + 8 / tw - 1 of the flattened sequence s = j th + ty), their
// even and odd columns gathered from whole rows in registers. Same operations as
// WINOGRAD_OUTPUT_ADJOINT_RUN, so bitwise the same as sad_winograd_output_adjoint plane by plane.
static inline const float *adjoint_row(const float *dy, size_t plane_stride, int th, int h, int w, int s, int half) {
    const int j = s / th, y = 2 * (s % th) + half;
    return y < h ? dy + (size_t)j * plane_stride + (size_t)y * w : 0;
}

// 16 tiles at a time for w = 16 (two tile rows), 8 (four) and 4 (eight), the tile rows walked with an
// (image, tile row) counter: the even and odd columns of the tiles' top and bottom rows are
// one two-source permute each of whole image rows (w = 8: two rows side by side; w = 4: four),
// and every store of dM is a whole 16-lane vector. The arithmetic is
// WINOGRAD_OUTPUT_ADJOINT_RUN on the same operands: bitwise the same. Returns the first tile row not done.
__attribute__((noinline)) static int adjoint_groups(const float *restrict dy, size_t plane_stride, int images, int h,
                                                    int w, float *restrict dm, size_t dm_stride) {
    const int th = (h + 1) / 2, tw = w / 2, rows = images * th, per = 16 / tw;
    float *dst[16];
    for (int xi = 0; xi < 16; xi++) dst[xi] = dm + (size_t)xi * dm_stride;
    int s = 0, j = 0, ty = 0;
    for (; s + per <= rows; s += per) {
        // Top and bottom rows of the group's tile rows (zero below the plane), 16 lanes each.
        v16u top[2], bottom[2];
        if (w == 16) {
            for (int g = 0; g < 2; g++) {
                const float *row = dy + (size_t)j * plane_stride + (size_t)(2 * ty) * w;
                top[g] = *(const v16u *)row;
                bottom[g] = 2 * ty + 1 < h ? *(const v16u *)(row + w) : (v16u)0;
                NEXT_TILE_ROW(j, ty);
            }
        } else if (w == 4) {
            v4u t4[8], b4[8];
            for (int g = 0; g < 8; g++) {
                const float *row = dy + (size_t)j * plane_stride + (size_t)(2 * ty) * w;
                t4[g] = *(const v4u *)row;
                b4[g] = 2 * ty + 1 < h ? *(const v4u *)(row + w) : (v4u)0;
                NEXT_TILE_ROW(j, ty);
            }
            for (int g = 0; g < 2; g++) {
                const v8u t01 = __builtin_shufflevector(t4[4 * g], t4[4 * g + 1], 0, 1, 2, 3, 4, 5, 6, 7);
                const v8u t23 = __builtin_shufflevector(t4[4 * g + 2], t4[4 * g + 3], 0, 1, 2, 3, 4, 5, 6, 7);
                const v8u b01 = __builtin_shufflevector(b4[4 * g], b4[4 * g + 1], 0, 1, 2, 3, 4, 5, 6, 7);
                const v8u b23 = __builtin_shufflevector(b4[4 * g + 2], b4[4 * g + 3], 0, 1, 2, 3, 4, 5, 6, 7);
                top[g] = __builtin_shufflevector(t01, t23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
                bottom[g] = __builtin_shufflevector(b01, b23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            }
        } else {
            v8u t8[4], b8[4];
            for (int g = 0; g < 4; g++) {
                const float *row = dy + (size_t)j * plane_stride + (size_t)(2 * ty) * w;
                t8[g] = *(const v8u *)row;
                b8[g] = 2 * ty + 1 < h ? *(const v8u *)(row + w) : (v8u)0;
                NEXT_TILE_ROW(j, ty);
            }
            for (int g = 0; g < 2; g++) {
                top[g] = __builtin_shufflevector(t8[2 * g], t8[2 * g + 1], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                 13, 14, 15);
                bottom[g] = __builtin_shufflevector(b8[2 * g], b8[2 * g + 1], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                    12, 13, 14, 15);
            }
        }
        const v16u d00 = EVEN_OF_PAIR(top[0], top[1]), d01 = ODD_OF_PAIR(top[0], top[1]);
        const v16u d10 = EVEN_OF_PAIR(bottom[0], bottom[1]), d11 = ODD_OF_PAIR(bottom[0], bottom[1]);
        const v16u r[4][2] = {{d00, d01}, {d00 + d10, d01 + d11}, {d00 - d10, d01 - d11}, {-d10, -d11}};
        for (int i = 0; i < 4; i++) {
            const v16u a = r[i][0], b = r[i][1];
            *(v16u *)(dst[4 * i] + (size_t)s * tw) = a;
            *(v16u *)(dst[4 * i + 1] + (size_t)s * tw) = a + b;
            *(v16u *)(dst[4 * i + 2] + (size_t)s * tw) = a - b;
            *(v16u *)(dst[4 * i + 3] + (size_t)s * tw) = -b;
        }
    }
    return s;
}

int sad_winograd_output_adjoint_planes(const float *restrict dy, size_t plane_stride, int images, int h, int w,
                                       float *restrict dm, size_t dm_stride) {
    if (w != 4 && w != 8 && w != 16) return adjoint_padded(dy, plane_stride, images, h, w, dm, dm_stride);
    const int th = (h + 1) / 2, tw = w / 2, rows = images * th;
    const int per = 8 / tw;
    int s = adjoint_groups(dy, plane_stride, images, h, w, dm, dm_stride);
    for (; s + per <= rows; s += per) {
        float te[8], to[8], be[8], bo[8];
        for (int g = 0; g < per; g++) {
            const float *top = adjoint_row(dy, plane_stride, th, h, w, s + g, 0);
            const float *bottom = adjoint_row(dy, plane_stride, th, h, w, s + g, 1);
            for (int k = 0; k < tw; k++) {
                te[g * tw + k] = top[2 * k];
                to[g * tw + k] = top[2 * k + 1];
                be[g * tw + k] = bottom ? bottom[2 * k] : 0;
                bo[g * tw + k] = bottom ? bottom[2 * k + 1] : 0;
            }
        }
        float *dst[16];
        for (int xi = 0; xi < 16; xi++) dst[xi] = dm + (size_t)xi * dm_stride + (size_t)s * tw;
        WINOGRAD_OUTPUT_ADJOINT_RUN(v8u, 0);
    }
    for (; s < rows; s++) {
        const float *top = adjoint_row(dy, plane_stride, th, h, w, s, 0);
        const float *bottom = adjoint_row(dy, plane_stride, th, h, w, s, 1);
        float te[8], to[8], be[8], bo[8];
        for (int k = 0; k < tw; k++) {
            te[k] = top[2 * k];
            to[k] = top[2 * k + 1];
            be[k] = bottom ? bottom[2 * k] : 0;
            bo[k] = bottom ? bottom[2 * k + 1] : 0;
        }
        float *dst[16];
        for (int xi = 0; xi < 16; xi++) dst[xi] = dm + (size_t)xi * dm_stride + (size_t)s * tw;
        for (int tx = 0; tx < tw; tx++) WINOGRAD_OUTPUT_ADJOINT_RUN(float, tx);
    }
    return 1;
}

// sums[q] = x_q[0] + x_q[1] + ... + x_q[n - 1] (float, in order) for `planes` planes
// plane_stride floats apart, eight side by side: one plane's sum is a chain of dependent
// adds, bound by their latency.
void sad_plane_sums(const float *restrict x, size_t n, size_t plane_stride, size_t planes, float *restrict sums) {
    size_t q = 0;
    for (; q + 8 <= planes; q += 8) {
        float acc[8] = {0};
        for (size_t i = 0; i < n; i++)
            for (int l = 0; l < 8; l++) acc[l] += x[(q + l) * plane_stride + i];
        for (int l = 0; l < 8; l++) sums[q + l] = acc[l];
    }
    for (; q < planes; q++) {
        float acc = 0;
        for (size_t i = 0; i < n; i++) acc += x[q * plane_stride + i];
        sums[q] = acc;
    }
}

// ---- The row kernels for the other widths 5 .. 32 (28, 14 and 7 of the 1x28x28 U-Net, 32 of
// the 3x32x32's first level): each row in a vector of W = 8, 16 or 32 lanes, zero in lanes
// w .. W - 1, which is the plane's zero padding on the right (the last tile of an even width
// reads lane w). One tile row at a time, the tw = (w + 1) / 2 tiles in a HALF = W / 2 lane
// vector. Reads stay inside the plane: rows before its last are read whole and masked
// (W <= 2w, so a whole read ends inside the plane), the last row is copied. Writes stay
// inside the destination: a tile row's (or output row's) whole-vector store spills onto the
// next one's positions, which are written after it; the last of a plane is copied. The
// arithmetic is the macros above on the same operands, so the results are bitwise those of
// the plane-by-plane kernels.
typedef float v32u __attribute__((ext_vector_type(32), aligned(4)));
typedef int32_t v8iu __attribute__((ext_vector_type(8)));
typedef int32_t v16iu __attribute__((ext_vector_type(16)));
typedef int32_t v32iu __attribute__((ext_vector_type(32)));

// Row `row` of w floats as a W-lane vector, zero past lane w - 1; `last`: copy, do not read whole.
#define DEFINE_PADDED_ROW(NAME, P, PI, W)                                                    \
    static inline P NAME(const float *row, int w, int last) {                                \
        P v;                                                                                 \
        if (w == W) return *(const P *)row;                                                  \
        if (last) {                                                                          \
            float t[W] = {0};                                                                \
            memcpy(t, row, (size_t)w * sizeof(float));                                       \
            memcpy(&v, t, sizeof v);                                                         \
            return v;                                                                        \
        }                                                                                    \
        v = *(const P *)row;                                                                 \
        PI lane;                                                                             \
        for (int l = 0; l < W; l++) lane[l] = l;                                             \
        const PI keep = lane < w; /* all ones in kept lanes */                               \
        PI bits;                                                                             \
        memcpy(&bits, &v, sizeof v);                                                         \
        bits &= keep;                                                                        \
        memcpy(&v, &bits, sizeof v);                                                         \
        return v;                                                                            \
    }
DEFINE_PADDED_ROW(padded_row8, v8u, v8iu, 8)
DEFINE_PADDED_ROW(padded_row16, v16u, v16iu, 16)
DEFINE_PADDED_ROW(padded_row32, v32u, v32iu, 32)

#define EVEN32(v) __builtin_shufflevector(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODD32(v) __builtin_shufflevector(v, v, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define RIGHT16(v) __builtin_shufflevector(v, (v16u)0, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
#define LEFT16(v) __builtin_shufflevector(v, (v16u)0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)

// Plane by plane, tile row by tile row: rows 2ty + 1 and 2ty + 2 of tile row ty are rows 2ty' - 1
// and 2ty' of the next one (ty' = ty + 1), so each image row is loaded (and masked) once, and
// no tile row needs a division to find its plane. The combinations are those of
// WINOGRAD_INPUT_ROW_LOADED on the same operands.
#define DEFINE_INPUT_PADDED(NAME, P, HALF, EVEN, ODD, RIGHT, LEFT, LOADER)                    \
    static void NAME(const float *restrict x, size_t plane_stride, int images, int h, int w, \
                     float *restrict v, size_t v_stride) {                                   \
        const int th = (h + 1) / 2, tw = (w + 1) / 2, rows = images * th;                    \
        int s = 0;                                                                           \
        for (int j = 0; j < images; j++) {                                                  \
            const float *plane = x + (size_t)j * plane_stride;                               \
            P a = (P)0, b = LOADER(plane, w, h == 1); /* rows -1 and 0 */                    \
            for (int ty = 0; ty < th; ty++, s++) {                                           \
                const int y = 2 * ty + 1;                                                    \
                const P c = y < h ? LOADER(plane + (size_t)y * w, w, y == h - 1) : (P)0;      \
                const P d = y + 1 < h ? LOADER(plane + (size_t)(y + 1) * w, w, y + 1 == h - 1) : (P)0; \
                const P r[4] = {a - c, b + c, c - b, b - d};                                 \
                for (int k = 0; k < 4; k++) {                                                \
                    const HALF e = EVEN(r[k]), o = ODD(r[k]);                                \
                    const HALF o_prev = RIGHT(o), e_next = LEFT(e);                          \
                    const HALF out[4] = {o_prev - o, e + o, o - e, e - e_next};              \
                    for (int q = 0; q < 4; q++) {                                            \
                        float *dst = v + (size_t)(4 * k + q) * v_stride + (size_t)s * tw;    \
                        if (s + 1 < rows) *(HALF *)dst = out[q];                             \
                        else memcpy(dst, &out[q], (size_t)tw * sizeof(float));               \
                    }                                                                        \
                }                                                                            \
                a = c;                                                                       \
                b = d;                                                                       \
            }                                                                                \
        }                                                                                    \
    }
DEFINE_INPUT_PADDED(input_padded8, v8u, v4u, EVEN8, ODD8, RIGHT4, LEFT4, padded_row8)
DEFINE_INPUT_PADDED(input_padded16, v16u, v8u, EVEN16, ODD16, RIGHT8, LEFT8, padded_row16)
DEFINE_INPUT_PADDED(input_padded32, v32u, v16u, EVEN32, ODD32, RIGHT16, LEFT16, padded_row32)

#define INTERLEAVE4(a, b) __builtin_shufflevector(a, b, 0, 4, 1, 5, 2, 6, 3, 7)
#define INTERLEAVE8(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)
#define INTERLEAVE16(a, b)                                                                   \
    __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8, 24, 9, 25, 10, \
                            26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)

#define DEFINE_OUTPUT_PADDED(NAME, P, HALF, W, INTERLEAVE)                                    \
    static void NAME(const float *restrict m, size_t m_stride, int images, int h, int w, float bias, \
                     float *restrict dst, size_t plane_stride) {                             \
        const int th = (h + 1) / 2, tw = (w + 1) / 2, rows = images * th;                    \
        float last[16 * (W / 2)];                                                            \
        for (int s = 0; s < rows; s++) {                                                     \
            const float *src[16];                                                            \
            for (int xi = 0; xi < 16; xi++) src[xi] = m + (size_t)xi * m_stride + (size_t)s * tw; \
            if (s + 1 == rows) { /* the last tile row, copied so as not to read past it */  \
                memset(last, 0, sizeof last);                                                \
                for (int xi = 0; xi < 16; xi++) {                                            \
                    memcpy(last + xi * (W / 2), src[xi], (size_t)tw * sizeof(float));        \
                    src[xi] = last + xi * (W / 2);                                           \
                }                                                                            \
            }                                                                                \
            WINOGRAD_OUTPUT_TILES(HALF, 0)                                                   \
            const P rows2[2] = {INTERLEAVE(y00, y01), INTERLEAVE(y10, y11)};                 \
            const int j = s / th, y = 2 * (s % th);                                          \
            for (int half = 0; half < 2 && y + half < h; half++) {                           \
                float *row = dst + (size_t)j * plane_stride + (size_t)(y + half) * w;        \
                if (y + half < h - 1) *(P *)row = rows2[half];                               \
                else memcpy(row, &rows2[half], (size_t)w * sizeof(float));                   \
            }                                                                                \
        }                                                                                    \
    }
DEFINE_OUTPUT_PADDED(output_padded8, v8u, v4u, 8, INTERLEAVE4)
DEFINE_OUTPUT_PADDED(output_padded16, v16u, v8u, 16, INTERLEAVE8)
DEFINE_OUTPUT_PADDED(output_padded32, v32u, v16u, 32, INTERLEAVE16)

#define DEFINE_ADJOINT_PADDED(NAME, P, HALF, W, LOADER, EVEN, ODD)                            \
    static void NAME(const float *restrict dy, size_t plane_stride, int images, int h, int w, \
                     float *restrict dm, size_t dm_stride) {                                 \
        const int th = (h + 1) / 2, tw = (w + 1) / 2, rows = images * th;                    \
        float last[16 * (W / 2)];                                                            \
        for (int s = 0; s < rows; s++) {                                                     \
            const int j = s / th, y = 2 * (s % th);                                          \
            const float *top_row = dy + (size_t)j * plane_stride + (size_t)y * w;            \
            const P top = LOADER(top_row, w, y == h - 1);                                    \
            const P bottom = y + 1 < h ? LOADER(top_row + w, w, y + 1 == h - 1) : (P)0;      \
            float te[W / 2], to[W / 2], be[W / 2], bo[W / 2];                                \
            *(HALF *)te = EVEN(top);                                                         \
            *(HALF *)to = ODD(top);                                                          \
            *(HALF *)be = EVEN(bottom);                                                      \
            *(HALF *)bo = ODD(bottom);                                                       \
            float *dst[16];                                                                  \
            for (int xi = 0; xi < 16; xi++)                                                  \
                dst[xi] = s + 1 < rows ? dm + (size_t)xi * dm_stride + (size_t)s * tw : last + xi * (W / 2); \
            WINOGRAD_OUTPUT_ADJOINT_RUN(HALF, 0);                                            \
            if (s + 1 == rows)                                                               \
                for (int xi = 0; xi < 16; xi++)                                              \
                    memcpy(dm + (size_t)xi * dm_stride + (size_t)s * tw, last + xi * (W / 2), \
                           (size_t)tw * sizeof(float));                                      \
        }                                                                                    \
    }
DEFINE_ADJOINT_PADDED(adjoint_padded8, v8u, v4u, 8, padded_row8, EVEN8, ODD8)
DEFINE_ADJOINT_PADDED(adjoint_padded16, v16u, v8u, 16, padded_row16, EVEN16, ODD16)
DEFINE_ADJOINT_PADDED(adjoint_padded32, v32u, v16u, 32, padded_row32, EVEN32, ODD32)

// Lanes of the padded row vector for width w: 8, 16 or 32; 0 where there is no padded kernel.
static int padded_lanes(int w) { return w < 5 || w > 32 ? 0 : w <= 8 ? 8 : w <= 16 ? 16 : 32; }

static int input_padded(const float *x, size_t plane_stride, int images, int h, int w, float *v, size_t v_stride) {
    switch (padded_lanes(w)) {
    case 8: input_padded8(x, plane_stride, images, h, w, v, v_stride); return 1;
    case 16: input_padded16(x, plane_stride, images, h, w, v, v_stride); return 1;
    case 32: input_padded32(x, plane_stride, images, h, w, v, v_stride); return 1;
    default: return 0;
    }
}

static int output_padded(const float *m, size_t m_stride, int images, int h, int w, float bias, float *dst,
                         size_t plane_stride) {
    switch (padded_lanes(w)) {
    case 8: output_padded8(m, m_stride, images, h, w, bias, dst, plane_stride); return 1;
    case 16: output_padded16(m, m_stride, images, h, w, bias, dst, plane_stride); return 1;
    case 32: output_padded32(m, m_stride, images, h, w, bias, dst, plane_stride); return 1;
    default: return 0;
    }
}

static int adjoint_padded(const float *dy, size_t plane_stride, int images, int h, int w, float *dm,
                          size_t dm_stride) {
    switch (padded_lanes(w)) {
    case 8: adjoint_padded8(dy, plane_stride, images, h, w, dm, dm_stride); return 1;
    case 16: adjoint_padded16(dy, plane_stride, images, h, w, dm, dm_stride); return 1;
    case 32: adjoint_padded32(dy, plane_stride, images, h, w, dm, dm_stride); return 1;
    default: return 0;
    }
}
