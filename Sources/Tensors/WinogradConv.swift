import CKernels

/// Winograd F(2×2, 3×3) forward convolution for 3×3 kernels, stride 1, padding 1 — the
/// shape of nearly every convolution in the iDDPM U-Net.
///
/// Each output is split into 2×2 tiles; tile t reads the 4×4 input patch starting at
/// (2·ty − 1, 2·tx − 1) (zeros outside the image, which is the padding). With
///   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
///   Aᵀ = [1 1 1 0; 0 1 −1 −1],
/// a tile's output is Aᵀ [ Σ_c (G w_oc Gᵀ) ⊙ (Bᵀ d_c B) ] A: the 16 element-wise products
/// become 16 GEMMs U_ξ (O, C) · V_ξ (C, tiles), 16 multiplies per 2×2 outputs instead of 36,
/// i.e. 2.25× fewer FLOPs than im2col.
///
/// Numerics: the transforms use only 0, ±1 and ±½ (exact scalings in binary floating point),
/// so the result differs from direct convolution by float32 rounding of a few extra
/// additions per product — the same order as a change of summation order (≲ 1e-6 relative;
/// tested against the im2col path). Larger Winograd tiles (F(4×4, 3×3)) would save 1.78× of
/// the GEMM FLOPs but need coefficients like 1/6 and 8: measured (Benchmarks/winograd-accuracy.py),
/// one such convolution errs by 4–10e-6 of its output scale, 14–22× ours and at 128 channels
/// the whole network's fixture bound, so they are not used.
///
/// Determinism: images are processed in fixed chunks of ``imagesPerChunk``; each
/// output element is a pure function of its image, the weights and the chunk layout.
enum WinogradConv {
    /// Whether a convolution has the shape this path handles.
    static func applies(_ g: Conv2d.Geometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.stride == 1 && g.padding == 1
    }

    /// Convolutions with fewer output positions than this (batch × H × W) use im2col: the
    /// kernel transform (O·C kernels) is paid once per call, and for one 16×16 image (a fresh
    /// network per probe, the geometry estimators' case) it cost more than the FLOPs it saves
    /// (measured: 0.09 ms vs 0.06 ms for 32→32). The fixed cost is ≈ 0.06 ms, the saving
    /// ≈ 0.033 ms per 256 positions, so the break-even is ≈ 500 positions. 512 (since 0.4.0;
    /// 1,024 before) keeps batch-1 geometry at 16×16 on im2col and takes the 4×4 level of every
    /// micro-batch (≥ 32 images, ``MicroBatching``) to Winograd, where im2col and the copy of its
    /// product back into (N, O, H, W) took 10–14% of a U-Net 1x16x16 sampling step.
    static let minimumPositions = 512

    /// Whether a convolution of geometry `g` over `batch` images goes through this path (the
    /// forward pass, ∂x and ∂W use the same rule).
    static func isChosen(_ g: Conv2d.Geometry, batch: Int) -> Bool {
        applies(g) && batch * g.positions >= minimumPositions
    }

    /// Plane widths with row-vectorised tile kernels (`sad_winograd_input_planes`,
    /// `sad_winograd_output_planes`, `sad_winograd_output_adjoint_planes`): 4, 8 and 16 with
    /// several tile rows per vector (the U-Net 1x16x16's levels), 5…32 one tile row at a time in
    /// zero-padded 8-, 16- or 32-lane vectors (28, 14, 7 of the 1x28x28, 32 of the 3x32x32).
    /// Narrower and wider planes use the plane-by-plane kernels; the C kernels decline (return 0,
    /// write nothing) for them.
    static func hasRowKernels(width: Int) -> Bool { (4...32).contains(width) }

    /// Images per chunk of the forward pass (one set of 16 GEMMs). Fixed, so results do not
    /// depend on the thread count. An output element is one image's transforms and one GEMM
    /// column, and OpenBLAS forms every column alike except the last n mod 16 of a call (its
    /// tail kernel rounds them differently: measured, (32, 32)·(32, 196) against the first 196
    /// columns of (32, 32)·(32, 784)), so the chunk size is part of the rounding wherever
    /// m·T is not a multiple of 16. 4 since the row-vectorised transforms: a
    /// chunk's V (16, C, m·T) for the U-Net's 32 channels at 16×16 is then 512 KiB and stays in
    /// L2 between the input transform and the GEMMs (8 images: 1 MiB; `sad sample` 10 steps at
    /// batch 1000, alternating builds: 4.60–5.07 s against 4.71–5.55 s, the samples identical).
    static let imagesPerChunk = 4

    /// Images per set of ∂W GEMMs (``weightGradient(_:_:_:hasBias:)``): their products are added
    /// into one partial sum, so this number is part of the gradient's rounding; kept at 8.
    static let imagesPerGradientGEMM = 8

    /// (N, O, H, W) ← conv3×3(x (N, C, H, W), weight (O, C, 3, 3)) + bias, padding 1, then
    /// `+ addend` when given (``ConvAddend``), added to each chunk's outputs while they are in cache.
    /// With `flippedKernel`, `weight` is (C, O, 3, 3) and the kernel used is its flipped, channel-
    /// swapped one (``Conv2d/flippedTransposedKernel(_:)``: ∂x of a convolution with `weight`).
    /// The transformed kernels come from ``WinogradKernelCache`` (the same values as computing them).
    /// With `input`, the convolution is of SiLU(scale · x + shift) per plane (``AffineSiLUInput``).
    static func forward(
        _ x: Tensor, weight: Tensor, flippedKernel: Bool = false, bias: Tensor?, _ g: Conv2d.Geometry,
        adding addend: ConvAddend? = nil, input prologue: AffineSiLUInput? = nil
    ) -> Tensor {
        precondition(applies(g))
        if let prologue { precondition(prologue.scale.count == x.shape[0] * g.channels, "prologue for \(x.shape)") }
        let n = x.shape[0], tiles = ((g.height + 1) / 2) * ((g.width + 1) / 2)
        let u = WinogradKernelCache.shared.kernels(weight, flipped: flippedKernel)
        precondition(u.count == 16 * g.outChannels * g.channels, "Winograd kernels \(u.count) for \(g)")
        var out = Tensor(uninitialized: [n, g.outChannels, g.height, g.width])  // every element is written
        x.data.withUnsafeBufferPointer { px in
            u.withUnsafeBufferPointer { pu in
                out.data.withUnsafeMutableBufferPointer { po in
                    let o = SharedPointer(po.baseAddress!)
                    // Zeros without a bias: the output transform adds one either way.
                    let biasData = bias?.data ?? [Float](repeating: 0, count: g.outChannels)
                    biasData.withUnsafeBufferPointer { pb in
                        Parallel.forEachChunk(total: n, chunkSize: imagesPerChunk) { _, images in
                            let ld = images.count * tiles
                            // (16, C, m·T) and (16, O, m·T), both fully written before they are read.
                            AlignedScratch.withFloats(16 * blockStride(g.channels * ld)) { v in
                                AlignedScratch.withFloats(16 * blockStride(g.outChannels * ld)) { prod in
                                    forwardChunk(
                                        x: px.baseAddress!, images: images, u: pu.baseAddress!, bias: pb.baseAddress!,
                                        out: o.base, g, v: v, prod: prod, input: prologue)
                                }
                            }
                            addend?.add(to: o.base, images: images, channels: g.outChannels, positions: g.positions)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Distance between the 16 matrices of V and of the GEMM products. The transforms touch
    /// all 16 at once; with a power-of-two block size (e.g. 32·512 floats = 64 KiB) the 16
    /// streams fall into the same L1 cache sets and evict each other, so each block is padded
    /// by one cache line (16 floats).
    @inline(__always)
    static func blockStride(_ size: Int) -> Int { size + 16 }

    /// U (16, O, C): the transformed kernels G w Gᵀ, element ξ = 4·row + column.
    static func transformWeights(_ w: UnsafePointer<Float>, outChannels: Int, channels: Int) -> [Float] {
        let oc = outChannels * channels
        var u = [Float](repeating: 0, count: 16 * oc)
        u.withUnsafeMutableBufferPointer { pu in
            for k in 0..<oc {
                let g = w + 9 * k
                // t = G g (4×3), then the rows of t Gᵀ: the standard F(2,3) kernel transform.
                let g0 = SIMD4<Float>(g[0], g[1], g[2], 0), g1 = SIMD4<Float>(g[3], g[4], g[5], 0)
                let g2 = SIMD4<Float>(g[6], g[7], g[8], 0)
                let t = (g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2)
                for r in 0..<4 {
                    let tr = r == 0 ? t.0 : r == 1 ? t.1 : r == 2 ? t.2 : t.3
                    let t0 = tr[0], t1 = tr[1], t2 = tr[2]
                    pu[(4 * r + 0) * oc + k] = t0
                    pu[(4 * r + 1) * oc + k] = 0.5 * (t0 + t1 + t2)
                    pu[(4 * r + 2) * oc + k] = 0.5 * (t0 - t1 + t2)
                    pu[(4 * r + 3) * oc + k] = t2
                }
            }
        }
        return u
    }

    /// V (16, C, m·T) ← Bᵀ d B of every tile of the m images `images` of x (N, C, H, W) — of
    /// SiLU(scale · x + shift) with `input` — ; tile t of image j is column j·T + t, the 16 blocks
    /// ``blockStride(_:)`` apart.
    static func transformInputs(
        x: UnsafePointer<Float>, images: Range<Int>, _ g: Conv2d.Geometry, v: UnsafeMutablePointer<Float>,
        input prologue: AffineSiLUInput? = nil
    ) {
        let c = g.channels, h = g.height, w = g.width, planeSize = h * w
        let th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw
        let ld = images.count * tiles, vStride = blockStride(c * ld)
        // `stage` (m, H, W): one channel's planes of the chunk, formed by the prologue (L1-sized).
        func transform(stage: UnsafeMutablePointer<Float>?) {
            // One call per channel over the chunk's images, vectorised over whole rows (bitwise the
            // same as the plane-by-plane kernel below).
            if hasRowKernels(width: w) {
                for ch in 0..<c {
                    var planes = UnsafePointer(x + (images.lowerBound * c + ch) * planeSize)
                    var planeStride = c * planeSize
                    if let prologue, let stage {
                        prologue.stage(x, images: images, channel: ch, channels: c, planeSize: planeSize, into: stage)
                        (planes, planeStride) = (UnsafePointer(stage), planeSize)
                    }
                    let done = sad_winograd_input_planes(
                        planes, planeStride, Int32(images.count), Int32(h), Int32(w), v + ch * ld, vStride)
                    precondition(done == 1, "no row kernel for width \(w)")
                }
                return
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * (2 * th + 2) * (tw + 1)) { scratch in
                scratch.initialize(repeating: 0)
                for (j, i) in images.enumerated() {
                    for ch in 0..<c {
                        var plane = UnsafePointer(x + (i * c + ch) * planeSize)
                        if let prologue, let stage {
                            prologue.stage(
                                x, images: i..<(i + 1), channel: ch, channels: c, planeSize: planeSize, into: stage)
                            plane = UnsafePointer(stage)
                        }
                        sad_winograd_input(
                            plane, Int32(h), Int32(w), v + ch * ld + j * tiles, vStride, scratch.baseAddress!)
                    }
                }
            }
        }
        if prologue == nil {
            transform(stage: nil)
        } else {
            AlignedScratch.withFloats(images.count * planeSize) { transform(stage: $0) }
        }
    }

    /// y (m images, O, H, W) ← conv3×3(x (m images, C, H, W)) + bias, for the images of one chunk.
    /// `u` comes from ``transformWeights(_:outChannels:channels:)``; `v` (16, C, m·T) and
    /// `prod` (16, O, m·T) are scratch buffers of the chunk (blocks ``blockStride(_:)`` apart);
    /// tile t = ty·tw + tx of image j is column j·T + t. The tile transforms are C kernels
    /// (CKernels/Winograd.c) that run across a row of tiles in vector registers.
    static func forwardChunk(
        x: UnsafePointer<Float>, images: Range<Int>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, _ g: Conv2d.Geometry,
        v: UnsafeMutablePointer<Float>, prod: UnsafeMutablePointer<Float>, input prologue: AffineSiLUInput? = nil
    ) {
        let c = g.channels, o = g.outChannels, h = g.height, w = g.width
        let th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw
        let m = images.count, ld = m * tiles
        let vStride = blockStride(c * ld), pStride = blockStride(o * ld)
        transformInputs(x: x, images: images, g, v: v, input: prologue)
        // Column blocks keep each GEMM on BLAS's small-matrix kernel (``gemmColumns(m:n:k:)``);
        // every output column is the same in-order sum of C products whichever block it is in.
        let columns = gemmColumns(m: o, n: ld, k: c)
        for xi in 0..<16 {
            for first in stride(from: 0, to: ld, by: columns) {
                BLAS.sgemm(
                    .none, .none, m: o, n: min(columns, ld - first), k: c, a: u + xi * o * c, lda: c,
                    b: UnsafePointer(v + xi * vStride + first), ldb: ld, c: prod + xi * pStride + first, ldc: ld)
            }
        }
        if hasRowKernels(width: w) {
            for oc in 0..<o {
                let done = sad_winograd_output_planes(
                    prod + oc * ld, pStride, Int32(m), Int32(h), Int32(w), bias[oc],
                    out + (images.lowerBound * o + oc) * h * w, o * h * w)
                precondition(done == 1, "no row kernel for width \(w)")
            }
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * tw) { scratch in
            for (j, i) in images.enumerated() {
                for oc in 0..<o {
                    sad_winograd_output(
                        prod + oc * ld + j * tiles, pStride, Int32(h), Int32(w), bias[oc],
                        out + (i * o + oc) * h * w, scratch.baseAddress!)
                }
            }
        }
    }

    /// Products m·n·k up to which OpenBLAS (0.3.x, x86-64 with AVX-512) runs a single-precision
    /// GEMM on its small-matrix kernel, straight from the operands. Above it the GEMM goes
    /// through the packed path, whose operand copies are not repaid on Winograd's short sums
    /// (k = C ≤ 128): measured alone, (32, 32)·(32, 1024) ran at 44–53 GFLOP/s whole and at
    /// 76–86 in column blocks of 256–512, (32, 64)·(64, 784) at 78 whole and 101 in blocks.
    static let smallGEMMProducts = 1_000_000

    /// GEMM columns per call for the forward GEMMs (O, C)·(C, n): the whole n when m·n·k stays
    /// within ``smallGEMMProducts``, else the fewest equal blocks (rounded up to whole 16-float
    /// vectors) that do. Splitting the columns of C ← A·B does not change any element's sum.
    static func gemmColumns(m: Int, n: Int, k: Int) -> Int {
        let widest = max(16, smallGEMMProducts / max(1, m * k) / 16 * 16)
        if n <= widest { return n }
        let blocks = (n + widest - 1) / widest
        return ((n + blocks - 1) / blocks + 15) / 16 * 16  // ≤ widest, a multiple of 16
    }

    /// Images whose weight-gradient contributions share one partial sum (``Parallel/sumOverChunks``):
    /// each chunk is transformed ``imagesPerGradientGEMM`` images at a time into the same partial, so
    /// that the partials (16·O·C floats each) stay few at batch 1000.
    static let imagesPerGradientChunk = 32

    /// Whether the ∂W GEMMs C (m, n) += A (m, k) · B (n, k)ᵀ use `sad_sgemm_nt_accumulate` (CKernels/
    /// GemmNT.c) rather than BLAS: when the product is past ``smallGEMMProducts`` (BLAS's packed
    /// path) over long sums (k ≥ 512) and both sides are at least one 4-wide block. Measured alone
    /// (one thread, AVX-512), GFLOP/s BLAS → direct: (32, 64, 512) 78 → 103, (32, 32, 1568) 76 → 104,
    /// (64, 64, 2048) 69 → 94, (128, 128, 512) 98 → 103; below it BLAS's small kernel is the faster
    /// ((32, 32, 512) 108 vs 103, and (64, 64, 128) 89 vs 76: the direct kernel's lane sums are
    /// not repaid on short sums). The choice depends on the shape only, so it is part of the
    /// gradient's rounding like ``imagesPerGradientGEMM``.
    static func usesDirectGradientGEMM(m: Int, n: Int, k: Int) -> Bool {
        m >= 4 && n >= 4 && k >= 512 && m * n * k > smallGEMMProducts
    }

    /// (∂W (O, C, 3, 3), ∂b (O) when `hasBias`) of the convolution y = conv3×3(x) + b, given
    /// ∂y (N, O, H, W): the adjoint of the forward pass. With M_ξ = U_ξ V_ξ (the 16 GEMMs of
    /// the forward pass) and y = Aᵀ M A per tile, ∂M_ξ = (A ∂Y Aᵀ)_ξ per tile, ∂U_ξ = Σ_tiles
    /// ∂M_ξ V_ξᵀ — 16 GEMMs of (O, tiles)·(tiles, C) per chunk instead of the (O, HW)·(HW, 9C)
    /// GEMM per image of im2col (2.25× fewer multiplies, no im2col) — and ∂W = Gᵀ ∂U G per (o, c).
    /// Tested against the im2col gradient and by finite differences.
    static func weightGradient(_ x: Tensor, _ dy: Tensor, _ g: Conv2d.Geometry, hasBias: Bool) -> (Tensor, Tensor?) {
        precondition(applies(g))
        let n = x.shape[0], c = g.channels, o = g.outChannels, h = g.height, w = g.width
        let tiles = ((h + 1) / 2) * ((w + 1) / 2), tw = (w + 1) / 2
        let uCount = 16 * o * c
        let sums = x.data.withUnsafeBufferPointer { px in
            dy.data.withUnsafeBufferPointer { pg in
                Parallel.sumOverChunks(
                    total: n, chunkSize: imagesPerGradientChunk, resultCount: uCount + (hasBias ? o : 0)
                ) { _, images, partial in
                    let most = min(imagesPerGradientGEMM, images.count) * tiles
                    // (16, C, m·T) and (16, O, m·T), fully written before they are read.
                    AlignedScratch.withFloats(16 * blockStride(c * most)) { pv in
                        AlignedScratch.withFloats(16 * blockStride(o * most)) { pm in
                            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * (tw + 8) + o) { scratch in
                                let planeSums = scratch.baseAddress! + 4 * (tw + 8)  // (O) per image
                                for start in stride(
                                    from: images.lowerBound, to: images.upperBound, by: imagesPerGradientGEMM)
                                {
                                    let part = start..<min(start + imagesPerGradientGEMM, images.upperBound)
                                    let ld = part.count * tiles
                                    let vStride = blockStride(c * ld), mStride = blockStride(o * ld)
                                    transformInputs(x: px.baseAddress!, images: part, g, v: pv)
                                    let first = pg.baseAddress! + part.lowerBound * o * h * w
                                    if hasRowKernels(width: w) {
                                        // One call per channel over the part's images (bitwise the same).
                                        for oc in 0..<o {
                                            let done = sad_winograd_output_adjoint_planes(
                                                first + oc * h * w, o * h * w, Int32(part.count), Int32(h), Int32(w),
                                                pm + oc * ld, mStride)
                                            precondition(done == 1, "no row kernel for width \(w)")
                                        }
                                    } else {
                                        for j in 0..<part.count {
                                            for oc in 0..<o {
                                                sad_winograd_output_adjoint(
                                                    first + (j * o + oc) * h * w, Int32(h), Int32(w),
                                                    pm + oc * ld + j * tiles, mStride, scratch.baseAddress!
                                                )
                                            }
                                        }
                                    }
                                    if hasBias {
                                        // ∂b: each plane's in-order float sum, eight planes side by side.
                                        for j in 0..<part.count {
                                            sad_plane_sums(first + j * o * h * w, h * w, h * w, o, planeSums)
                                            for oc in 0..<o { partial[uCount + oc] += planeSums[oc] }
                                        }
                                    }
                                    // ∂U_ξ (O, C) += ∂M_ξ (O, m·T) · V_ξᵀ (m·T, C)
                                    let direct = usesDirectGradientGEMM(m: o, n: c, k: ld)
                                    for xi in 0..<16 {
                                        let dmXi = pm + xi * mStride, vXi = pv + xi * vStride
                                        if direct {
                                            sad_sgemm_nt_accumulate(
                                                o, c, ld, dmXi, ld, vXi, ld, partial + xi * o * c, c)
                                        } else {
                                            BLAS.sgemm(
                                                .none, .transpose, m: o, n: c, k: ld, a: dmXi, lda: ld, b: vXi,
                                                ldb: ld, beta: 1, c: partial + xi * o * c, ldc: c)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (
            Tensor(shape: [o, c, 3, 3], data: inverseTransformWeights(sums, outChannels: o, channels: c)),
            hasBias ? Tensor(shape: [o], data: Array(sums[uCount...])) : nil
        )
    }

    /// ∂W (O, C, 3, 3) ← Gᵀ ∂U G from ∂U (16, O, C) (the first 16·O·C floats of `du`): the
    /// adjoint of ``transformWeights(_:outChannels:channels:)``, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
    static func inverseTransformWeights(_ du: [Float], outChannels: Int, channels: Int) -> [Float] {
        let oc = outChannels * channels
        var dw = [Float](repeating: 0, count: 9 * oc)
        for k in 0..<oc {
            // s_a = Σ_i G[i][a] ∂U[i][·] over the rows i, then the same over the columns.
            func row(_ r: Int) -> SIMD4<Float> {
                SIMD4(du[4 * r * oc + k], du[(4 * r + 1) * oc + k], du[(4 * r + 2) * oc + k], du[(4 * r + 3) * oc + k])
            }
            let u0 = row(0), u1 = row(1), u2 = row(2), u3 = row(3)
            for (a, t) in [u0 + 0.5 * (u1 + u2), 0.5 * (u1 - u2), 0.5 * (u1 + u2) + u3].enumerated() {
                dw[9 * k + 3 * a] = t[0] + 0.5 * (t[1] + t[2])
                dw[9 * k + 3 * a + 1] = 0.5 * (t[1] - t[2])
                dw[9 * k + 3 * a + 2] = 0.5 * (t[1] + t[2]) + t[3]
            }
        }
        return dw
    }
}
