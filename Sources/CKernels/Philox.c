// Vectorised Philox4x32-10 and its uniform / normal transforms.
// The scalar reference (and the known-answer test) lives in Swift: Philox.block.
#include "CKernels.h"
#include <string.h>

typedef uint32_t v8u __attribute__((ext_vector_type(8)));
typedef int32_t v8i __attribute__((ext_vector_type(8)));
typedef uint64_t v8ul __attribute__((ext_vector_type(8)));
typedef float v8f __attribute__((ext_vector_type(8)));

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox8(v8u *x0, v8u *x1, v8u *x2, v8u *x3, uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; round++) {
        if (round > 0) { k0 += PHILOX_W0; k1 += PHILOX_W1; }
        v8ul p0 = __builtin_convertvector(*x0, v8ul) * (uint64_t)PHILOX_M0;
        v8ul p1 = __builtin_convertvector(*x2, v8ul) * (uint64_t)PHILOX_M1;
        v8u hi0 = __builtin_convertvector(p0 >> 32, v8u), lo0 = __builtin_convertvector(p0, v8u);
        v8u hi1 = __builtin_convertvector(p1 >> 32, v8u), lo1 = __builtin_convertvector(p1, v8u);
        v8u n0 = hi1 ^ *x1 ^ k0;
        v8u n2 = hi0 ^ *x3 ^ k1;
        *x0 = n0; *x1 = lo1; *x2 = n2; *x3 = lo0;
    }
}

void sad_philox8(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                 uint32_t k0, uint32_t k1, uint32_t *out) {
    v8u lane = {0, 1, 2, 3, 4, 5, 6, 7};
    v8u x0 = c0 + lane, x1 = (v8u)c1, x2 = (v8u)c2, x3 = (v8u)c3;
    philox8(&x0, &x1, &x2, &x3, k0, k1);
    memcpy(out, &x0, 32); memcpy(out + 8, &x1, 32); memcpy(out + 16, &x2, 32); memcpy(out + 24, &x3, 32);
}

static inline v8f bits_to_float(v8u b) { v8f f; memcpy(&f, &b, 32); return f; }
static inline v8u float_to_bits(v8f f) { v8u b; memcpy(&b, &f, 32); return b; }

// (w >> 9) as the mantissa of a float in [1, 2), minus (1 - 2^-24): exact, in (0, 1).
static inline v8f uniform(v8u w) {
    return bits_to_float((w >> 9) | 0x3F800000u) - (1.0f - 1.0f / 16777216.0f);
}

// Cephes logf for normal positive x (see FastMath.swift for the derivation).
static inline v8f vlog(v8f x) {
    v8u bits = float_to_bits(x);
    v8f e = bits_to_float((bits >> 23) | 0x4B000000u) - (8388608.0f + 126.0f);
    v8f m = bits_to_float((bits & 0x807FFFFFu) | 0x3F000000u);
    v8i small = (v8i)float_to_bits(m) < (v8i)0x3F3504F3;   // m < sqrt(1/2): all ones
    e = e - bits_to_float((v8u)small & 0x3F800000u);
    m = m + bits_to_float(float_to_bits(m) & (v8u)small);
    v8f t = m - 1.0f, z = t * t;
    v8f y = 7.0376836292e-2f;
    y = y * t - 1.1514610310e-1f;
    y = y * t + 1.1676998740e-1f;
    y = y * t - 1.2420140846e-1f;
    y = y * t + 1.4249322787e-1f;
    y = y * t - 1.6668057665e-1f;
    y = y * t + 2.0000714765e-1f;
    y = y * t - 2.4999993993e-1f;
    y = y * t + 3.3333331174e-1f;
    y = y * t * z;
    y = y + e * -2.12194440e-4f;
    y = y - 0.5f * z;
    return t + y + e * 0.693359375f;
}

// (cos 2 pi u, sin 2 pi u) for u in [0, 1]; quadrant by the 1.5 * 2^23 magic number.
static inline void vcossin2pi(v8f u, v8f *cos_out, v8f *sin_out) {
    const float magic = 12582912.0f;
    v8f shifted = u * 4.0f + magic;
    v8f q = shifted - magic;
    v8f phi = (u - q * 0.25f) * 6.283185307179586f;
    v8f p2 = phi * phi;
    v8f s = -1.9515295891e-4f;
    s = s * p2 + 8.3321608736e-3f;
    s = s * p2 - 1.6666654611e-1f;
    s = s * p2 * phi + phi;
    v8f c = 2.443315711809948e-5f;
    c = c * p2 - 1.388731625493765e-3f;
    c = c * p2 + 4.166664568298827e-2f;
    c = c * p2 * p2 - 0.5f * p2 + 1.0f;
    v8u quadrant = float_to_bits(shifted);
    v8u odd = 0u - (quadrant & 1u);
    v8u sign = (quadrant & 2u) << 30;
    v8u cb = float_to_bits(c), sb = float_to_bits(s);
    *cos_out = bits_to_float(((cb & ~odd) | ((sb ^ 0x80000000u) & odd)) ^ sign);
    *sin_out = bits_to_float(((sb & ~odd) | (cb & odd)) ^ sign);
}

static inline void box_muller(v8f u1, v8f u2, v8f *z1, v8f *z2) {
    v8f r = __builtin_elementwise_sqrt(-2.0f * vlog(u1));
    v8f c, s;
    vcossin2pi(u2, &c, &s);
    *z1 = r * c;
    *z2 = r * s;
}

void sad_philox_fill(uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                     uint64_t first_group, size_t groups, int mode, float mean, float std,
                     float *out) {
    const v8u lane = {0, 1, 2, 3, 4, 5, 6, 7};
    for (size_t g = 0; g < groups; g++) {
        v8u x0 = (uint32_t)(8 * (first_group + g)) + lane;
        v8u x1 = (v8u)c1, x2 = (v8u)c2, x3 = (v8u)c3;
        philox8(&x0, &x1, &x2, &x3, k0, k1);
        v8f f0, f1, f2, f3;
        if (mode == 0) {
            f0 = uniform(x0); f1 = uniform(x1); f2 = uniform(x2); f3 = uniform(x3);
        } else {
            box_muller(uniform(x0), uniform(x1), &f0, &f1);
            box_muller(uniform(x2), uniform(x3), &f2, &f3);
            f0 = f0 * std + mean; f1 = f1 * std + mean; f2 = f2 * std + mean; f3 = f3 * std + mean;
        }
        float *o = out + 32 * g;
        memcpy(o, &f0, 32); memcpy(o + 8, &f1, 32); memcpy(o + 16, &f2, 32); memcpy(o + 24, &f3, 32);
    }
}

void sad_fastmath_eval(const float *u, size_t n, float *log_out, float *cos_out, float *sin_out) {
    for (size_t i = 0; i + 8 <= n; i += 8) {
        v8f x; memcpy(&x, u + i, 32);
        v8f l = vlog(x), c, s;
        vcossin2pi(x, &c, &s);
        memcpy(log_out + i, &l, 32); memcpy(cos_out + i, &c, 32); memcpy(sin_out + i, &s, 32);
    }
}
