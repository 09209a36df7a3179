// Vectorised SiLU, GELU (with their VJPs) and softmax rows. glibc's expf is a scalar call per
// element (a tenth of a batch-1 U-Net forward); this Cephes-style exp over 8-lane vectors is
// accurate to ~2 ulp.
#include "CKernels.h"
#include <string.h>

typedef float v8f __attribute__((ext_vector_type(8)));
typedef int32_t v8i __attribute__((ext_vector_type(8)));

static inline v8f vexp(v8f x) {
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, (v8f)-87.33654f), (v8f)88.72283f);
    // n = round(x / ln 2) via the 1.5 * 2^23 magic number; r = x - n ln 2 in two parts.
    v8f n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    v8f r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    v8f p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
    v8f scale;
    memcpy(&scale, &e, 32);
    return p * scale;
}

// Element-wise maps 8 lanes at a time; the tail (n mod 8 elements) goes through one
// zero-padded vector, so every element gets the same arithmetic whatever n is. Always
// inlined, so the kernel function below is inlined into the vector loop.
typedef v8f (*v8_unary)(v8f);
typedef v8f (*v8_binary)(v8f, v8f);

static inline __attribute__((always_inline))
void map_unary(const float *x, float *y, size_t n, v8_unary f) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f v; memcpy(&v, x + i, 32);
        v8f out = f(v);
        memcpy(y + i, &out, 32);
    }
    if (i < n) {
        float tmp[8] = {0}, res[8];
        memcpy(tmp, x + i, (n - i) * sizeof(float));
        v8f v; memcpy(&v, tmp, 32);
        v8f out = f(v);
        memcpy(res, &out, 32);
        memcpy(y + i, res, (n - i) * sizeof(float));
    }
}

// out = f(x, dy), the VJP form.
static inline __attribute__((always_inline))
void map_binary(const float *x, const float *dy, float *out, size_t n, v8_binary f) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f v, g; memcpy(&v, x + i, 32); memcpy(&g, dy + i, 32);
        v8f r = f(v, g);
        memcpy(out + i, &r, 32);
    }
    if (i < n) {
        float tv[8] = {0}, tg[8] = {0}, res[8];
        memcpy(tv, x + i, (n - i) * sizeof(float)); memcpy(tg, dy + i, (n - i) * sizeof(float));
        v8f v, g; memcpy(&v, tv, 32); memcpy(&g, tg, 32);
        v8f r = f(v, g);
        memcpy(res, &r, 32);
        memcpy(out + i, res, (n - i) * sizeof(float));
    }
}

static inline v8f silu(v8f v) { return v / (1.0f + vexp(-v)); }

// dx = dy * s * (1 + x (1 - s)), s = sigmoid(x).
static inline v8f silu_vjp(v8f v, v8f g) {
    v8f s = 1.0f / (1.0f + vexp(-v));
    return g * s * (1.0f + v * (1.0f - s));
}

void sad_silu(const float *x, float *y, size_t n) { map_unary(x, y, n, silu); }
void sad_silu_backward(const float *x, const float *dy, float *dx, size_t n) { map_binary(x, dy, dx, n, silu_vjp); }

// The affine step of a group norm, y = fma(scale, x, shift) exactly as Swift's
// shift.addingProduct(scale, x), then SiLU of it in the same vector code as sad_silu: bitwise
// the same as the two apart, without writing y and reading it back (y is kept only when the
// caller needs it for a backward pass).
void sad_affine_silu(const float *x, size_t n, float scale, float shift, float *y, float *s) {
    const v8f a = scale, b = shift;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f v; memcpy(&v, x + i, 32);
        const v8f pre = __builtin_elementwise_fma(a, v, b);
        if (y) memcpy(y + i, &pre, 32);
        const v8f out = silu(pre);
        memcpy(s + i, &out, 32);
    }
    if (i < n) {
        float tmp[8] = {0}, res[8];
        memcpy(tmp, x + i, (n - i) * sizeof(float));
        v8f v; memcpy(&v, tmp, 32);
        const v8f pre = __builtin_elementwise_fma(a, v, b);
        memcpy(res, &pre, 32);
        if (y) memcpy(y + i, res, (n - i) * sizeof(float));
        const v8f out = silu(pre);
        memcpy(res, &out, 32);
        memcpy(s + i, res, (n - i) * sizeof(float));
    }
}

// GELU, tanh approximation, in the overflow-free form
//   0.5 x (1 + tanh u) = x sigmoid(2u),   u = sqrt(2/pi) (x + 0.044715 x^3),
// (1 + tanh u = 2 / (1 + e^(-2u)) exactly). glibc's scalar tanhf was a quarter of a DiT
// training step. VJP: d/dx = s + x s (1 - s) 2 u',  u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
static const float gelu_k = 0.7978845608028654f, gelu_c = 0.044715f;

static inline v8f gelu_sigmoid(v8f v) {
    v8f u = gelu_k * (v + gelu_c * v * v * v);
    return 1.0f / (1.0f + vexp(-2.0f * u));
}

static inline v8f gelu(v8f v) { return v * gelu_sigmoid(v); }

static inline v8f gelu_vjp(v8f v, v8f g) {
    v8f s = gelu_sigmoid(v);
    return g * (s + v * s * (1.0f - s) * (2.0f * gelu_k) * (1.0f + 3.0f * gelu_c * v * v));
}

void sad_gelu(const float *x, float *y, size_t n) { map_unary(x, y, n, gelu); }
void sad_gelu_backward(const float *x, const float *dy, float *dx, size_t n) { map_binary(x, dy, dx, n, gelu_vjp); }

// Logistic σ(x) = 1/(1 + e⁻ˣ) and tanh x = 2σ(2x) − 1 (imported graphs export SiLU, GELU
// and attention gates through these). tanh in this form is exact to ~6e-8 absolute (not
// relative near 0, where the imported graphs only ever add it to 1).
static inline v8f sigmoid(v8f v) { return 1.0f / (1.0f + vexp(-v)); }
static inline v8f tanh8(v8f v) { return 2.0f / (1.0f + vexp(-2.0f * v)) - 1.0f; }
void sad_sigmoid(const float *x, float *y, size_t n) { map_unary(x, y, n, sigmoid); }
void sad_tanh(const float *x, float *y, size_t n) { map_unary(x, y, n, tanh8); }

// Softmax of one row, max-subtracted: e_j = exp(x_j - max), y = e / sum(e). The sum is
// accumulated in 8 lanes then added lane by lane (a fixed order, so deterministic).
void sad_softmax_row(const float *x, float *y, size_t n) {
    float m = -__builtin_inff();
    for (size_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
    v8f acc = 0.0f;
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        v8f v; memcpy(&v, x + j, 32);
        v8f e = vexp(v - m);
        memcpy(y + j, &e, 32);
        acc += e;
    }
    float s = 0;
    for (int lane = 0; lane < 8; lane++) s += acc[lane];
    if (j < n) {
        float tmp[8], res[8];
        for (int lane = 0; lane < 8; lane++) tmp[lane] = j + lane < n ? x[j + lane] - m : -100.0f;
        v8f v; memcpy(&v, tmp, 32);
        v8f e = vexp(v);
        memcpy(res, &e, 32);
        for (size_t k = 0; k < n - j; k++) { y[j + k] = res[k]; s += res[k]; }
    }
    float inv = 1.0f / s;
    for (size_t k = 0; k < n; k++) y[k] *= inv;
}
