import CKernels

/// 2-D convolution (cross-correlation, as `nn.Conv2d`) with stride, symmetric zero padding
/// and optional bias: x (N, C, H, W), weight (O, C, kH, kW), bias (O) → (N, O, Ho, Wo),
/// Ho = ⌊(H + 2p − kH)/s⌋ + 1.
///
/// Implementation: per image, im2col into cols (C·kH·kW, Ho·Wo), then one SGEMM
/// weight (O, C·kH·kW) · cols. Images run in parallel. The backward pass recomputes the
/// columns instead of storing them (a batch of 1000 16×16 images would need 300 MB):
///   ∂W += ∂y_n (O, P) · cols_nᵀ,   ∂cols = Wᵀ · ∂y_n → col2im → ∂x_n,   ∂b += Σ_P ∂y_n.
/// ∂W and ∂b are summed over fixed chunks of ``imagesPerChunk`` images and the chunk
/// partials added in order: deterministic for any thread count. The forward pass of 3×3,
/// stride-1, padding-1 kernels at batch ≥ 8 goes through ``WinogradConv`` instead
/// (2.25× fewer FLOPs; the backward pass is unchanged, it needs only x and the weights).
public enum Conv2d {
    /// Geometry of one convolution.
    public struct Geometry: Equatable, Sendable {
        public let channels: Int, height: Int, width: Int
        public let outChannels: Int, kernelH: Int, kernelW: Int
        public let stride: Int, padding: Int
        public var outHeight: Int { (height + 2 * padding - kernelH) / stride + 1 }
        public var outWidth: Int { (width + 2 * padding - kernelW) / stride + 1 }
        /// Rows of the column matrix: C·kH·kW.
        public var patch: Int { channels * kernelH * kernelW }
        /// Output positions per image.
        public var positions: Int { outHeight * outWidth }
        var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }

        public init(input: [Int], weight: [Int], stride: Int, padding: Int) {
            precondition(input.count == 4 && weight.count == 4, "conv2d: input \(input), weight \(weight)")
            precondition(input[1] == weight[1], "conv2d: input channels \(input[1]) ≠ weight channels \(weight[1])")
            precondition(stride >= 1 && padding >= 0)
            channels = input[1]; height = input[2]; width = input[3]
            outChannels = weight[0]; kernelH = weight[2]; kernelW = weight[3]
            self.stride = stride; self.padding = padding
            precondition(
                height + 2 * padding >= kernelH && width + 2 * padding >= kernelW,
                "conv2d: kernel \(kernelH)×\(kernelW) larger than padded input \(height)×\(width)")
        }

        /// FLOPs of the forward pass for `batch` images (2 per multiply-add).
        public func forwardFLOPs(batch: Int) -> Double { 2 * Double(batch * outChannels * patch * positions) }
    }

    static let imagesPerChunk = 8

    /// How the forward pass computes: ``automatic`` uses Winograd F(2×2, 3×3) for 3×3 stride-1
    /// padding-1 kernels over at least ``WinogradConv/minimumPositions`` output positions (2.25× fewer
    /// FLOPs; see ``WinogradConv``) and im2col + SGEMM otherwise. The choice depends only on
    /// the shapes, so results stay independent of the thread count.
    enum Algorithm { case automatic, im2col }

    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor
    {
        forward(x, weight: weight, bias: bias, stride: stride, padding: padding, algorithm: .automatic)
    }

    /// With `addend` ((N, O, 1, 1) or (N, O, Ho, Wo)), `+ addend` is added to each chunk's
    /// outputs while they are in cache (``ConvAddend``).
    static func forward(
        _ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, algorithm: Algorithm,
        adding addend: Tensor? = nil
    ) -> Tensor {
        let g = Geometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding)
        if let bias { precondition(bias.shape == [g.outChannels], "conv2d bias \(bias.shape)") }
        let n = x.shape[0]
        let addend = addend.map { ConvAddend($0, output: [n, g.outChannels, g.outHeight, g.outWidth]) }
        if algorithm == .automatic && WinogradConv.isChosen(g, batch: n) {
            return WinogradConv.forward(x, weight: weight, bias: bias, g, adding: addend)
        }
        let inSize = g.channels * g.height * g.width, outSize = g.outChannels * g.positions
        // Every output element is written (bias fill, or a β = 0 GEMM), so skip the zeroing.
        var out = Tensor(uninitialized: [n, g.outChannels, g.outHeight, g.outWidth])
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                out.data.withUnsafeMutableBufferPointer { po in
                    let o = SharedPointer(po.baseAddress!)
                    Parallel.forEachChunk(total: n, chunkSize: imagesPerChunk) { _, images in
                        defer {
                            addend?.add(to: o.base, images: images, channels: g.outChannels, positions: g.positions)
                        }
                        if g.isPointwise {
                            for i in images {
                                // The next image's input (64 KiB for the U-Net's 64 → 32 skip connections)
                                // into the caches while this image's GEMM runs: BLAS's small kernel reads
                                // it a channel row at a time, 1 KiB apart, from L3 otherwise (its share
                                // of a 1x16x16 sampling profile fell from 6.2–6.4% to 5.4%).
                                if i + 1 < images.upperBound {
                                    sad_prefetch(px.baseAddress! + (i + 1) * inSize, inSize)
                                }
                                forwardImage(
                                    b: px.baseAddress! + i * inSize, ldb: g.positions, columns: g.positions,
                                    weight: pw.baseAddress!, bias: bias, out: o.base + i * outSize, ldo: g.positions, g)
                            }
                            return
                        }
                        // The chunk's columns side by side, (C·kH·kW, m·P): one GEMM per chunk packs
                        // the weights once for m images instead of once per image.
                        let m = images.count, ld = m * g.positions
                        // (C·kH·kW, m·P) and (O, m·P), fully written (im2col; bias fill or β = 0 GEMM).
                        var cols = [Float](unsafeUninitializedCapacity: g.patch * ld) { $1 = $0.count }
                        var tmp = [Float](unsafeUninitializedCapacity: g.outChannels * ld) { $1 = $0.count }
                        cols.withUnsafeMutableBufferPointer { pc in
                            tmp.withUnsafeMutableBufferPointer { pt in
                                for (j, i) in images.enumerated() {
                                    im2col(px.baseAddress! + i * inSize, pc.baseAddress! + j * g.positions, g, ld: ld)
                                }
                                forwardImage(
                                    b: pc.baseAddress!, ldb: ld, columns: ld, weight: pw.baseAddress!, bias: bias,
                                    out: pt.baseAddress!, ldo: ld, g)
                                // (O, m·P) → the chunk's (m, O, P) in one strided copy: per (image,
                                // channel) copies were 16 or 64 floats each, mostly call overhead.
                                let shape: [Int64] = [Int64(m), Int64(g.outChannels), Int64(g.positions)]
                                let strides: [Int64] = [Int64(g.positions), Int64(ld), 1]
                                sad_strided_gather(
                                    o.base + images.lowerBound * outSize, pt.baseAddress!, 3, shape, strides)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// out (O, columns) with leading dimension ldo ← W (O, C·k·k) · B (C·k·k, columns) + bias.
    @inline(__always)
    static func forwardImage(
        b: UnsafePointer<Float>, ldb: Int, columns: Int, weight: UnsafePointer<Float>, bias: Tensor?,
        out: UnsafeMutablePointer<Float>, ldo: Int, _ g: Geometry
    ) {
        if let bias {
            // One vectorised fill per row (the element loop compiled to scalar stores with
            // overflow checks: 2% of a U-Net 1x16x16 sampling step).
            bias.data.withUnsafeBufferPointer { pb in
                for oc in 0..<g.outChannels { (out + oc * ldo).update(repeating: pb[oc], count: columns) }
            }
        }
        BLAS.sgemm(
            .none, .none, m: g.outChannels, n: columns, k: g.patch, a: weight, lda: g.patch, b: b, ldb: ldb,
            beta: bias == nil ? 0 : 1, c: out, ldc: ldo)
    }

    /// (∂x, ∂W, ∂b).
    public static func backward(
        _ x: Tensor, weight: Tensor, hasBias: Bool, stride: Int = 1, padding: Int = 0,
        _ dy: Tensor
    ) -> (Tensor, Tensor, Tensor?) {
        let g = Geometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding)
        let n = x.shape[0]
        let inSize = g.channels * g.height * g.width, outSize = g.outChannels * g.positions
        let wCount = g.outChannels * g.patch
        // ∂x of a 3×3 stride-1 padding-1 convolution is the same kind of convolution of ∂y with
        // the kernel flipped in space and its channels swapped, W′[c, o, a, b] = W[o, c, 2 − a,
        // 2 − b]: Winograd F(2×2, 3×3) then does it with 2.25× fewer multiplies than the
        // (9C × O)·(O × HW) GEMM and the col2im scatter (same rule for when it applies as the
        // forward pass; tested against the im2col path and by finite differences).
        // ∂W then goes through the adjoint of the Winograd forward pass
        // (``WinogradConv/weightGradient(_:_:_:hasBias:)``), 2.25× fewer multiplies than
        // ∂y · colsᵀ and no im2col.
        if WinogradConv.isChosen(g, batch: n) {
            let dx = WinogradConv.forward(
                dy, weight: weight, flippedKernel: true, bias: nil,
                Geometry(input: dy.shape, weight: [g.channels, g.outChannels, 3, 3], stride: 1, padding: 1))
            let (dw, db) = WinogradConv.weightGradient(x, dy, g, hasBias: hasBias)
            return (dx, dw, db)
        }
        // ∂x is fully written per image (β = 0 GEMM, or col2im which clears it first).
        var dx = Tensor(uninitialized: x.shape)
        var sums: [Float] = []
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                dy.data.withUnsafeBufferPointer { pg in
                    dx.data.withUnsafeMutableBufferPointer { pdx in
                        let dxBase = SharedPointer(pdx.baseAddress!)
                        sums = Parallel.sumOverChunks(
                            total: n, chunkSize: imagesPerChunk,
                            resultCount: wCount + (hasBias ? g.outChannels : 0)
                        ) { _, images, partial in
                            let colCount = g.isPointwise ? 0 : g.patch * g.positions
                            var cols = [Float](repeating: 0, count: colCount)
                            var dcols = [Float](repeating: 0, count: colCount)
                            cols.withUnsafeMutableBufferPointer { pc in
                                dcols.withUnsafeMutableBufferPointer { pdc in
                                    for i in images {
                                        let src = px.baseAddress! + i * inSize
                                        let gy = pg.baseAddress! + i * outSize
                                        let dxi = dxBase.base + i * inSize
                                        let colPtr: UnsafePointer<Float>
                                        if g.isPointwise {
                                            colPtr = src
                                        } else {
                                            im2col(src, pc.baseAddress!, g)
                                            colPtr = UnsafePointer(pc.baseAddress!)
                                        }
                                        // ∂W += ∂y_n · colsᵀ
                                        BLAS.sgemm(
                                            .none, .transpose, m: g.outChannels, n: g.patch, k: g.positions,
                                            a: gy, lda: g.positions, b: colPtr, ldb: g.positions,
                                            beta: 1, c: partial, ldc: g.patch)
                                        if hasBias {
                                            for oc in 0..<g.outChannels {
                                                var s: Float = 0
                                                for p in 0..<g.positions { s += gy[oc * g.positions + p] }
                                                partial[wCount + oc] += s
                                            }
                                        }
                                        // ∂cols = Wᵀ · ∂y_n, scattered back to ∂x_n.
                                        if g.isPointwise {
                                            BLAS.sgemm(
                                                .transpose, .none, m: g.patch, n: g.positions, k: g.outChannels,
                                                a: pw.baseAddress!, lda: g.patch, b: gy, ldb: g.positions,
                                                c: dxi, ldc: g.positions)
                                        } else {
                                            BLAS.sgemm(
                                                .transpose, .none, m: g.patch, n: g.positions, k: g.outChannels,
                                                a: pw.baseAddress!, lda: g.patch, b: gy, ldb: g.positions,
                                                c: pdc.baseAddress!, ldc: g.positions)
                                            col2im(UnsafePointer(pdc.baseAddress!), dxi, g)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let dw = Tensor(shape: weight.shape, data: Array(sums[0..<wCount]))
        let db = hasBias ? Tensor(shape: [g.outChannels], data: Array(sums[wCount...])) : nil
        return (dx, dw, db)
    }

    /// W′ (C, O, 3, 3) with W′[c, o, a, b] = W[o, c, 2 − a, 2 − b] for W (O, C, 3, 3): the
    /// kernel whose convolution (padding 1) is the transpose of W's.
    static func flippedTransposedKernel(_ w: Tensor) -> Tensor {
        let o = w.shape[0], c = w.shape[1]
        var out = Tensor(uninitialized: [c, o, 3, 3])
        for oc in 0..<o {
            for ic in 0..<c {
                for k in 0..<9 { out.data[(ic * o + oc) * 9 + 8 - k] = w.data[(oc * c + ic) * 9 + k] }
            }
        }
        return out
    }

    /// cols[(c·kH + ki)·kW + kj][oy·Wo + ox] = x[c][oy·s + ki − p][ox·s + kj − p] (0 outside).
    ///
    /// Each input plane is first copied into a zero-bordered (H + 2p)×(W + 2p) buffer, so
    /// every column row is a plain strided copy with no bounds logic: rows are short (16
    /// floats at 16×16, 8 or 4 for the stride-2 downsampling), so the loops are a C kernel
    /// (CKernels/Im2col.c; the Swift loops stayed scalar).
    public static func im2col(
        _ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, _ g: Geometry, ld: Int? = nil
    ) {
        let ph = g.height + 2 * g.padding, pw = g.width + 2 * g.padding
        withUnsafeTemporaryAllocation(of: Float.self, capacity: ph * pw) { padded in
            sad_im2col(
                x, Int32(g.channels), Int32(g.height), Int32(g.width), Int32(g.kernelH), Int32(g.kernelW),
                Int32(g.stride), Int32(g.padding), cols, ld ?? g.positions, padded.baseAddress!)
        }
    }

    /// Adjoint of ``im2col(_:_:_:ld:)``: dx[c][iy][ix] = Σ dcols over the patches using it,
    /// in the order (c, ki, kj, oy, ox). Overwrites dx.
    static func col2im(_ cols: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: Geometry) {
        sad_col2im(
            cols, Int32(g.channels), Int32(g.height), Int32(g.width), Int32(g.kernelH), Int32(g.kernelW),
            Int32(g.stride), Int32(g.padding), dx)
    }
}

/// `nn.Conv2d` forward with autodiff.
public func conv2d(_ x: Variable, weight: Variable, bias: Variable?, stride: Int = 1, padding: Int = 0) -> Variable {
    let y = Conv2d.forward(x.value, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    let xv = x.value, wv = weight.value, hasBias = bias != nil
    return Variable.recordWithParameters(y, x: x, weight: weight, bias: bias) { dy in
        Conv2d.backward(xv, weight: wv, hasBias: hasBias, stride: stride, padding: padding, dy)
    }
}
