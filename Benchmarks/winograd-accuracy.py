#!/usr/bin/env python3
"""Float32 error of Winograd F(2x2, 3x3) and F(4x4, 3x3) against a Float64 direct convolution.

Why this exists: F(4x4, 3x3) would do a 3x3 convolution with 36 multiplies per 4x4 outputs
instead of F(2x2, 3x3)'s 16 per 2x2 (1.78x fewer GEMM FLOPs), but its transforms have
coefficients up to 8 (points 0, +-1, +-2) or 1/8 (points 0, +-1, +-1/2), and float32 rounding
grows with them. The golden fixtures bound the network outputs at 1e-5 * max(1, max|ref|)
(Tests/Fixtures/*/manifest.json); this measures one convolution's error to see whether a
network of ~20 of them could stay inside that bound. docs/PERFORMANCE.md quotes the output.

The transforms are built by Toom-Cook (A^T and G from the points, B^T solved so that the
bilinear identity holds exactly in Float64); the float32 pipeline transforms, multiplies,
sums over channels and transforms back in float32, as WinogradConv does (its summation order
differs, which changes the error by well under a factor of two).

Usage: python3 Benchmarks/winograd-accuracy.py   (numpy only; about a minute)
"""
import numpy as np


def construct(points, m, r=3):
    """A^T (m, n), G (n, r), B^T (n, n) of F(m, r) on the finite `points` plus infinity."""
    n = m + r - 1
    assert len(points) == n - 1
    at, g = np.zeros((m, n)), np.zeros((n, r))
    for j, p in enumerate(points):
        at[:, j] = [p**i for i in range(m)]
        f = np.prod([p - q for k, q in enumerate(points) if k != j])
        g[j] = [p**k / f for k in range(r)]
    at[m - 1, n - 1] = 1
    g[n - 1, r - 1] = 1
    # sum_j A^T[i, j] G[j, k] B^T[j, l] = [l == i + k] for all i, k, l: linear in B^T.
    rows, rhs = [], []
    for i in range(m):
        for k in range(r):
            for l in range(n):
                coef = np.zeros((n, n))
                coef[:, l] = at[i, :] * g[:, k]
                rows.append(coef.ravel())
                rhs.append(1.0 if l == i + k else 0.0)
    sol = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    assert np.abs(np.array(rows) @ sol - rhs).max() < 1e-12
    return at, g, sol.reshape(n, n)


def winograd(x, w, at, g, bt, dtype):
    """conv3x3(x (C, H, W), w (O, C, 3, 3)), padding 1, every step in `dtype`."""
    m, n = at.shape[0], bt.shape[0]
    c, h, wd = x.shape
    th, tw = -(-h // m), -(-wd // m)
    xp = np.zeros((c, th * m + 2, tw * m + 2), dtype)
    xp[:, 1 : h + 1, 1 : wd + 1] = x
    at, g, bt = at.astype(dtype), g.astype(dtype), bt.astype(dtype)
    u = np.einsum("ik,ockl,jl->ocij", g, w.astype(dtype), g)
    y = np.zeros((w.shape[0], th * m, tw * m), dtype)
    for ty in range(th):
        for tx in range(tw):
            d = xp[:, ty * m : ty * m + n, tx * m : tx * m + n]
            v = np.einsum("ik,ckl,jl->cij", bt, d, bt)
            prod = np.einsum("ocij,cij->oij", u, v)
            y[:, ty * m : ty * m + m, tx * m : tx * m + m] = np.einsum("ik,okl,jl->oij", at, prod, at)
    return y[:, :h, :wd]


def direct(x, w, dtype):
    c, h, wd = x.shape
    xp = np.zeros((c, h + 2, wd + 2), dtype)
    xp[:, 1:-1, 1:-1] = x
    y = np.zeros((w.shape[0], h, wd), dtype)
    for a in range(3):
        for b in range(3):
            y += np.einsum("oc,chw->ohw", w[:, :, a, b].astype(dtype), xp[:, a : a + h, b : b + wd])
    return y


def main():
    schemes = [
        ("F(2x2,3x3), points 0, +-1", [0, 1, -1], 2),
        ("F(4x4,3x3), points 0, +-1, +-2", [0, 1, -1, 2, -2], 4),
        ("F(4x4,3x3), points 0, +-1, +-1/2", [0, 1, -1, 0.5, -0.5], 4),
    ]
    print("max |error| / max |output| of one 3x3 convolution (16x16, C = O, PyTorch's default init),")
    print("worst over 3 seeds; float32 against Float64 direct")
    for c in (32, 64, 128):
        worst = {"direct float32": 0.0}
        for seed in range(3):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((c, 16, 16))
            w = rng.uniform(-1, 1, (c, c, 3, 3)) / np.sqrt(9 * c)
            ref = direct(x, w, np.float64)
            scale = np.abs(ref).max()
            e = np.abs(direct(x.astype(np.float32), w.astype(np.float32), np.float32) - ref).max() / scale
            worst["direct float32"] = max(worst["direct float32"], e)
            for name, points, m in schemes:
                at, g, bt = construct(points, m)
                y = winograd(x.astype(np.float32), w.astype(np.float32), at, g, bt, np.float32)
                worst[name] = max(worst.get(name, 0.0), np.abs(y - ref).max() / scale)
        for name, e in worst.items():
            print(f"  C = {c:3d}  {name:36s} {e:.2e}")


if __name__ == "__main__":
    main()
