import Foundation

/// Scaled dot-product attention: q (…, T, d), k (…, S, d), v (…, S, e) →
/// softmax(q·kᵀ·scale)·v (…, T, e), scale = 1/√d by default. Leading axes (batch, heads)
/// are flattened and run in parallel, three GEMMs each.
///
/// The attention matrix P (…, T, S) is kept for the backward pass:
///   ∂v = Pᵀ·∂o,  ∂P = ∂o·vᵀ,  ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P))·scale,  ∂q = ∂S·k,  ∂k = ∂Sᵀ·q.
public enum Attention {
    struct Dims {
        let batch: Int, t: Int, s: Int, d: Int, e: Int
        /// No extent is 0, so the GEMMs write every output element.
        var filled: Bool { batch > 0 && t > 0 && s > 0 && d > 0 && e > 0 }
    }

    static func dims(_ q: [Int], _ k: [Int], _ v: [Int]) -> Dims {
        precondition(q.count >= 2 && k.count == q.count && v.count == q.count, "attention: q \(q), k \(k), v \(v)")
        precondition(
            Array(q.dropLast(2)) == Array(k.dropLast(2)) && Array(k.dropLast(2)) == Array(v.dropLast(2)),
            "attention batch axes differ: q \(q), k \(k), v \(v)")
        precondition(q.last == k.last && k[k.count - 2] == v[v.count - 2], "attention: q \(q), k \(k), v \(v)")
        return Dims(batch: q.dropLast(2).reduce(1, *), t: q[q.count - 2], s: k[k.count - 2], d: q.last!, e: v.last!)
    }

    public static func forward(
        q: Tensor, k: Tensor, v: Tensor, scale: Float? = nil
    ) -> (output: Tensor, probabilities: Tensor) {
        let m = dims(q.shape, k.shape, v.shape)
        return q.data.withUnsafeBufferPointer { pq in
            k.data.withUnsafeBufferPointer { pk in
                v.data.withUnsafeBufferPointer { pv in
                    forward(
                        q: pq.baseAddress, k: pk.baseAddress, v: pv.baseAddress, m, leading: q.shape.dropLast(2),
                        scale: scale)
                }
            }
        }
    }

    /// The same for q, k and v packed in one tensor (3, …, T, d) (T = S, e = d), as a
    /// permuted qkv projection lays them out: no slices of it are copied, and the backward
    /// pass writes the three gradients into one tensor instead of scattering each into zeros.
    public static func forward(packed qkv: Tensor, scale: Float? = nil) -> (output: Tensor, probabilities: Tensor) {
        let m = packedDims(qkv.shape), third = qkv.count / 3
        return qkv.data.withUnsafeBufferPointer { p in
            let base = p.baseAddress
            return forward(
                q: base, k: base.map { $0 + third }, v: base.map { $0 + 2 * third }, m,
                leading: qkv.shape.dropFirst().dropLast(2), scale: scale)
        }
    }

    static func packedDims(_ shape: [Int]) -> Dims {
        precondition(shape.count >= 3 && shape[0] == 3, "packed attention: qkv \(shape), expected (3, …, T, d)")
        let one = Array(shape.dropFirst())
        return dims(one, one, one)
    }

    /// The kernel over raw operands (nil only when they are empty).
    static func forward(
        q: UnsafePointer<Float>?, k: UnsafePointer<Float>?, v: UnsafePointer<Float>?, _ m: Dims,
        leading: ArraySlice<Int>, scale: Float?
    ) -> (output: Tensor, probabilities: Tensor) {
        let sc = scale ?? 1 / Float(m.d).squareRoot()
        // The GEMMs (β = 0) and the softmax write every element unless an extent is 0.
        func buffer(_ shape: [Int]) -> Tensor { m.filled ? Tensor(uninitialized: shape) : Tensor(zeros: shape) }
        var p = buffer(Array(leading) + [m.t, m.s])  // (…, T, S)
        var out = buffer(Array(leading) + [m.t, m.e])  // (…, T, e)
        guard m.filled, let q, let k, let v else { return (out, p) }
        p.data.withUnsafeMutableBufferPointer { pp in
            out.data.withUnsafeMutableBufferPointer { po in
                let pBase = SharedPointer(pp.baseAddress!), oBase = SharedPointer(po.baseAddress!)
                Parallel.forEach(m.batch) { b in
                    let scores = pBase.base + b * m.t * m.s
                    BLAS.sgemm(
                        .none, .transpose, m: m.t, n: m.s, k: m.d, alpha: sc,
                        a: q + b * m.t * m.d, lda: m.d, b: k + b * m.s * m.d, ldb: m.d, c: scores, ldc: m.s)
                    for r in 0..<m.t { Softmax.row(scores + r * m.s, scores + r * m.s, m.s) }
                    BLAS.sgemm(
                        .none, .none, m: m.t, n: m.e, k: m.s,
                        a: scores, lda: m.s, b: v + b * m.s * m.e, ldb: m.e,
                        c: oBase.base + b * m.t * m.e, ldc: m.e)
                }
            }
        }
        return (out, p)
    }

    /// (∂q, ∂k, ∂v).
    public static func backward(
        q: Tensor, k: Tensor, v: Tensor, probabilities p: Tensor, scale: Float? = nil,
        _ dOut: Tensor
    ) -> (Tensor, Tensor, Tensor) {
        let m = dims(q.shape, k.shape, v.shape)
        // Every element is written by a GEMM (β = 0) unless an extent is 0.
        func gradient(_ shape: [Int]) -> Tensor { m.filled ? Tensor(uninitialized: shape) : Tensor(zeros: shape) }
        var dq = gradient(q.shape), dk = gradient(k.shape), dv = gradient(v.shape)
        guard m.filled else { return (dq, dk, dv) }
        q.data.withUnsafeBufferPointer { pq in
            k.data.withUnsafeBufferPointer { pk in
                v.data.withUnsafeBufferPointer { pv in
                    dq.data.withUnsafeMutableBufferPointer { pdq in
                        dk.data.withUnsafeMutableBufferPointer { pdk in
                            dv.data.withUnsafeMutableBufferPointer { pdv in
                                backward(
                                    q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, probabilities: p,
                                    m, scale: scale, dOut,
                                    dq: pdq.baseAddress!, dk: pdk.baseAddress!, dv: pdv.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }

    /// ∂qkv (3, …, T, d) of ``forward(packed:scale:)``.
    public static func backward(
        packed qkv: Tensor, probabilities p: Tensor, scale: Float? = nil, _ dOut: Tensor
    )
        -> Tensor
    {
        let m = packedDims(qkv.shape), third = qkv.count / 3
        var d = m.filled ? Tensor(uninitialized: qkv.shape) : Tensor(zeros: qkv.shape)  // (3, …, T, d)
        guard m.filled else { return d }
        qkv.data.withUnsafeBufferPointer { px in
            d.data.withUnsafeMutableBufferPointer { pd in
                let x = px.baseAddress!, g = pd.baseAddress!
                backward(
                    q: x, k: x + third, v: x + 2 * third, probabilities: p, m, scale: scale, dOut,
                    dq: g, dk: g + third, dv: g + 2 * third)
            }
        }
        return d
    }

    /// The VJP kernel over raw operands; writes every element of ∂q, ∂k and ∂v.
    static func backward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, probabilities p: Tensor,
        _ m: Dims, scale: Float?, _ dOut: Tensor,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        let sc = scale ?? 1 / Float(m.d).squareRoot()
        let dqB = SharedPointer(dq), dkB = SharedPointer(dk), dvB = SharedPointer(dv)
        p.data.withUnsafeBufferPointer { pp in
            dOut.data.withUnsafeBufferPointer { pg in
                Parallel.forEach(m.batch) { b in
                    let probs = pp.baseAddress! + b * m.t * m.s
                    let go = pg.baseAddress! + b * m.t * m.e
                    // ∂v = Pᵀ · ∂o
                    BLAS.sgemm(
                        .transpose, .none, m: m.s, n: m.e, k: m.t, a: probs, lda: m.s, b: go, ldb: m.e,
                        c: dvB.base + b * m.s * m.e, ldc: m.e)
                    // ∂P = ∂o · vᵀ, then the softmax VJP in place (times scale).
                    // (T, S), written by the GEMM before it is read.
                    var dScores = [Float](unsafeUninitializedCapacity: m.t * m.s) { $1 = $0.count }
                    dScores.withUnsafeMutableBufferPointer { ds in
                        BLAS.sgemm(
                            .none, .transpose, m: m.t, n: m.s, k: m.e, a: go, lda: m.e,
                            b: v + b * m.s * m.e, ldb: m.e, c: ds.baseAddress!, ldc: m.s)
                        for r in 0..<m.t {
                            let row = ds.baseAddress! + r * m.s
                            Softmax.rowBackward(probs + r * m.s, row, row, m.s)
                        }
                        BLAS.sgemm(
                            .none, .none, m: m.t, n: m.d, k: m.s, alpha: sc, a: ds.baseAddress!, lda: m.s,
                            b: k + b * m.s * m.d, ldb: m.d, c: dqB.base + b * m.t * m.d, ldc: m.d)
                        BLAS.sgemm(
                            .transpose, .none, m: m.s, n: m.d, k: m.t, alpha: sc, a: ds.baseAddress!, lda: m.s,
                            b: q + b * m.t * m.d, ldb: m.d, c: dkB.base + b * m.s * m.d, ldc: m.d)
                    }
                }
            }
        }
    }
}

/// softmax(q·kᵀ·scale)·v with autodiff; scale defaults to 1/√d.
public func scaledDotProductAttention(q: Variable, k: Variable, v: Variable, scale: Float? = nil) -> Variable {
    let (y, p) = Attention.forward(q: q.value, k: k.value, v: v.value, scale: scale)
    return Variable.record(y, [q, k, v]) {
        let qv = q.value, kv = k.value, vv = v.value
        return { dy in
            let (dq, dk, dv) = Attention.backward(q: qv, k: kv, v: vv, probabilities: p, scale: scale, dy)
            return [dq, dk, dv]
        }
    }
}

/// Attention over q, k, v packed in one tensor (3, …, T, d) (see
/// ``Attention/forward(packed:scale:)``) → (…, T, d).
public func scaledDotProductAttention(packed qkv: Variable, scale: Float? = nil) -> Variable {
    let (y, p) = Attention.forward(packed: qkv.value, scale: scale)
    return Variable.record(y, [qkv]) {
        let x = qkv.value
        return { dy in [Attention.backward(packed: x, probabilities: p, scale: scale, dy)] }
    }
}
