import Foundation
import Formats
import Networks
import Tensors

/// What one float initializer of an imported network is at initialisation.
public struct InitEntry: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    /// The first op reading it and the input slot, e.g. "Conv.W" or "Gemm.C".
    public let consumer: String
    /// How a fresh network draws it (``ParameterInitializer/fixed(_:)`` for fixed tensors).
    public let initializer: ParameterInitializer
    /// "fixed", "zeros", "ones", "uniform", "xavier-uniform", "normal", "truncated-normal".
    public let family: String
    /// Uniform bound b or normal σ (nil for fixed tensors).
    public let scale: Double?
    /// The observation and test that decided it, or the override that did.
    public let evidence: String
    /// Whether training updates it (random tensors, `*.weight`/`*.bias` names, weights of
    /// linear ops); other fixed tensors are constants of the architecture.
    public let trainable: Bool
    public let role: ParameterSpec.Role

    public var isRandom: Bool { scale != nil }
    /// Variance of one drawn element (0 for fixed tensors).
    public var variance: Double {
        switch family {
        case "uniform", "xavier-uniform": return (scale ?? 0) * (scale ?? 0) / 3
        case "normal": return (scale ?? 0) * (scale ?? 0)
        case "truncated-normal":
            guard case let .truncatedNormal(std, bound) = initializer else { return 0 }
            return Double(std * std) * TruncatedNormal.moments(Double(bound / std)).variance
        default: return 0
        }
    }
}

/// The initialisation distribution of an imported architecture, inferred from ≥ 2 exported
/// instances (independent seeds) and the graph.
///
/// For every float initializer:
/// 1. An override (``InitOverrides``) wins.
/// 2. Equal in every instance (bit for bit) → fixed; a single instance is fixed only when
///    all its values are equal (zeros, ones, a constant).
/// 3. Otherwise random. If its consumer is Conv/ConvTranspose (weight, bias), Gemm (B, C),
///    MatMul (B) or the bias Add after a MatMul, PyTorch's default U(±1/√fan_in) is tested
///    first: every value within ±b, and for n ≥ 20 pooled values the sample mean and
///    variance within 5 standard errors of 0 and b²/3 and the largest |value| above
///    b·(1 − 10/n) (for n uniform draws it falls below with probability e^−10).
/// 4. Else a family is fitted from the pooled values: zero mean (5 SE); excess kurtosis
///    within 4·√(24/n) of −1.2 (uniform) or 0 (normal) and farther from the other; a
///    uniform bound is reported as Xavier's when within max(2%, 3 SE) of √(6/(fan_in + fan_out));
///    a normal σ is rounded to two significant digits when within 3 SE of the rounded value;
///    values bounded tighter than any normal of their σ (the largest |value| has probability
///    below 1e-6 under it) are fitted as a truncated normal when its kurtosis matches.
/// Anything else (one instance of a varying tensor, fewer than 64 values and no default,
/// a non-zero mean, a kurtosis that fits neither) is refused with what to export or override.
public enum InitInference {
    public struct Ambiguous: Error, CustomStringConvertible {
        public let name: String
        public let reason: String
        public var description: String {
            "initializer '\(name)': \(reason). Export another instance (a different seed) or give it in "
                + "--init-overrides (JSON: {\"\(name)\": \"fixed\" | \"zeros\" | \"uniform:B\" | \"normal:S\" | "
                + "\"xavier-uniform\"})"
        }
    }

    /// One entry per float initializer of `graph`, in file order.
    /// - Parameter instances: the initializer values of every exported instance, by name.
    public static func infer(
        graph: ONNXGraph, order: [String], instances: [[String: TensorValue]], overrides: InitOverrides?
    ) throws -> [InitEntry] {
        let consumers = Consumers(graph)
        var out: [InitEntry] = []
        for name in order {
            guard let first = instances[0][name], let values0 = first.floats else { continue }
            let all = instances.map { $0[name]!.floats! }
            let consumer = consumers.of(name)
            let role = consumers.role(name)
            let trainableByName = name.hasSuffix(".weight") || name.hasSuffix(".bias")
            let linearInput = consumers.isLinearParameter(name)
            func entry(
                _ initializer: ParameterInitializer, _ family: String, _ scale: Double?, _ evidence: String
            )
                -> InitEntry
            {
                InitEntry(
                    name: name, shape: first.dims, consumer: consumer, initializer: initializer, family: family,
                    scale: scale, evidence: evidence,
                    trainable: scale != nil || trainableByName || linearInput, role: role)
            }
            if let rule = overrides?.rule(for: name) {
                let (initializer, family, scale) = try rule.initializer(
                    shape: first.dims, value: values0,
                    fans: consumers.fans(name, shape: first.dims))
                out.append(entry(initializer, family, scale, "override '\(rule.pattern)' in \(overrides!.path)"))
                continue
            }
            let equal = all.dropFirst().allSatisfy { $0.elementsEqual(values0, by: { $0.bitPattern == $1.bitPattern }) }
            let constant = values0.allSatisfy { $0.bitPattern == values0.first?.bitPattern }
            if equal && (instances.count >= 2 || constant) {
                let how = instances.count >= 2 ? "equal in all \(instances.count) instances" : "all values equal"
                if constant && values0.first == 0 { out.append(entry(.zeros, "zeros", nil, how + ", all 0")); continue }
                if constant && values0.first == 1 { out.append(entry(.ones, "ones", nil, how + ", all 1")); continue }
                out.append(entry(.fixed(Tensor(shape: first.dims, data: values0)), "fixed", nil, how))
                continue
            }
            guard instances.count >= 2 else {
                throw Ambiguous(name: name, reason: "one instance cannot tell a fixed tensor from a random one")
            }
            let pooled = all.flatMap { $0 }.map(Double.init)
            let stats = Moments(pooled)
            if let fanIn = consumers.defaultFanIn(name) {
                let b = 1 / Double(fanIn).squareRoot()
                if let evidence = stats.consistentWithUniform(bound: b) {
                    // The bound rounded as PyTorch (and the native networks) form it, in Float32.
                    out.append(
                        entry(
                            .uniform(bound: 1 / Float(fanIn).squareRoot()), "uniform", b,
                            "PyTorch default of \(consumer), fan_in \(fanIn): " + evidence))
                    continue
                }
            }
            guard stats.n >= 64 else {
                throw Ambiguous(
                    name: name,
                    reason: "\(stats.n) pooled values are too few to fit a family, and "
                        + "they are not consistent with the PyTorch default of its consumer (\(consumer))")
            }
            guard abs(stats.mean) <= 5 * stats.std / Double(stats.n).squareRoot() else {
                throw Ambiguous(
                    name: name,
                    reason: String(
                        format: "random with mean %.3g ≠ 0 (std %.3g, n %d)",
                        stats.mean, stats.std, stats.n))
            }
            let tolerance = 4 * (24 / Double(stats.n)).squareRoot()
            let du = abs(stats.excessKurtosis + 1.2), dn = abs(stats.excessKurtosis)
            let kurtosisText = String(
                format: "excess kurtosis %.3f (uniform −1.2, normal 0, tolerance %.3f), n %d",
                stats.excessKurtosis, tolerance, stats.n)
            if du < tolerance && dn >= tolerance {
                // The bound from the second moment: b = √3·σ (the maximum is biased low).
                let b = 3.0.squareRoot() * stats.rms
                // Relative standard error of √3·rms for n uniform draws: √(0.8/n)/2.
                let tolerance = max(0.02, 3 * 0.2.squareRoot() / Double(stats.n).squareRoot())
                if let (fi, fo, how) = consumers.xavierFans(name, shape: first.dims, bound: b, tolerance: tolerance) {
                    let exact = (6 / Double(fi + fo)).squareRoot()
                    out.append(
                        entry(
                            .xavierUniform(fanIn: fi, fanOut: fo), "xavier-uniform", exact,
                            kurtosisText
                                + String(
                                    format: "; bound √3·rms %.4g ≈ √(6/(%d+%d)) %.4g (%@)",
                                    b, fi, fo, exact, how)))
                } else {
                    out.append(
                        entry(
                            .uniform(bound: Float(b)), "uniform", b,
                            kurtosisText + String(format: "; bound √3·rms %.4g", b)))
                }
                continue
            }
            // Bounded tighter than a normal of this σ? P(max of n normals ≤ max|v|) = (2Φ(m/σ) − 1)ⁿ.
            let boundedLogP = Double(stats.n) * log(max(2 * TruncatedNormal.cdf(stats.maxAbs / stats.rms) - 1, 1e-300))
            if boundedLogP < log(1e-6), let fit = TruncatedFit(stats),
                abs(stats.excessKurtosis - fit.kurtosis) < tolerance,
                du >= tolerance
            {
                // Round σ and the bound to two significant digits where the data allow it: σ within
                // 3 SE, the bound at or above the largest value and within 1% of it.
                let roundedStd = Double(String(format: "%.2g", fit.std))!
                let std =
                    abs(roundedStd - fit.std) <= 3 * fit.std / (2 * Double(stats.n)).squareRoot() ? roundedStd : fit.std
                let roundedBound = Double(String(format: "%.2g", fit.bound))!
                let bound =
                    roundedBound >= stats.maxAbs && roundedBound <= stats.maxAbs * 1.01 ? roundedBound : fit.bound
                out.append(
                    entry(
                        .truncatedNormal(std: Float(std), bound: Float(bound)), "truncated-normal",
                        std,
                        kurtosisText
                            + String(
                                format: "; max|v| %.4g is too small for a normal (log P = %.1f): "
                                    + "σ %.4g (fit %.4g) truncated at ±%.4g (c = %.2f, kurtosis %.3f)",
                                stats.maxAbs, boundedLogP, std, fit.std, bound, fit.c, fit.kurtosis)))
                continue
            }
            if dn < tolerance && du >= tolerance {
                let s = stats.rms
                let rounded = Double(String(format: "%.2g", s))!
                let se = s / (2 * Double(stats.n)).squareRoot()
                let std = abs(rounded - s) <= 3 * se ? rounded : s
                out.append(
                    entry(
                        .normal(std: Float(std)), "normal", std,
                        kurtosisText + String(format: "; σ %.4g (rms %.4g ± %.2g)", std, s, se)))
                continue
            }
            throw Ambiguous(name: name, reason: "the values fit neither a uniform nor a normal family: " + kurtosisText)
        }
        return out
    }

    /// Every float initializer fixed at the exported instance's value (no inference).
    static func asExported(graph: ONNXGraph, order: [String], instance: [String: TensorValue]) -> [InitEntry] {
        let consumers = Consumers(graph)
        return order.compactMap { name in
            guard let t = instance[name], let v = t.floats else { return nil }
            let trainable = name.hasSuffix(".weight") || name.hasSuffix(".bias") || consumers.isLinearParameter(name)
            return InitEntry(
                name: name, shape: t.dims, consumer: consumers.of(name),
                initializer: .fixed(Tensor(shape: t.dims, data: v)), family: "fixed", scale: nil,
                evidence: "as exported (no init inference)", trainable: trainable,
                role: consumers.role(name))
        }
    }

    /// N(0, σ²) truncated to ±b fitted to the observed rms and maximum: b from the maximum
    /// (biased low by ~b/n), c = b/σ from rms²/b² = Var(c)/c² (bisection; decreasing in c).
    struct TruncatedFit {
        let c: Double, std: Double, bound: Double, kurtosis: Double
        init?(_ m: Moments) {
            let bound = m.maxAbs * (1 + 1 / Double(m.n))
            let target = m.rms * m.rms / (bound * bound)
            var lo = 0.05, hi = 8.0
            guard TruncatedNormal.moments(lo).variance / (lo * lo) > target,
                TruncatedNormal.moments(hi).variance / (hi * hi) < target
            else { return nil }
            for _ in 0..<80 {
                let mid = (lo + hi) / 2
                if TruncatedNormal.moments(mid).variance / (mid * mid) > target { lo = mid } else { hi = mid }
            }
            c = (lo + hi) / 2
            self.bound = bound
            std = bound / c
            kurtosis = TruncatedNormal.moments(c).excessKurtosis
        }
    }

    /// Sample moments of pooled values.
    struct Moments {
        let n: Int, mean: Double, std: Double, rms: Double, excessKurtosis: Double, maxAbs: Double
        init(_ v: [Double]) {
            n = v.count
            let mu = v.reduce(0, +) / Double(max(v.count, 1))
            mean = mu
            let m2 = v.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(max(v.count, 1))
            let m4 = v.reduce(0) { $0 + pow($1 - mu, 4) } / Double(max(v.count, 1))
            std = m2.squareRoot()
            rms = (v.reduce(0) { $0 + $1 * $1 } / Double(max(n, 1))).squareRoot()
            excessKurtosis = m2 > 0 ? m4 / (m2 * m2) - 3 : 0
            maxAbs = v.map { abs($0) }.max() ?? 0
        }

        /// Evidence text when the values are consistent with U(±b), else nil.
        func consistentWithUniform(bound b: Double) -> String? {
            guard maxAbs <= b * (1 + 1e-6) else { return nil }
            let nd = Double(n)
            if n < 20 {
                return String(format: "all %d values within ±%.4g (too few for moments)", n, b)
            }
            let meanZ = mean / (b / (3 * nd).squareRoot())
            // Var(x²) = b⁴/5 − b⁴/9 = 4b⁴/45 for x ~ U(±b).
            let second = rms * rms
            let varZ = (second - b * b / 3) / (4 * b * b * b * b / 45 / nd).squareRoot()
            guard abs(meanZ) < 5, abs(varZ) < 5, maxAbs >= b * (1 - 10 / nd) else { return nil }
            return String(
                format: "n %d, max|v| %.4g ≤ b %.4g, mean z %.2f, variance z %.2f", n, maxAbs, b, meanZ, varZ)
        }
    }

    /// Who reads each initializer, and the fan-in / fan-out PyTorch would compute for it.
    struct Consumers {
        /// name → (node, input slot) of its first reader.
        var first: [String: (ONNXModel.Node, Int)] = [:]
        var producer: [String: ONNXModel.Node] = [:]
        let initializers: [String: TensorValue]

        init(_ graph: ONNXGraph) {
            initializers = graph.initializers
            for c in graph.nodes {
                for (slot, input) in c.node.inputs.enumerated() where first[input] == nil {
                    first[input] = (c.node, slot)
                }
                for o in c.node.outputs { producer[o] = c.node }
            }
        }

        func of(_ name: String) -> String {
            guard let (node, slot) = first[name] else { return "(unused)" }
            let slots: [String: [String]] = [
                "Conv": ["X", "W", "B"], "ConvTranspose": ["X", "W", "B"], "Gemm": ["A", "B", "C"],
                "MatMul": ["A", "B"], "InstanceNormalization": ["input", "scale", "B"],
                "LayerNormalization": ["X", "Scale", "B"], "GroupNormalization": ["X", "scale", "bias"],
            ]
            let label = slots[node.opType].flatMap { slot < $0.count ? $0[slot] : nil } ?? "input \(slot)"
            return "\(node.opType).\(label)"
        }

        func role(_ name: String) -> ParameterSpec.Role {
            guard let (node, slot) = first[name] else { return .buffer }
            switch (node.opType, slot) {
            case ("Conv", 1), ("ConvTranspose", 1): return .convolutionKernel
            case ("Gemm", 1), ("MatMul", 1): return .linearWeight
            case ("Conv", 2), ("ConvTranspose", 2), ("Gemm", 2): return .bias
            case ("InstanceNormalization", _), ("LayerNormalization", _), ("GroupNormalization", _):
                return .normalization
            case ("Add", _) where biasFanIn(name) != nil: return .bias
            default: return name.hasSuffix(".bias") ? .bias : (name.hasSuffix(".weight") ? .normalization : .buffer)
            }
        }

        /// A weight or bias input of a linear op (trainable even when it starts fixed, e.g. zero).
        func isLinearParameter(_ name: String) -> Bool {
            guard let (node, slot) = first[name] else { return false }
            switch node.opType {
            case "Conv", "ConvTranspose", "Gemm": return slot >= 1
            case "MatMul": return slot == 1
            case "Add": return biasFanIn(name) != nil
            default: return false
            }
        }

        func shape(_ name: String) -> [Int]? { initializers[name]?.dims }

        /// PyTorch's fan-in for the default init of a weight or bias (nil for other consumers).
        func defaultFanIn(_ name: String) -> Int? {
            guard let (node, slot) = first[name] else { return nil }
            switch (node.opType, slot) {
            case ("Conv", 1): return shape(name).map { $0.dropFirst().reduce(1, *) }
            case ("Conv", 2):
                return node.inputs.count > 1 ? shape(node.inputs[1]).map { $0.dropFirst().reduce(1, *) } : nil
            // torch computes fan_in of a (C_in, C_out/g, k…) transposed-conv weight from dim 1.
            case ("ConvTranspose", 1): return shape(name).map { $0.dropFirst().reduce(1, *) }
            case ("ConvTranspose", 2): return shape(node.inputs[1]).map { $0.dropFirst().reduce(1, *) }
            case ("Gemm", 1):
                return shape(name).map { Self.transB(node) ? $0[1] : $0[0] }
            case ("Gemm", 2):
                return shape(node.inputs[1]).map { Self.transB(node) ? $0[1] : $0[0] }
            case ("MatMul", 1): return shape(name).flatMap { $0.count == 2 ? $0[0] : nil }
            case ("Add", _): return biasFanIn(name)
            default: return nil
            }
        }

        /// Whether a Gemm multiplies by Bᵀ (its B is then (N, K), fan-in K = dim 1).
        static func transB(_ node: ONNXModel.Node) -> Bool {
            node.attributes.contains { a in
                if case .int(1) = a.value { return a.name == "transB" }
                return false
            }
        }

        /// For a bias added to a MatMul by an initializer weight (K, N): K.
        func biasFanIn(_ name: String) -> Int? {
            guard let (node, slot) = first[name], node.opType == "Add", node.inputs.count == 2,
                let bias = shape(name), bias.count == 1
            else { return nil }
            let other = node.inputs[1 - slot]
            guard let m = producer[other], m.opType == "MatMul", m.inputs.count == 2,
                let w = shape(m.inputs[1]), w.count == 2, w[1] == bias[0]
            else { return nil }
            return w[0]
        }

        /// Fan-in and fan-out for Xavier's rule when `bound` matches it within 2%: PyTorch's
        /// convention for the tensor's shape, or the flattened (O, C·k·k) view DiT uses for
        /// its patch embedding, or the transposed (K, N) of an exported Linear.
        func xavierFans(_ name: String, shape: [Int], bound: Double, tolerance: Double) -> (Int, Int, String)? {
            guard shape.count >= 2 else { return nil }
            let receptive = shape.dropFirst(2).reduce(1, *)
            var candidates = [(shape[1] * receptive, shape[0] * receptive, "torch fans of \(shape)")]
            if receptive > 1 { candidates.append((shape[1] * receptive, shape[0], "flattened (O, C·k·k) view")) }
            for (fi, fo, how) in candidates {
                let exact = (6 / Double(fi + fo)).squareRoot()
                if abs(bound / exact - 1) < tolerance { return (fi, fo, how) }
            }
            return nil
        }

        func fans(_ name: String, shape: [Int]) -> (Int, Int)? {
            guard shape.count >= 2 else { return nil }
            let receptive = shape.dropFirst(2).reduce(1, *)
            return (shape[1] * receptive, shape[0] * receptive)
        }
    }
}
