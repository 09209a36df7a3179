import CKernels

/// Layer normalisation over the last axis (`nn.LayerNorm(E, elementwise_affine=…)`):
/// y = (x − μ)/√(σ² + eps)·γ + β, statistics per row in Float64. The DiT uses it without
/// affine parameters (eps 1e-6) before adaLN modulation, and the timm blocks likewise.
/// VJP: as ``GroupNorm`` with one group per row.
public enum LayerNorm {
    public struct Saved { let xHat: Tensor; let invStd: [Float] }

    public static func forward(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> (Tensor, Saved) {
        let e = x.shape.last ?? 1
        if let weight { precondition(weight.shape == [e], "layerNorm weight \(weight.shape), expected [\(e)]") }
        if let bias { precondition(bias.shape == [e], "layerNorm bias \(bias.shape), expected [\(e)]") }
        let rows = e == 0 ? 0 : x.count / e
        var invStd = [Float](repeating: 0, count: rows)
        var xHat = Tensor(uninitialized: x.shape)  // (…, E), every element written
        x.data.withUnsafeBufferPointer { px in
            xHat.data.withUnsafeMutableBufferPointer { ph in
                invStd.withUnsafeMutableBufferPointer { pi in
                    // Rows in parallel chunks: each row is a pure function of itself.
                    let h = SharedPointer(ph.baseAddress!), inv = SharedPointer(pi.baseAddress!)
                    Parallel.forEachChunk(total: rows, chunkSize: rowsPerChunk) { _, r in
                        sad_layernorm_forward(
                            px.baseAddress! + r.lowerBound * e, r.count, e, eps, h.base + r.lowerBound * e,
                            inv.base + r.lowerBound)
                    }
                }
            }
        }
        // Without affine parameters y = x̂ (x̂·1 + 0 is x̂ bitwise): one tensor, shared.
        guard weight != nil || bias != nil else { return (xHat, Saved(xHat: xHat, invStd: invStd)) }
        var y = Tensor(uninitialized: x.shape)  // (…, E)
        xHat.data.withUnsafeBufferPointer { ph in
            y.data.withUnsafeMutableBufferPointer { py in
                let gamma = weight?.data ?? [Float](repeating: 1, count: e)
                let beta = bias?.data ?? [Float](repeating: 0, count: e)
                gamma.withUnsafeBufferPointer { pg in
                    beta.withUnsafeBufferPointer { pb in
                        for r in 0..<rows {
                            let src = ph.baseAddress! + r * e, dst = py.baseAddress! + r * e
                            for i in 0..<e { dst[i] = src[i] * pg[i] + pb[i] }
                        }
                    }
                }
            }
        }
        return (y, Saved(xHat: xHat, invStd: invStd))
    }

    /// Rows per parallel chunk of the forward pass (fixed; rows are independent, so any
    /// value gives the same result).
    static let rowsPerChunk = 1024

    /// (∂x, ∂γ, ∂β); ∂γ and ∂β are only summed when `weight` is given (an op without affine
    /// parameters discards them) and are zeros otherwise.
    public static func backward(_ saved: Saved, weight: Tensor?, _ dy: Tensor) -> (Tensor, Tensor, Tensor) {
        let e = saved.xHat.shape.last ?? 1
        let rows = e == 0 ? 0 : saved.xHat.count / e
        var dx = Tensor(uninitialized: saved.xHat.shape)  // (…, E), every element written
        var dGamma = [Double](repeating: 0, count: e), dBeta = [Double](repeating: 0, count: e)
        saved.xHat.data.withUnsafeBufferPointer { ph in
            dy.data.withUnsafeBufferPointer { pg in
                dx.data.withUnsafeMutableBufferPointer { pdx in
                    saved.invStd.withUnsafeBufferPointer { pi in
                        if rows == 0 {
                            return
                        } else if let weight {
                            // The parameter sums run over every row in order: one serial pass.
                            weight.data.withUnsafeBufferPointer { pw in
                                dGamma.withUnsafeMutableBufferPointer { dgm in
                                    dBeta.withUnsafeMutableBufferPointer { dbt in
                                        sad_layernorm_backward(
                                            ph.baseAddress!, pg.baseAddress!, pi.baseAddress!, pw.baseAddress!,
                                            rows, e, pdx.baseAddress!, dgm.baseAddress!, dbt.baseAddress!)
                                    }
                                }
                            }
                        } else {
                            let out = SharedPointer(pdx.baseAddress!)
                            Parallel.forEachChunk(total: rows, chunkSize: rowsPerChunk) { _, r in
                                sad_layernorm_backward(
                                    ph.baseAddress! + r.lowerBound * e, pg.baseAddress! + r.lowerBound * e,
                                    pi.baseAddress! + r.lowerBound, nil, r.count, e, out.base + r.lowerBound * e,
                                    nil, nil)
                            }
                        }
                    }
                }
            }
        }
        return (
            dx, Tensor(shape: [e], data: dGamma.map { Float($0) }), Tensor(shape: [e], data: dBeta.map { Float($0) })
        )
    }
}

/// Layer normalisation over the last axis, with or without affine parameters (E).
public func layerNorm(_ x: Variable, weight: Variable? = nil, bias: Variable? = nil, eps: Float = 1e-5) -> Variable {
    let (y, saved) = LayerNorm.forward(x.value, weight: weight?.value, bias: bias?.value, eps: eps)
    let w = weight?.value
    return Variable.recordWithParameters(y, x: x, weight: weight, bias: bias) { dy in
        LayerNorm.backward(saved, weight: w, dy)
    }
}
