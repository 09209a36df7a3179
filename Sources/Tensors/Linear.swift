/// Affine map on the last axis, as `nn.Linear`: y = x·Wᵀ + b with x (…, I), W (O, I), b (O).
///
/// Rows are processed in fixed chunks of ``rowsPerChunk`` (one GEMM each, chunks in
/// parallel); the weight gradient is summed over chunk partials in chunk order, so the
/// result does not depend on the thread count.
public enum Linear {
    static let rowsPerChunk = 256

    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(
            weight.rank == 2 && x.shape.last == weight.shape[1],
            "linear: input \(x.shape) with weight \(weight.shape)")
        let inF = weight.shape[1], outF = weight.shape[0]
        if let bias { precondition(bias.shape == [outF], "linear bias \(bias.shape), expected [\(outF)]") }
        let rows = x.count / max(inF, 1)
        // Zeros only where there is no GEMM (no rows: x has an extent 0); otherwise the bias
        // rows or the GEMM (β = 0) write every element.
        var out =
            rows == 0
            ? Tensor(zeros: Array(x.shape.dropLast()) + [outF])
            : Tensor(uninitialized: Array(x.shape.dropLast()) + [outF])
        guard rows > 0 && outF > 0 else { return out }
        let biasData = bias?.data ?? []
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                out.data.withUnsafeMutableBufferPointer { po in
                    let o = SharedPointer(po.baseAddress!)
                    Parallel.forEachChunk(total: rows, chunkSize: rowsPerChunk) { _, r in
                        let dst = o.base + r.lowerBound * outF
                        if bias != nil {
                            biasData.withUnsafeBufferPointer { pb in
                                for i in 0..<r.count { (dst + i * outF).update(from: pb.baseAddress!, count: outF) }
                            }
                        }
                        BLAS.sgemm(
                            .none, .transpose, m: r.count, n: outF, k: inF,
                            a: px.baseAddress! + r.lowerBound * inF, lda: inF,
                            b: pw.baseAddress!, ldb: inF,
                            beta: bias == nil ? 0 : 1, c: dst, ldc: outF)
                    }
                }
            }
        }
        return out
    }

    /// (∂x, ∂W, ∂b).
    public static func backward(_ x: Tensor, weight: Tensor, hasBias: Bool, _ dy: Tensor) -> (Tensor, Tensor, Tensor?) {
        let inF = weight.shape[1], outF = weight.shape[0]
        let rows = x.count / max(inF, 1)
        // The GEMM (β = 0) writes every element of ∂x unless it is empty (outF = 0).
        var dx = outF == 0 ? Tensor(zeros: x.shape) : Tensor(uninitialized: x.shape)
        var sums = [Float](repeating: 0, count: outF * inF + outF)
        guard rows > 0 && inF > 0 && outF > 0 else {
            return (dx, Tensor(zeros: weight.shape), hasBias ? Tensor(zeros: [outF]) : nil)
        }
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                dy.data.withUnsafeBufferPointer { pg in
                    dx.data.withUnsafeMutableBufferPointer { pdx in
                        let o = SharedPointer(pdx.baseAddress!)
                        Parallel.forEachChunk(total: rows, chunkSize: rowsPerChunk) { _, r in
                            BLAS.sgemm(
                                .none, .none, m: r.count, n: inF, k: outF,
                                a: pg.baseAddress! + r.lowerBound * outF, lda: outF,
                                b: pw.baseAddress!, ldb: inF,
                                c: o.base + r.lowerBound * inF, ldc: inF)
                        }
                    }
                    // Partial = [dW (O·I) | db (O)] per chunk.
                    sums = Parallel.sumOverChunks(total: rows, chunkSize: rowsPerChunk, resultCount: outF * inF + outF)
                    { _, r, partial in
                        BLAS.sgemm(
                            .transpose, .none, m: outF, n: inF, k: r.count,
                            a: pg.baseAddress! + r.lowerBound * outF, lda: outF,
                            b: px.baseAddress! + r.lowerBound * inF, ldb: inF,
                            c: partial, ldc: inF)
                        if hasBias {
                            // Rows in order for each output j (the same sums as a scalar loop).
                            let db = partial + outF * inF
                            for i in r {
                                let row = pg.baseAddress! + i * outF
                                for j in 0..<outF { db[j] += row[j] }
                            }
                        }
                    }
                }
            }
        }
        let dw = Tensor(shape: weight.shape, data: Array(sums[0..<(outF * inF)]))
        let db = hasBias ? Tensor(shape: [outF], data: Array(sums[(outF * inF)...])) : nil
        return (dx, dw, db)
    }
}

/// x·Wᵀ + b on the last axis.
public func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
    let y = Linear.forward(x.value, weight: weight.value, bias: bias?.value)
    let xv = x.value, wv = weight.value, hasBias = bias != nil
    return Variable.recordWithParameters(y, x: x, weight: weight, bias: bias) { dy in
        Linear.backward(xv, weight: wv, hasBias: hasBias, dy)
    }
}
