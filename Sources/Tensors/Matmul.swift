/// Batched matrix product: a (…, M, K) · b (…, K, N) → (…, M, N), where b's leading axes
/// equal a's or b is a single (K, N) matrix shared by every batch element.
/// VJP: ∂a = dy·bᵀ, ∂b = aᵀ·dy (summed over the batch when b is shared).
public enum Matmul {
    struct Dims { let batch: Int, m: Int, k: Int, n: Int, sharedB: Bool }

    static func dims(_ a: [Int], _ b: [Int]) -> Dims {
        precondition(a.count >= 2 && b.count >= 2, "matmul needs rank ≥ 2, got \(a) and \(b)")
        let m = a[a.count - 2], k = a[a.count - 1]
        let kb = b[b.count - 2], n = b[b.count - 1]
        precondition(k == kb, "matmul inner extents differ: \(a) · \(b)")
        let batch = a.dropLast(2).reduce(1, *)
        let sharedB = b.count == 2
        precondition(sharedB || Array(a.dropLast(2)) == Array(b.dropLast(2)), "matmul batch axes differ: \(a) · \(b)")
        return Dims(batch: batch, m: m, k: k, n: n, sharedB: sharedB)
    }

    public static func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        let d = dims(a.shape, b.shape)
        let shape = Array(a.shape.dropLast(1)) + [d.n]
        var out = Tensor(zeros: shape)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.data.withUnsafeMutableBufferPointer { po in
                    let o = SharedPointer(po.baseAddress!)
                    Parallel.forEach(d.batch) { i in
                        BLAS.sgemm(
                            .none, .none, m: d.m, n: d.n, k: d.k,
                            a: pa.baseAddress! + i * d.m * d.k, lda: d.k,
                            b: pb.baseAddress! + (d.sharedB ? 0 : i * d.k * d.n), ldb: d.n,
                            c: o.base + i * d.m * d.n, ldc: d.n)
                    }
                }
            }
        }
        return out
    }

    public static func backward(_ a: Tensor, _ b: Tensor, _ dy: Tensor) -> (Tensor, Tensor) {
        let d = dims(a.shape, b.shape)
        var da = Tensor(zeros: a.shape)
        var db = Tensor(zeros: b.shape)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                dy.data.withUnsafeBufferPointer { pg in
                    da.data.withUnsafeMutableBufferPointer { pda in
                        let o = SharedPointer(pda.baseAddress!)
                        Parallel.forEach(d.batch) { i in
                            BLAS.sgemm(
                                .none, .transpose, m: d.m, n: d.k, k: d.n,
                                a: pg.baseAddress! + i * d.m * d.n, lda: d.n,
                                b: pb.baseAddress! + (d.sharedB ? 0 : i * d.k * d.n), ldb: d.n,
                                c: o.base + i * d.m * d.k, ldc: d.k)
                        }
                    }
                    if d.sharedB {
                        // One GEMM over all batch rows: aᵀ (K, B·M) · dy (B·M, N).
                        db.data.withUnsafeMutableBufferPointer { pdb in
                            BLAS.sgemm(
                                .transpose, .none, m: d.k, n: d.n, k: d.batch * d.m,
                                a: pa.baseAddress!, lda: d.k, b: pg.baseAddress!, ldb: d.n,
                                c: pdb.baseAddress!, ldc: d.n)
                        }
                    } else {
                        db.data.withUnsafeMutableBufferPointer { pdb in
                            let o = SharedPointer(pdb.baseAddress!)
                            Parallel.forEach(d.batch) { i in
                                BLAS.sgemm(
                                    .transpose, .none, m: d.k, n: d.n, k: d.m,
                                    a: pa.baseAddress! + i * d.m * d.k, lda: d.k,
                                    b: pg.baseAddress! + i * d.m * d.n, ldb: d.n,
                                    c: o.base + i * d.k * d.n, ldc: d.n)
                            }
                        }
                    }
                }
            }
        }
        return (da, db)
    }
}

/// a · b, batched (see ``Matmul``).
public func matmul(_ a: Variable, _ b: Variable) -> Variable {
    Variable.record(Matmul.forward(a.value, b.value), [a, b]) {
        let av = a.value, bv = b.value
        return { dy in
            let (da, db) = Matmul.backward(av, bv, dy)
            return [da, db]
        }
    }
}
