import Foundation
import Metrics
import Tensors

/// What a trained model's sample metric must beat to mean anything: the same SW₂ / MSW₂ of two
/// trivial samplers on the unit's reference set, with the unit's projections.
///
/// * `zeros` — every sample at the origin (the data mean of the synthetic sets).
/// * `fitted` — a sampler fitted to the training set without any network: for rank-one and
///   sphere data their exact law with the scale fitted on the training set (the best any model
///   can do up to finite-sample noise), else a Gaussian with the training set's mean and
///   covariance.
public struct BaselineScores: Codable, Equatable, Sendable {
    public struct Score: Codable, Equatable, Sendable {
        public var sw2: Double
        public var msw2: Double
    }

    public var zeros: Score
    public var fitted: Score
    /// The fitted sampler in words ("N(0, s² v vᵀ), s = 15.9 fitted on the training set").
    public var fittedLaw: String
}

/// The law the `fitted` baseline draws from.
public enum FittedLaw: Sendable {
    /// N(μ, Ĉ) with the training set's mean and (unbiased) covariance.
    case gaussian
    /// N(0, s² v vᵀ) along the unit vector v, s² = mean (vᵀx)² over the training set.
    case rankOne(direction: Tensor)
    /// Uniform on the sphere of radius r in span(v₁, …, v_k) (orthonormal), r = mean ‖Vᵀx‖.
    case sphere(directions: [Tensor])

    /// `count` draws shaped like the training samples (N, …), from the data stream 2 of `seed`
    /// (stream 0 is the training set, 1 the reference set).
    /// - Parameter train: (N, …) training samples in data space.
    public func draw(train: Tensor, count: Int, seed: UInt64) -> (samples: Tensor, description: String) {
        let n = train.shape[0], d = train.count / max(n, 1)
        let stream = RandomStream(seed: seed, purpose: .data, index: 2)
        var out = Tensor(zeros: [count] + Array(train.shape.dropFirst()))
        switch self {
        case .gaussian:
            // x = μ + Σ_i g_i (x_i − μ)/√(n − 1), g ~ N(0, I_n), has exactly the covariance
            // (1/(n − 1)) Σ (x_i − μ)(x_i − μ)ᵀ: one (count × n)·(n × D) product, no D × D matrix.
            var mean = [Float](repeating: 0, count: d)
            for i in 0..<n { for k in 0..<d { mean[k] += train.data[i * d + k] } }
            for k in 0..<d { mean[k] /= Float(n) }
            var centred = train.data
            for i in 0..<n { for k in 0..<d { centred[i * d + k] -= mean[k] } }
            let scale = 1 / Float(max(n - 1, 1)).squareRoot()
            let g = stream.normals(count * n, std: scale)
            for j in 0..<count { for k in 0..<d { out.data[j * d + k] = mean[k] } }
            g.withUnsafeBufferPointer { gp in
                centred.withUnsafeBufferPointer { cp in
                    out.data.withUnsafeMutableBufferPointer { op in
                        BLAS.sgemm(
                            .none, .none, m: count, n: d, k: n, a: gp.baseAddress!, lda: n, b: cp.baseAddress!,
                            ldb: d, beta: 1, c: op.baseAddress!, ldc: d)
                    }
                }
            }
            return (out, "Gaussian with the training set's mean and covariance (\(n) samples)")
        case .rankOne(let v):
            var s2 = 0.0
            for i in 0..<n {
                var c = 0.0
                for k in 0..<d { c += Double(train.data[i * d + k]) * Double(v.data[k]) }
                s2 += c * c
            }
            let s = (s2 / Double(max(n, 1))).squareRoot()
            let z = stream.normals(count)
            for j in 0..<count { for k in 0..<d { out.data[j * d + k] = Float(s) * z[j] * v.data[k] } }
            return (out, "the rank-one law N(0, s² v vᵀ) with s = \(Statistics.format(s)) fitted on the training set")
        case .sphere(let vs):
            var r = 0.0
            for i in 0..<n {
                var inSpan = 0.0
                for v in vs {
                    var c = 0.0
                    for k in 0..<d { c += Double(train.data[i * d + k]) * Double(v.data[k]) }
                    inSpan += c * c
                }
                r += inSpan.squareRoot()
            }
            r /= Double(max(n, 1))
            let g = stream.normals(count * vs.count)
            for j in 0..<count {
                let a = (0..<vs.count).map { Double(g[j * vs.count + $0]) }
                let norm = max(a.reduce(0) { $0 + $1 * $1 }.squareRoot(), .leastNormalMagnitude)
                for (m, v) in vs.enumerated() {
                    let c = Float(r * a[m] / norm)
                    for k in 0..<d { out.data[j * d + k] += c * v.data[k] }
                }
            }
            return (out, "uniform on the sphere of radius r = \(Statistics.format(r)) (fitted) in the span")
        }
    }

    /// Both baselines' scores against `reference` with the same `directions` as the model.
    public func scores(
        train: Tensor, reference: Tensor, directions: SlicedWasserstein.Projections, seed: UInt64
    ) throws -> BaselineScores {
        let n = reference.shape[0], d = reference.count / max(n, 1)
        let ref = reference.reshaped([n, d])
        let zeros = try SlicedWasserstein.compute(Tensor(zeros: [n, d]), ref, directions: directions).0
        let (law, description) = draw(train: train, count: n, seed: seed)
        let fitted = try SlicedWasserstein.compute(law.reshaped([n, d]), ref, directions: directions).0
        return BaselineScores(
            zeros: .init(sw2: zeros.sw2, msw2: zeros.msw2), fitted: .init(sw2: fitted.sw2, msw2: fitted.msw2),
            fittedLaw: description)
    }
}

/// A model's metric beside the trivial samplers', aggregated over seeds.
public struct BaselineComparison: Codable, Equatable, Sendable {
    /// What was trained ("SAD 0", "W_min").
    public var model: String
    public var msw2: SeedStatistics
    public var sw2: SeedStatistics
    public var zerosMSW2: SeedStatistics
    public var zerosSW2: SeedStatistics
    public var fittedMSW2: SeedStatistics
    public var fittedSW2: SeedStatistics
    public var fittedLaw: String

    // Written as snake case (zeros_msw2 …); these raw values make the round trip through
    // JSONCoding's snake-case strategies exact for the acronyms.
    enum CodingKeys: String, CodingKey {
        case model, msw2, sw2, fittedLaw
        case zerosMSW2 = "zerosMsw2", zerosSW2 = "zerosSw2", fittedMSW2 = "fittedMsw2", fittedSW2 = "fittedSw2"
    }

    /// - Parameter results: the model's unit results, one per seed (nil = a failed unit; a
    ///   unit without baselines counts as failed for them).
    public init(model: String, results: [TrainedModel?]) {
        self.model = model
        let scores = results.map { $0?.baselines }
        msw2 = SeedStatistics(results.map { $0?.msw2Value ?? .nan })
        sw2 = SeedStatistics(results.map { $0?.sw2Value ?? .nan })
        zerosMSW2 = SeedStatistics(scores.map { $0?.zeros.msw2 ?? .nan })
        zerosSW2 = SeedStatistics(scores.map { $0?.zeros.sw2 ?? .nan })
        fittedMSW2 = SeedStatistics(scores.map { $0?.fitted.msw2 ?? .nan })
        fittedSW2 = SeedStatistics(scores.map { $0?.fitted.sw2 ?? .nan })
        fittedLaw = scores.compactMap { $0?.fittedLaw }.first ?? "(no baseline recorded)"
    }

    /// Lower MSW₂ and SW₂ than the all-zero sampler (means over seeds).
    public var beatsZeros: Bool { msw2.value < zerosMSW2.value && sw2.value < zerosSW2.value }

    /// "SAD 0: MSW₂ 46.8 (zeros 4.1, fitted law 0.5), SW₂ 11.5 (zeros 1.0, fitted 0.13)".
    public var summary: String {
        "\(model): MSW₂ \(Statistics.format(msw2.value)) (zeros \(Statistics.format(zerosMSW2.value)), fitted "
            + "\(Statistics.format(fittedMSW2.value))), SW₂ \(Statistics.format(sw2.value)) (zeros "
            + "\(Statistics.format(zerosSW2.value)), fitted \(Statistics.format(fittedSW2.value)))"
    }

    /// The claim that the compared models beat the all-zero sampler: the precondition for
    /// reading an ordering among them as evidence.
    public static func claim(id: String, _ models: [BaselineComparison], testable: Bool) -> Claim {
        let beating = models.filter(\.beatsZeros)
        var values: [String: Double] = [:]
        for m in models {
            values["\(m.model) msw2"] = m.msw2.value
            values["\(m.model) zeros msw2"] = m.zerosMSW2.value
            values["\(m.model) fitted msw2"] = m.fittedMSW2.value
        }
        return Claim(
            id: id,
            statement: "The trained models beat the all-zero sampler (lower MSW₂ and SW₂ on the same reference set "
                + "and projections), so that differences among them measure modelling, not failure.",
            holds: testable ? beating.count == models.count : nil,
            evidence: Claim.Evidence(
                summary: "\(beating.count) of \(models.count) models beat the zero sampler. "
                    + models.map(\.summary).joined(separator: "; ") + ". Fitted law: "
                    + (models.first?.fittedLaw ?? "—") + ".",
                test: "comparison of means over seeds", values: values))
    }

    /// The caveat an ordering claim carries when its models lose to the zero sampler.
    public static func caveat(_ models: [BaselineComparison]) -> String {
        let beating = models.filter(\.beatsZeros).count
        if beating == models.count { return "" }
        if beating == 0 {
            return " Weak evidence: every compared model is worse than the all-zero sampler."
        }
        return " Only \(beating) of \(models.count) compared models beat the all-zero sampler."
    }
}
