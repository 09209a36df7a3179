import Datasets
import Diffusion
import Foundation
import Formats
import Geometry
import Networks
import Tensors

/// The error of a trained ε̂ against the exact ε* of Gaussian training data
/// (``GaussianLaw``), in total and projected on each of a set of orthonormal directions (the
/// SADs, or a basis), per noise band: E‖ε̂ − ε*‖² and E[(w_jᵀ(ε̂ − ε*))²] with standard errors.
///
/// Draws, per band b and sample n: x₀ from the law (data stream b), t uniform on the band
/// (timestep stream b), ε ~ N(0, I) (noise stream b), x_t = √ᾱ_t x₀ + σ_t ε with the
/// Float32 buffers training uses; ε* from the Float64 ᾱ_t. Every sample is independent, so a
/// standard error is the sample standard deviation over √n.
public struct ScoreError {
    /// A mean with its standard error.
    public struct Estimate: Codable, Equatable, Sendable {
        public var mean: Double
        public var standardError: Double
    }

    /// One band's errors.
    public struct Band: Codable, Equatable, Sendable {
        public var timesteps: String
        /// σ_t at the band's ends.
        public var sigma: [Double]
        public var samples: Int
        /// E‖ε̂ − ε*‖² over the band.
        public var total: Estimate
        /// E‖ε*‖² (the size of the target, for scale).
        public var targetNorm: Estimate
        /// E[(w_jᵀ(ε̂ − ε*))²] for every direction j, in the directions' order.
        public var perDirection: [Double]
        public var perDirectionStandardError: [Double]
    }

    /// What `sad evaluate --score-error` writes.
    public struct Result: Codable, Equatable, Sendable {
        public var format = "sad-score-error-1"
        public var data: String
        public var checkpoint: String
        public var checkpointSHA256: String
        public var directions: String
        public var dimension: Int
        public var seed: UInt64
        public var bands: [Band]
        /// Every band pooled (equal samples per band: the mean over bands).
        public var total: Estimate
        public var perDirection: [Double]
        public var perDirectionStandardError: [Double]

        enum CodingKeys: String, CodingKey {
            case format, data, checkpoint, directions, dimension, seed, bands, total, perDirection
            case checkpointSHA256 = "checkpoint_sha256"
            case perDirectionStandardError
        }

        /// A few lines for the terminal: totals per band, and the directions with the
        /// smallest and largest error.
        public var summary: String {
            var lines = [
                String(
                    format: "score error of %@ on %@: E‖ε̂ − ε*‖² = %.5g ± %.2g (D = %d; bands pooled)",
                    checkpoint,
                    data, total.mean, total.standardError, dimension)
            ]
            for b in bands {
                lines.append(
                    String(
                        format: "  t %@ (σ %.3g…%.3g): %.5g ± %.2g  (E‖ε*‖² = %.4g)", b.timesteps, b.sigma[0],
                        b.sigma[1], b.total.mean, b.total.standardError, b.targetNorm.mean))
            }
            let order = perDirection.indices.sorted { perDirection[$0] < perDirection[$1] }
            func list(_ js: ArraySlice<Int>) -> String {
                js.map { String(format: "%d: %.3g ± %.1g", $0, perDirection[$0], perDirectionStandardError[$0]) }
                    .joined(separator: ", ")
            }
            lines.append("  smallest along " + directions + ": " + list(order.prefix(4)))
            lines.append("  largest: " + list(order.suffix(4).reversed()[...]))
            return lines.joined(separator: "\n")
        }
    }

    public let network: ScoreNetwork
    public let law: GaussianLaw
    public let schedule: NoiseSchedule
    /// (M, D) row-major orthonormal directions the error is projected on.
    public let directions: [Double]
    public let directionCount: Int

    public init(network: ScoreNetwork, law: GaussianLaw, schedule: NoiseSchedule, directions: [Double]) throws {
        let d = law.dimension
        guard network.architecture.inputShape.reduce(1, *) == d else {
            throw SettingError(
                setting: "data", expected: "a law on D = \(network.architecture.inputShape.reduce(1, *))",
                found: "D = \(d)")
        }
        guard !directions.isEmpty, directions.count % d == 0, directions.count / d <= d else {
            throw SettingError(
                setting: "directions", expected: "1…D rows of D = \(d) values", found: "\(directions.count) values")
        }
        try FormatError.requireFinite(directions, file: "directions", field: "values")
        self.network = network
        self.law = law
        self.schedule = schedule
        self.directions = directions
        directionCount = directions.count / d
    }

    /// The errors over `bands`, `samples` draws each, in batches of `batch` network passes.
    public func evaluate(bands: [TimestepBand], samples: Int, seed: UInt64, batch: Int = 256) throws -> [Band] {
        try SettingError.check(samples, in: 2...10_000_000, "samples")
        try SettingError.check(batch, in: 1...65_536, "batch")
        let d = law.dimension, m = directionCount
        try MemoryBudget.require([batch, d + m, 8 * 3], for: "score-error batches", setting: "batch")
        return try bands.enumerated().map { b, band in
            guard band.last < schedule.timesteps else {
                throw SettingError(
                    setting: "timesteps", expected: "bands inside 0…\(schedule.timesteps - 1)",
                    found: band.description)
            }
            let stream = UInt64(b)
            var sum = 0.0, sumSq = 0.0, targetSum = 0.0, targetSq = 0.0
            var dirSum = [Double](repeating: 0, count: m), dirSq = [Double](repeating: 0, count: m)
            var start = 0
            while start < samples {
                let n = min(batch, samples - start)
                let x0 = law.sample(count: n, first: start, seed: seed, stream: stream)
                let u = RandomStream(seed: seed, purpose: .timestep, index: stream).uniforms(n, offset: start)
                let noise = RandomStream(seed: seed, purpose: .noise, index: stream).normals(n * d, offset: start * d)
                let t = u.map { band.first + min(band.last - band.first, Int(Double($0) * Double(band.count))) }
                var xt = Tensor(zeros: [n] + network.architecture.inputShape)
                for i in 0..<n {
                    let a = schedule.sqrtAlphasCumprod[t[i]], s = schedule.sqrtOneMinusAlphasCumprod[t[i]]
                    for q in 0..<d { xt.data[i * d + q] = a * Float(x0[i * d + q]) + s * noise[i * d + q] }
                }
                let eps = network.epsilon(xt, timesteps: t.map(Float.init))
                try FiniteCheck.check(eps, tensor: "ε̂", context: "score error, band \(band)")
                var error = [Double](repeating: 0, count: n * d)
                let xd = xt.data.map(Double.init)
                for i in 0..<n {
                    let star = law.optimalEpsilon(
                        xd[(i * d)..<((i + 1) * d)], alphaBar: schedule.alphasCumprod64[t[i]])
                    var e2 = 0.0, s2 = 0.0
                    for q in 0..<d {
                        let e = Double(eps.data[i * d + q]) - star[q]
                        error[i * d + q] = e
                        e2 += e * e
                        s2 += star[q] * star[q]
                    }
                    sum += e2
                    sumSq += e2 * e2
                    targetSum += s2
                    targetSq += s2 * s2
                }
                // Projections P = E Wᵀ (n, M) in Float64.
                var p = [Double](repeating: 0, count: n * m)
                error.withUnsafeBufferPointer { e in
                    directions.withUnsafeBufferPointer { w in
                        p.withUnsafeMutableBufferPointer { out in
                            BLAS.dgemm(
                                .none, .transpose, m: n, n: m, k: d, a: e.baseAddress!, lda: d, b: w.baseAddress!,
                                ldb: d, c: out.baseAddress!, ldc: m)
                        }
                    }
                }
                for i in 0..<n {
                    for j in 0..<m {
                        let v = p[i * m + j] * p[i * m + j]
                        dirSum[j] += v
                        dirSq[j] += v * v
                    }
                }
                start += n
            }
            let count = Double(samples)
            func estimate(_ s: Double, _ sq: Double) -> Estimate {
                let mean = s / count
                let variance = max(0, (sq / count - mean * mean) * count / (count - 1))
                return Estimate(mean: mean, standardError: (variance / count).squareRoot())
            }
            let perDirection = (0..<m).map { estimate(dirSum[$0], dirSq[$0]) }
            return Band(
                timesteps: band.description,
                sigma: [band.first, band.last].map { Double(schedule.sqrtOneMinusAlphasCumprod[$0]) },
                samples: samples, total: estimate(sum, sumSq), targetNorm: estimate(targetSum, targetSq),
                perDirection: perDirection.map(\.mean), perDirectionStandardError: perDirection.map(\.standardError))
        }
    }

    /// Bands pooled with equal weight (each has the same number of samples): means average,
    /// standard errors combine as independent.
    public static func pooled(_ bands: [Band]) -> (total: Estimate, perDirection: [Estimate]) {
        let k = Double(bands.count)
        func pool(_ values: [Estimate]) -> Estimate {
            Estimate(
                mean: values.map(\.mean).reduce(0, +) / k,
                standardError: values.map { $0.standardError * $0.standardError }.reduce(0, +).squareRoot() / k)
        }
        let m = bands.first?.perDirection.count ?? 0
        return (
            pool(bands.map(\.total)),
            (0..<m).map { j in
                pool(bands.map { Estimate(mean: $0.perDirection[j], standardError: $0.perDirectionStandardError[j]) })
            }
        )
    }
}

extension ScoreError {
    /// The directions the error is projected on, as written on the command line.
    public enum Directions: Equatable, Sendable, CustomStringConvertible {
        /// The init SADs of the config (computed: marginal estimator where it applies, else
        /// importance; `networks` fresh networks, seed 0), written beside the result.
        case initSADs(networks: Int)
        /// The rows of a `vecs.npy` (a geometry directory's, or the file itself).
        case vecs(path: String)
        /// A whole basis (canonical, dct, dst, hadamard, haar) in ``Basis/all(_:shape:)`` order.
        case basis(family: String)

        public var description: String {
            switch self {
            case let .initSADs(n): return "init-sads:\(n)"
            case let .vecs(p): return p
            case let .basis(f): return "basis:\(f)"
            }
        }

        /// Parses `init-sads[:N]`, `basis:FAMILY`, a `vecs.npy` path or a geometry directory.
        public static func parse(_ text: String) throws -> Directions {
            if text == "init-sads" { return .initSADs(networks: 4096) }
            if text.hasPrefix("init-sads:") {
                guard let n = Int(text.dropFirst("init-sads:".count)), (64...1_000_000).contains(n) else {
                    throw SettingError(setting: "directions", expected: "init-sads:N with N in 64…10⁶", found: text)
                }
                return .initSADs(networks: n)
            }
            if text.hasPrefix("basis:") {
                let family = String(text.dropFirst("basis:".count))
                guard ["canonical", "dct", "dst", "hadamard", "haar"].contains(family) else {
                    throw SettingError(
                        setting: "directions", expected: "basis:canonical|dct|dst|hadamard|haar", found: text)
                }
                return .basis(family: family)
            }
            guard !text.isEmpty else {
                throw SettingError(
                    setting: "directions", expected: "init-sads[:N], basis:FAMILY, VECS.npy or a geometry directory",
                    found: "nothing")
            }
            return .vecs(path: text.hasSuffix(".npy") ? text : "\(text)/vecs.npy")
        }

        /// The (M, D) rows, every field checked; `work` holds a computed geometry.
        func rows(config: NetworkConfig, work: String) throws -> [Double] {
            let shape = config.shape, d = config.dimension
            switch self {
            case let .vecs(path):
                let t = try Npy.read(path).tensor(file: path, field: "vecs", converting: true)
                guard t.rank >= 2, t.count % d == 0, t.count / d == t.shape[0], t.shape[0] <= d else {
                    throw FormatError(
                        file: path, field: "shape",
                        expected: "(M ≤ \(d), \(shape.map(String.init).joined(separator: ", ")))",
                        found: "\(t.shape)")
                }
                try FormatError.requireFinite(t.data, file: path, field: "vecs")
                return t.data.map(Double.init)
            case let .basis(family):
                return try Basis.all(family, shape: shape).vectors.data.map(Double.init)
            case let .initSADs(networks):
                let marginal = makeArchitecture(config) is OutputLayerMarginalizable
                let spec = try GeometryRun.makeSpec(
                    config: config, configPath: "score-error", interpolation: nil, patchSize: nil, scheme: .reference,
                    estimator: marginal ? .marginal : .importance, probe: .zero, seed: 0, networks: networks,
                    chunkSize: 32)
                let sads = try GeometryJob(spec: spec, source: .config(config)).run(in: work).sads!
                return sads.eigen.vectors
            }
        }
    }

    /// `sad evaluate --score-error`: the trained network of `config` in `checkpoint` against the
    /// exact ε* of `data` (a rank-one or `gaussian:` source), per band and direction.
    public static func run(
        config: NetworkConfig, checkpoint: String, data: DataSource, directions: Directions, bands: [TimestepBand],
        samples: Int, seed: UInt64, work: String
    ) throws -> Result {
        let architecture = makeArchitecture(config)
        let bytes = try AtomicFile.read(checkpoint)
        let network = try ScoreNetwork(architecture, checkpoint: try SafeTensors.read(checkpoint))
        let law = try gaussianLaw(data, shape: config.shape)
        let schedule = NoiseSchedule(kind: config.linearSchedule ? .linear : .cosine, timesteps: config.timesteps)
        let error = try ScoreError(
            network: network, law: law, schedule: schedule,
            directions: try directions.rows(config: config, work: work))
        let perBand = try error.evaluate(bands: bands, samples: samples, seed: seed)
        let pooled = pooled(perBand)
        return Result(
            data: data.description, checkpoint: checkpoint, checkpointSHA256: SHA256.hex(bytes),
            directions: directions.description, dimension: law.dimension, seed: seed, bands: perBand,
            total: pooled.total, perDirection: pooled.perDirection.map(\.mean),
            perDirectionStandardError: pooled.perDirection.map(\.standardError))
    }

    /// The Gaussian law of a synthetic source: rank-one N(0, D v vᵀ), or equal variance D/k
    /// on k SADs; other sources have no closed-form score and are refused.
    public static func gaussianLaw(_ data: DataSource, shape: [Int]) throws -> GaussianLaw {
        switch data {
        case .rankOneBasis, .rankOneSAD:
            return try GaussianLaw.rankOne(try data.direction(shape: shape))
        case .gaussianSADs, .gaussianBasis:
            let (rows, variance) = try data.gaussianDirections(shape: shape)
            return try GaussianLaw(
                dimension: shape.reduce(1, *), directions: rows.flatMap { $0.data.map(Double.init) },
                variances: Array(repeating: Double(variance), count: rows.count), source: "data")
        default:
            throw SettingError(
                setting: "data",
                expected: "rank-one:…, gaussian:sad:… or gaussian:FAMILY:… (a law with a closed-form score)",
                found: data.description)
        }
    }
}
