import Foundation
import Tensors

/// Adam with PyTorch's defaults (β₁ 0.9, β₂ 0.999, eps 1e-8, no weight decay) and its exact
/// update: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr/(1−β₁ᵏ))·m/(√v/√(1−β₂ᵏ) + eps).
public struct Adam: Sendable {
    public var learningRate: Float
    public let beta1: Float = 0.9
    public let beta2: Float = 0.999
    public let eps: Float = 1e-8
    public private(set) var step = 0
    /// First and second moments by parameter name.
    public var m: [String: Tensor] = [:]
    public var v: [String: Tensor] = [:]

    public init(learningRate: Float) { self.learningRate = learningRate }

    /// Restores a saved state.
    public init(learningRate: Float, step: Int, m: [String: Tensor], v: [String: Tensor]) {
        self.learningRate = learningRate
        self.step = step
        self.m = m
        self.v = v
    }

    /// One update of every parameter that has a gradient.
    public mutating func update(_ parameters: inout [String: Tensor], gradients: [String: Tensor]) {
        step += 1
        let bc1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let bc2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        let stepSize = learningRate / bc1
        let bc2Root = bc2.squareRoot()
        for name in gradients.keys.sorted() {
            let g = gradients[name]!
            var p = parameters[name]!
            var mt = m[name] ?? Tensor(zeros: g.shape), vt = v[name] ?? Tensor(zeros: g.shape)
            for i in 0..<g.count {
                let gi = g.data[i]
                mt.data[i] = beta1 * mt.data[i] + (1 - beta1) * gi
                vt.data[i] = beta2 * vt.data[i] + (1 - beta2) * gi * gi
                let denom = vt.data[i].squareRoot() / bc2Root + eps
                p.data[i] -= stepSize * mt.data[i] / denom
            }
            m[name] = mt
            v[name] = vt
            parameters[name] = p
        }
    }

    /// PyTorch's `clip_grad_norm_`: if the global L2 norm exceeds `maxNorm`, scale every
    /// gradient by maxNorm/(norm + 1e-6). Returns the norm before clipping.
    @discardableResult
    public static func clipGradients(_ gradients: inout [String: Tensor], maxNorm: Float) -> Float {
        var total = 0.0
        for g in gradients.values { for x in g.data { total += Double(x) * Double(x) } }
        let norm = Float(total.squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 {
            for key in gradients.keys { gradients[key] = Arithmetic.scale(gradients[key]!, coefficient) }
        }
        return norm
    }
}
