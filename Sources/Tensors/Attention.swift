import Foundation

/// Scaled dot-product attention: q (…, T, d), k (…, S, d), v (…, S, e) →
/// softmax(q·kᵀ·scale)·v (…, T, e), scale = 1/√d by default. Leading axes (batch, heads)
/// are flattened and run in parallel, three GEMMs each.
///
/// The attention matrix P (…, T, S) is kept for the backward pass:
///   ∂v = Pᵀ·∂o,  ∂P = ∂o·vᵀ,  ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P))·scale,  ∂q = ∂S·k,  ∂k = ∂Sᵀ·q.
public enum Attention {
    struct Dims { let batch: Int, t: Int, s: Int, d: Int, e: Int }

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
        let sc = scale ?? 1 / Float(m.d).squareRoot()
        var p = Tensor(zeros: Array(q.shape.dropLast()) + [m.s])
        var out = Tensor(zeros: Array(q.shape.dropLast()) + [m.e])
        q.data.withUnsafeBufferPointer { pq in
            k.data.withUnsafeBufferPointer { pk in
                v.data.withUnsafeBufferPointer { pv in
                    p.data.withUnsafeMutableBufferPointer { pp in
                        out.data.withUnsafeMutableBufferPointer { po in
                            let pBase = SharedPointer(pp.baseAddress!), oBase = SharedPointer(po.baseAddress!)
                            Parallel.forEach(m.batch) { b in
                                let scores = pBase.base + b * m.t * m.s
                                BLAS.sgemm(
                                    .none, .transpose, m: m.t, n: m.s, k: m.d, alpha: sc,
                                    a: pq.baseAddress! + b * m.t * m.d, lda: m.d,
                                    b: pk.baseAddress! + b * m.s * m.d, ldb: m.d, c: scores, ldc: m.s)
                                for r in 0..<m.t { Softmax.row(scores + r * m.s, scores + r * m.s, m.s) }
                                BLAS.sgemm(
                                    .none, .none, m: m.t, n: m.e, k: m.s,
                                    a: scores, lda: m.s, b: pv.baseAddress! + b * m.s * m.e, ldb: m.e,
                                    c: oBase.base + b * m.t * m.e, ldc: m.e)
                            }
                        }
                    }
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
        let sc = scale ?? 1 / Float(m.d).squareRoot()
        var dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
        q.data.withUnsafeBufferPointer { pq in
            k.data.withUnsafeBufferPointer { pk in
                v.data.withUnsafeBufferPointer { pv in
                    p.data.withUnsafeBufferPointer { pp in
                        dOut.data.withUnsafeBufferPointer { pg in
                            dq.data.withUnsafeMutableBufferPointer { pdq in
                                dk.data.withUnsafeMutableBufferPointer { pdk in
                                    dv.data.withUnsafeMutableBufferPointer { pdv in
                                        let dqB = SharedPointer(pdq.baseAddress!),
                                            dkB = SharedPointer(pdk.baseAddress!), dvB = SharedPointer(pdv.baseAddress!)
                                        Parallel.forEach(m.batch) { b in
                                            let probs = pp.baseAddress! + b * m.t * m.s
                                            let go = pg.baseAddress! + b * m.t * m.e
                                            // ∂v = Pᵀ · ∂o
                                            BLAS.sgemm(
                                                .transpose, .none, m: m.s, n: m.e, k: m.t, a: probs, lda: m.s, b: go,
                                                ldb: m.e,
                                                c: dvB.base + b * m.s * m.e, ldc: m.e)
                                            // ∂P = ∂o · vᵀ, then the softmax VJP in place (times scale).
                                            var dScores = [Float](repeating: 0, count: m.t * m.s)
                                            dScores.withUnsafeMutableBufferPointer { ds in
                                                BLAS.sgemm(
                                                    .none, .transpose, m: m.t, n: m.s, k: m.e, a: go, lda: m.e,
                                                    b: pv.baseAddress! + b * m.s * m.e, ldb: m.e, c: ds.baseAddress!,
                                                    ldc: m.s)
                                                for r in 0..<m.t {
                                                    let row = ds.baseAddress! + r * m.s
                                                    Softmax.rowBackward(probs + r * m.s, row, row, m.s)
                                                }
                                                BLAS.sgemm(
                                                    .none, .none, m: m.t, n: m.d, k: m.s, alpha: sc, a: ds.baseAddress!,
                                                    lda: m.s,
                                                    b: pk.baseAddress! + b * m.s * m.d, ldb: m.d,
                                                    c: dqB.base + b * m.t * m.d, ldc: m.d)
                                                BLAS.sgemm(
                                                    .transpose, .none, m: m.s, n: m.d, k: m.t, alpha: sc,
                                                    a: ds.baseAddress!, lda: m.s,
                                                    b: pq.baseAddress! + b * m.t * m.d, ldb: m.d,
                                                    c: dkB.base + b * m.s * m.d, ldc: m.d)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
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
