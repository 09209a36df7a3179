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
        var xHat = Tensor(zeros: x.shape), y = Tensor(zeros: x.shape)
        x.data.withUnsafeBufferPointer { px in
            xHat.data.withUnsafeMutableBufferPointer { ph in
                y.data.withUnsafeMutableBufferPointer { py in
                    for r in 0..<rows {
                        let base = r * e
                        var mean = 0.0
                        for i in 0..<e { mean += Double(px[base + i]) }
                        mean /= Double(e)
                        var variance = 0.0
                        for i in 0..<e { let d = Double(px[base + i]) - mean; variance += d * d }
                        variance /= Double(e)
                        let inv = 1 / (variance + Double(eps)).squareRoot()
                        invStd[r] = Float(inv)
                        for i in 0..<e {
                            let h = Float((Double(px[base + i]) - mean) * inv)
                            ph[base + i] = h
                            py[base + i] = h * (weight?.data[i] ?? 1) + (bias?.data[i] ?? 0)
                        }
                    }
                }
            }
        }
        return (y, Saved(xHat: xHat, invStd: invStd))
    }

    /// (∂x, ∂γ, ∂β).
    public static func backward(_ saved: Saved, weight: Tensor?, _ dy: Tensor) -> (Tensor, Tensor, Tensor) {
        let e = saved.xHat.shape.last ?? 1
        let rows = e == 0 ? 0 : saved.xHat.count / e
        var dx = Tensor(zeros: saved.xHat.shape)
        var dGamma = [Double](repeating: 0, count: e), dBeta = [Double](repeating: 0, count: e)
        saved.xHat.data.withUnsafeBufferPointer { ph in
            dy.data.withUnsafeBufferPointer { pg in
                dx.data.withUnsafeMutableBufferPointer { pdx in
                    for r in 0..<rows {
                        let base = r * e
                        var meanG = 0.0, meanGH = 0.0
                        for i in 0..<e {
                            let g = Double(pg[base + i]) * Double(weight?.data[i] ?? 1)
                            meanG += g
                            meanGH += g * Double(ph[base + i])
                            dGamma[i] += Double(pg[base + i]) * Double(ph[base + i])
                            dBeta[i] += Double(pg[base + i])
                        }
                        meanG /= Double(e); meanGH /= Double(e)
                        let inv = Double(saved.invStd[r])
                        for i in 0..<e {
                            let g = Double(pg[base + i]) * Double(weight?.data[i] ?? 1)
                            pdx[base + i] = Float((g - meanG - Double(ph[base + i]) * meanGH) * inv)
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
