#ifndef SAD_CKERNELS_H
#define SAD_CKERNELS_H
// Small vector kernels in C: clang's ext_vector_type always lowers to vector
// instructions, while Swift's generic SIMD operators are scalarised by the optimiser in
// long dependent chains such as polynomial evaluations (measured: 3x slower).
#include <stddef.h>
#include <stdint.h>

/// Philox4x32-10 for 8 consecutive blocks: lane j has counter (c0 + j, c1, c2, c3).
/// Writes word w of lane j to out[8 * w + j] (32 words).
void sad_philox8(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                 uint32_t k0, uint32_t k1, uint32_t *out);

/// Fills `groups` groups of 32 floats. Group g uses the 8 blocks starting at counter
/// c0 = 8 * (first_group + g); element 8 * w + j of a group comes from word w of lane j.
/// mode 0: uniform in (0, 1): top 23 bits + 1/2, times 2^-23.
/// mode 1: normal by Box-Muller on the word pairs (0, 1) and (2, 3), times std plus mean.
void sad_philox_fill(uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                     uint64_t first_group, size_t groups, int mode, float mean, float std,
                     float *out);

/// Test hook: log(u), cos(2 pi u), sin(2 pi u) by the generator's polynomials, for n a
/// multiple of 8 and u in (0, 1].
void sad_fastmath_eval(const float *u, size_t n, float *log_out, float *cos_out, float *sin_out);

/// Allocator tuning for large, short-lived tensors (glibc; a no-op elsewhere).
void sad_configure_malloc(void);

/// SiLU y = x sigmoid(x) and its VJP dx = dy s (1 + x (1 - s)), vectorised.
void sad_silu(const float *x, float *y, size_t n);
void sad_silu_backward(const float *x, const float *dy, float *dx, size_t n);

/// GELU (tanh approximation) y = x sigmoid(2u), u = sqrt(2/pi)(x + 0.044715 x^3), and its VJP.
void sad_gelu(const float *x, float *y, size_t n);
void sad_gelu_backward(const float *x, const float *dy, float *dx, size_t n);

/// y = fma(scale, x, shift) (stored when y is not NULL) and s = SiLU(y) over n floats: a group
/// norm's affine step fused with the SiLU after it, bitwise the same as the two apart.
void sad_affine_silu(const float *x, size_t n, float scale, float shift, float *y, float *s);

// Vectorised logistic σ(x) and tanh(x) = 2σ(2x) − 1.
void sad_sigmoid(const float *x, float *y, size_t n);
void sad_tanh(const float *x, float *y, size_t n);

/// Mean and biased variance (double) of `groups` consecutive groups of `count` floats each: two
/// passes, four accumulators (element i to i mod 4, the tail to 0) combined as (a0 + a1) + (a2 + a3).
void sad_group_moments(const float *x, size_t count, size_t groups, double *mean, double *variance);

/// xhat[i] = (float)(((double)x[i] - mean) * inv) over n floats.
void sad_group_normalize(const float *x, size_t n, double mean, double inv, float *xhat);

/// (sum g, sum g h) in double of each of `planes` consecutive planes of n floats: element i to
/// accumulator i mod 4 (the tail too), combined as (a0 + a1) + (a2 + a3).
void sad_group_gradient_sums(const float *g, const float *h, size_t n, size_t planes, double *sum_g, double *sum_gh);

/// dx[i] = (float)((g[i] gamma - mean_g - h[i] mean_gh) inv) in double, over n floats.
void sad_group_norm_dx(const float *g, const float *h, size_t n, double gamma, double mean_g, double mean_gh,
                       double inv, float *dx);

/// Softmax of one row of n floats (max-subtracted), vectorised exp.
void sad_softmax_row(const float *x, float *y, size_t n);

/// Sorts n floats ascending in place (radix sort); scratch holds 2n uint32.
void sad_sort_floats(float *values, size_t n, uint32_t *scratch);

/// Winograd F(2x2, 3x3) input transform of one (h, w) plane, zero padding 1: tile
/// t = ty * tw + tx (tw = (w + 1) / 2) gets element xi of B^T d B at v[xi * v_stride + t].
/// scratch: 2 (2 th + 2)(tw + 1) floats (th = (h + 1) / 2), zero on the first
/// call; the padding positions stay zero, so it can be reused for planes of the same size.
void sad_winograd_input(const float *plane, int h, int w, float *v, size_t v_stride, float *scratch);

/// The same transform for one channel of `images` planes plane_stride floats apart, when w is
/// 4 … 32 (bitwise the same as sad_winograd_input plane by plane): flat tile row
/// s = j th + ty of plane j gets element xi at v[xi * v_stride + s tw + tx]. Returns 0 (and
/// writes nothing) for other widths.
int sad_winograd_input_planes(const float *x, size_t plane_stride, int images, int h, int w, float *v,
                              size_t v_stride);

/// Winograd F(2x2, 3x3) output transform: tile t's product element xi at m[xi * m_stride + t];
/// writes A^T M A + bias to the (h, w) plane dst. scratch: 4 tw floats.
void sad_winograd_output(const float *m, size_t m_stride, int h, int w, float bias, float *dst, float *scratch);

/// The same for one output channel of `images` planes plane_stride floats apart, when w is 4 …
/// 32 (bitwise the same as sad_winograd_output plane by plane): flat tile row s = j th + ty
/// reads m[xi * m_stride + s tw + tx] and writes plane j. Returns 0 (and writes nothing) for
/// other widths.
int sad_winograd_output_planes(const float *m, size_t m_stride, int images, int h, int w, float bias, float *dst,
                               size_t plane_stride);

/// Adjoint of the output transform (without the bias): tile t of the (h, w) plane dy gets
/// element xi of A dY A^T at dm[xi * dm_stride + t], dY the tile's 2x2 block of dy (zero
/// past the edge of odd sizes). scratch: 4 (tw + 8) floats.
void sad_winograd_output_adjoint(const float *dy, int h, int w, float *dm, size_t dm_stride, float *scratch);

/// The same for one output channel of `images` planes plane_stride floats apart, when w is 4 …
/// 32 (bitwise the same as sad_winograd_output_adjoint plane by plane): flat tile row
/// s = j th + ty writes dm[xi * dm_stride + s tw + tx]. Returns 0 (and writes nothing) for
/// other widths.
int sad_winograd_output_adjoint_planes(const float *dy, size_t plane_stride, int images, int h, int w, float *dm,
                                       size_t dm_stride);

/// sums[q] = the in-order float sum of the n floats of plane q, for `planes` planes
/// plane_stride floats apart.
void sad_plane_sums(const float *x, size_t n, size_t plane_stride, size_t planes, float *sums);

/// Layer normalisation of `rows` rows of e floats: xhat = (x - mean) / sqrt(var + eps) and the
/// per-row 1 / sqrt(var + eps), statistics in double summed in index order.
void sad_layernorm_forward(const float *x, size_t rows, size_t e, float eps, float *xhat, float *inv_std);

/// Its VJP: dx from xhat, dy, inv_std and the optional weight (NULL: ones); when d_gamma is not
/// NULL, adds sum_rows dy * xhat to d_gamma and sum_rows dy to d_beta (e doubles each).
void sad_layernorm_backward(const float *xhat, const float *dy, const float *inv_std, const float *weight,
                            size_t rows, size_t e, float *dx, double *d_gamma, double *d_beta);

/// The largest rank `sad_strided_gather` takes.
#define SAD_MAX_GATHER_RANK 16

/// dst (row-major, shape) <- src[sum_a index_a * strides_a] for every index of `shape`
/// (rank <= SAD_MAX_GATHER_RANK; rank 0 copies one element).
void sad_strided_gather(float *dst, const float *src, int rank, const int64_t *shape, const int64_t *strides);

/// A hint to bring n floats at p into the caches (StridedCopy.c); changes no result.
void sad_prefetch(const float *p, size_t n);

/// im2col of one image x (channels, h, w): cols[(c kh + ki) kw + kj][oy wo + ox] (rows ld apart)
/// = x[c][oy stride + ki - pad][ox stride + kj - pad], 0 outside; `padded` holds
/// (h + 2 pad)(w + 2 pad) floats of scratch.
void sad_im2col(const float *x, int channels, int h, int w, int kh, int kw, int stride, int pad, float *cols,
                size_t ld, float *padded);

/// Its adjoint: dx (channels, h, w) = the sum over patches of cols (rows ho wo apart), overwriting dx.
void sad_col2im(const float *cols, int channels, int h, int w, int kh, int kw, int stride, int pad, float *dx);

/// C (m, n) += A (m, l) · B (n, l)ᵀ, row-major with leading dimensions lda, ldb, ldc (GemmNT.c).
/// Each element is one fixed-order sum (16 fused lanes, a fixed lane tree, an in-order tail),
/// independent of m, n and of the element's position.
void sad_sgemm_nt_accumulate(size_t m, size_t n, size_t l, const float *a, size_t lda, const float *b,
                             size_t ldb, float *c, size_t ldc);

#endif
