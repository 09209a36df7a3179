/// Finite-difference check of an op's (or a whole network's) reverse-mode gradients.
///
/// The scalar probed is L = Σ_i f(x)_i·r_i with a fixed random r, accumulated in Float64,
/// so every output element and every VJP path contributes. For a sample of input
/// coordinates the central difference (L(x + h e_j) − L(x − h e_j))/2h is compared with
/// the analytic ∂L/∂x_j.
///
/// Tolerance rationale (Float32 forward): each output carries rounding error ≈ 6e-8·|f|,
/// so the difference quotient has noise ≈ 6e-8·‖f‖·‖r‖/h ≈ 1e-4 relative for h = 2⁻⁸;
/// truncation error is O(h²·f‴) ≈ 1e-5. Comparing the *vector* of sampled derivatives by
/// ‖fd − analytic‖/‖analytic‖ ≤ 1e-2 therefore has two orders of margin against noise
/// yet catches any wrong term (a wrong VJP is off by O(1)).
public enum GradientCheck {
    public struct Report: CustomStringConvertible {
        /// ‖fd − analytic‖ / max(‖analytic‖, tiny), per input.
        public let relativeErrors: [Double]
        /// Number of coordinates compared, per input.
        public let checked: [Int]
        public var worst: Double { relativeErrors.max() ?? 0 }
        public var description: String {
            "gradient check: relative errors \(relativeErrors.map { String(format6($0)) }) over \(checked) coordinates"
        }
    }

    /// - Parameters:
    ///   - inputs: the tensors to differentiate with respect to.
    ///   - step: h of the central difference.
    ///   - maxCoordinates: coordinates sampled per input (all if fewer).
    ///   - function: builds the output from Variables wrapping `inputs`.
    public static func check(
        _ inputs: [Tensor], step: Float = 1.0 / 256, maxCoordinates: Int = 48, seed: UInt64 = 1,
        _ function: ([Variable]) -> Variable
    ) -> Report {
        // Analytic gradient of L = Σ f·r.
        let leaves = inputs.map { Variable($0, requiresGradient: true) }
        let out = function(leaves)
        let r = RandomStream(seed: seed, purpose: .test, index: 0).normalTensor(out.shape)
        out.backward(seed: r)
        func loss(_ xs: [Tensor]) -> Double {
            let y = GradientMode.withoutGradients { function(xs.map { Variable($0) }).value }
            var s = 0.0
            for i in 0..<y.count { s += Double(y.data[i]) * Double(r.data[i]) }
            return s
        }
        var errors: [Double] = [], counts: [Int] = []
        for (which, x) in inputs.enumerated() {
            let analytic = leaves[which].gradient ?? Tensor(zeros: x.shape)
            let picks: [Int]
            if x.count <= maxCoordinates {
                picks = Array(0..<x.count)
            } else {
                let stream = RandomStream(seed: seed, purpose: .test, index: UInt64(which + 1))
                picks = (0..<maxCoordinates).map { stream.integer(below: x.count, at: $0) }
            }
            var diff = 0.0, ref = 0.0
            for j in picks {
                var plus = inputs, minus = inputs
                plus[which].data[j] += step
                minus[which].data[j] -= step
                // Use the step actually represented in Float32.
                let h = Double(plus[which].data[j]) - Double(minus[which].data[j])
                let fd = (loss(plus) - loss(minus)) / h
                let a = Double(analytic.data[j])
                diff += (fd - a) * (fd - a)
                ref += a * a
            }
            errors.append(diff.squareRoot() / max(ref.squareRoot(), 1e-12))
            counts.append(picks.count)
        }
        return Report(relativeErrors: errors, checked: counts)
    }
}

private func format6(_ x: Double) -> String {
    let p = (x * 1e6).rounded() / 1e6
    return "\(p)"
}
