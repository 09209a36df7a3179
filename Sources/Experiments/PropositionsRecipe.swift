import Datasets
import Diffusion
import Foundation
import Geometry
import Networks
import Reports
import Tensors

/// Checks of the appendix's closed forms and of Theorem 2 (spec §9.2–9.3):
/// * `prop1` — MLP output layer with iid rows: G = a I + b 11ᵀ. Monte Carlo (importance
///   estimator) on the MLP config; residual of the best (a, b) fit vs split-half noise.
/// * `prop2` — CNN output layer with iid filters: G = I_C ⊗ A + 11ᵀ ⊗ B. Monte Carlo on a
///   3-channel 16×16 U-Net; spread of the diagonal and off-diagonal channel blocks vs noise.
/// * `prop3` — token-wise transformer output + fixed orthonormal Q: at most T distinct
///   eigenvalues. The DiT's closed form (p = 2 and 4): count distinct eigenvalues vs T.
/// * `thm2` — α(W) = tr(G W M Wᵀ) lies between α(W_min) and α(W_max) for random orthogonal W,
///   and those two equal Σλ_iν_{D+1−i} and Σλ_iν_i (U-Net G; M an image-like DCT spectrum).
public struct PropositionsRecipe: Recipe {
    public let name = "props"
    public let title = "Propositions 1-3 and Theorem 2"
    public let profile: Profile
    public let networks: Int
    public let randomTransforms: Int

    public init(profile: Profile, options: RecipeOptions) {
        self.profile = profile
        networks = [.quick: 128, .cpu: 8192, .paper: 65_536][profile]!
        randomTransforms = profile == .quick ? 100 : 1000
    }

    /// The stated settings (sweep.json, result.json, the report).
    public struct Settings: Codable, Equatable, Sendable {
        public var networks: Int
        /// The number of random orthogonal W of Theorem 2 (JSON `random_orthogonal_w`).
        public var randomOrthogonalW: Int
        public var estimator: String
        /// Theorem 2's data second moment M (JSON `thm2_m`).
        public var thm2M: String
    }

    public var settings: Settings {
        Settings(
            networks: networks, randomOrthogonalW: randomTransforms,
            estimator: "importance (prop1, prop2), marginal (thm2 G)",
            thm2M: "Σ_f ν_f b_f b_fᵀ over the 16×16 DCT basis with ν_f = 1/(1 + fx² + fy²)")
    }

    public func prepare(in run: RunDirectory) throws {}

    public func units() throws -> [ExperimentUnit] {
        ["prop1", "prop2", "prop3", "thm2"].map { ExperimentUnit($0, 0, seed: 0) }
    }

    /// G and its two independent halves by Monte Carlo.
    func monteCarlo(
        _ config: NetworkConfig, label: String, estimator: Estimator, in dir: String
    ) throws -> (g: [Double], a: [Double], b: [Double]) {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let spec = try GeometryRun.makeSpec(
            config: config, configPath: label, interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: estimator, probe: .zero, seed: 0, networks: networks, chunkSize: min(32, networks / 4),
            structure: .full, symmetry: .none)
        // The full, unaveraged estimate: the replicated-block structure (I_C ⊗ K) and the grid
        // symmetry average would impose exactly the structure under test. The matrix and its
        // halves are all this check needs: no SAD files, and no state kept.
        var job = GeometryJob(spec: spec, source: .config(config))
        job.writeFiles = false
        let state = try job.run(in: dir).state!
        try? FileManager.default.removeItem(atPath: "\(dir)/state.safetensors")
        return (state.geometryMean(), state.geometryMean(half: 0), state.geometryMean(half: 1))
    }

    static func frobenius(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// Proposition 1: the best a I + b 11ᵀ fit and its residual against the noise.
    public struct Prop1: Codable, Sendable {
        public var a: Double
        public var b: Double
        public var relativeResidual: Double
        public var splitHalfNoise: Double
        public var holds: Bool
    }

    /// Proposition 2: the spread of the channel blocks against the noise.
    public struct Prop2: Codable, Sendable {
        public var diagonalBlockSpread: Double
        public var offDiagonalBlockSpread: Double
        public var splitHalfNoise: Double
        public var holds: Bool
    }

    /// Proposition 3 for one patch size: distinct eigenvalues against the token count T.
    public struct Prop3Patch: Codable, Sendable {
        public var distinctEigenvalues: Int
        public var tokens: Int
        public var holds: Bool
    }

    public struct Prop3: Codable, Sendable {
        public var p2: Prop3Patch
        public var p4: Prop3Patch
    }

    /// Theorem 2: α at W_min, I, W_max, the closed forms, and random orthogonal W.
    public struct Thm2: Codable, Sendable {
        public var alphaWmin: Double
        public var alphaWmax: Double
        public var alphaIdentity: Double
        public var closedFormMin: Double
        public var closedFormMax: Double
        public var randomMin: Double
        public var randomMax: Double
        public var violations: Int
        public var randomTransforms: Int
        public var closedFormsMatch: Bool
        public var holds: Bool
    }

    /// A unit's result: exactly one of the four checks (also result.json's layout, all four).
    public struct Checks: Codable, Sendable {
        public var prop1: Prop1?
        public var prop2: Prop2?
        public var prop3: Prop3?
        public var thm2: Thm2?
    }

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> Checks {
        let dir = run.unitDirectory(unit)
        switch unit.experiment {
        case "prop1":
            let config = try BuiltinConfigs.load("1x16x16-mlp")
            let d = config.dimension
            func residual(_ g: [Double]) -> (Double, Double, Double) {
                var diag = 0.0, off = 0.0
                for i in 0..<d { for j in 0..<d { if i == j { diag += g[i * d + j] } else { off += g[i * d + j] } } }
                let b = off / Double(d * (d - 1)), a = diag / Double(d) - b
                var r = g
                for i in 0..<d { for j in 0..<d { r[i * d + j] -= b + (i == j ? a : 0) } }
                return (a, b, Self.frobenius(r) / Self.frobenius(g))
            }
            let (g, ga, gb) = try monteCarlo(config, label: "1x16x16-mlp", estimator: .importance, in: dir)
            let (a, b, rel) = residual(g)
            // Noise level: the same fit residual of the half difference, scaled to the total.
            let noise = Self.frobenius(zip(ga, gb).map { ($0 - $1) / 2 }) / Self.frobenius(g)
            return Checks(
                prop1: Prop1(a: a, b: b, relativeResidual: rel, splitHalfNoise: noise, holds: rel <= 3 * noise + 1e-9))
        case "prop2":
            var config = try BuiltinConfigs.load("1x16x16-iddpm")
            config.shape = [3, 16, 16]
            let (g, ga, gb) = try monteCarlo(config, label: "3x16x16-iddpm", estimator: .importance, in: dir)
            let c = 3, p = 256, d = c * p
            func block(_ m: [Double], _ r: Int, _ s: Int) -> [Double] {
                (0..<(p * p)).map { m[(r * p + $0 / p) * d + s * p + $0 % p] }
            }
            // Spread of the blocks around their means, relative to the diagonal blocks' mean
            // (with zero-mean iid filters B = 0, so the off-diagonal blocks are pure noise).
            func spread(_ m: [Double]) -> (diag: Double, off: Double) {
                let diags = (0..<c).map { block(m, $0, $0) }
                let offs = (0..<c).flatMap { r in (0..<c).filter { $0 != r }.map { block(m, r, $0) } }
                func mean(_ bs: [[Double]]) -> [Double] {
                    (0..<(p * p)).map { k in bs.reduce(0) { $0 + $1[k] } / Double(bs.count) }
                }
                let scale = Self.frobenius(mean(diags))
                func rel(_ bs: [[Double]]) -> Double {
                    let mu = mean(bs)
                    return Statistics.mean(bs.map { b in Self.frobenius(zip(b, mu).map { $0 - $1 }) }) / scale
                }
                return (rel(diags), rel(offs))
            }
            let s = spread(g)
            // Noise of one block of the total, from the half difference, on the same scale.
            let half = zip(ga, gb).map { ($0 - $1) / 2 }
            let diagonal = (0..<c).map { block(g, $0, $0) }
            let diagonalMean = (0..<(p * p)).map { k in diagonal.reduce(0.0) { $0 + $1[k] } / Double(c) }
            let noise =
                Statistics.mean((0..<c).map { Self.frobenius(block(half, $0, $0)) }) / Self.frobenius(diagonalMean)
            return Checks(
                prop2: Prop2(
                    diagonalBlockSpread: s.diag, offDiagonalBlockSpread: s.off, splitHalfNoise: noise,
                    holds: s.diag <= 3 * noise && s.off <= 3 * noise))
        case "prop3":
            var out: [Prop3Patch] = []
            for patch in [2, 4] {
                let config = try BuiltinConfigs.load("1x16x16-dit").with(patchSize: patch)
                guard case let .dit(dc) = config.model else { throw RecipeError("1x16x16-dit is not a DiT") }
                let g = AnalyticGeometry.dit(
                    DiT(config: dc, shape: config.shape),
                    schedule: NoiseSchedule(kind: .linear, timesteps: config.timesteps))
                let e = try SymmetricEigen<Double>(symmetric: g, n: config.dimension)
                var distinct: [Double] = []
                for v in e.values where !distinct.contains(where: { abs($0 - v) <= 1e-9 * max(abs(e.values[0]), 1) }) {
                    distinct.append(v)
                }
                let tokens = (16 / patch) * (16 / patch)
                out.append(
                    Prop3Patch(distinctEigenvalues: distinct.count, tokens: tokens, holds: distinct.count <= tokens))
            }
            return Checks(prop3: Prop3(p2: out[0], p4: out[1]))
        default:  // thm2
            let config = try BuiltinConfigs.load("1x16x16-iddpm")
            let g = try GeometrySource.load(
                config: config, label: "1x16x16-iddpm",
                method: .monteCarlo(estimator: .marginal, networks: networks, probe: .zero, seed: 0),
                directory: "\(dir)/geometry")
            let d = 256
            let (basis, indices) = try Basis.all("dct", shape: [1, 16, 16])
            var m = [Double](repeating: 0, count: d * d)
            for (k, index) in indices.enumerated() {
                guard case let .dct(fx, fy) = index else { continue }
                let nu = 1 / (1 + Double(fx * fx + fy * fy))
                for i in 0..<d {
                    for j in 0..<d {
                        m[i * d + j] += nu * Double(basis.data[k * d + i]) * Double(basis.data[k * d + j])
                    }
                }
            }
            let alignment = try Alignment(networkGeometry: g.geometry, dataSecondMoment: m, dimension: d)
            let (lo, hi) = alignment.alphaBounds
            let aMin = alignment.alpha(alignment.wMin), aMax = alignment.alpha(alignment.wMax)
            var below = 0, above = 0, smallest = Double.infinity, largest = -Double.infinity
            for k in 0..<randomTransforms {
                let w = try RandomOrthogonal.matrix(
                    n: d, stream: RandomStream(seed: 0, purpose: .experiment, index: UInt64(100 + k)))
                let a = alignment.alpha(w)
                smallest = min(smallest, a); largest = max(largest, a)
                if a < lo * (1 - 1e-9) { below += 1 }
                if a > hi * (1 + 1e-9) { above += 1 }
            }
            return Checks(
                thm2: Thm2(
                    alphaWmin: aMin, alphaWmax: aMax, alphaIdentity: alignment.alpha(nil), closedFormMin: lo,
                    closedFormMax: hi, randomMin: smallest, randomMax: largest, violations: below + above,
                    randomTransforms: randomTransforms,
                    closedFormsMatch: abs(aMin - lo) <= 1e-9 * abs(hi) && abs(aMax - hi) <= 1e-9 * abs(hi),
                    holds: below + above == 0))
        }
    }

    static func yesNo(_ v: Bool?) -> String { v.map { $0 ? "yes" : "NO" } ?? "?" }

    /// The four checks, one unit each.
    public func aggregate(_ results: [ExperimentUnit: Checks], in run: RunDirectory) throws -> Checks {
        Checks(
            prop1: results[ExperimentUnit("prop1", 0, seed: 0)]?.prop1,
            prop2: results[ExperimentUnit("prop2", 0, seed: 0)]?.prop2,
            prop3: results[ExperimentUnit("prop3", 0, seed: 0)]?.prop3,
            thm2: results[ExperimentUnit("thm2", 0, seed: 0)]?.thm2)
    }

    public func verdict(_ summary: Checks) throws -> [Claim] { Self.claims(summary) }

    /// One table: each claim, what was measured, the test and the verdict.
    public func figures(_ summary: Checks, claims: [Claim], in run: RunDirectory) throws -> RecipeFigures {
        let rows: [[String]] =
            [["claim", "measured", "test", "holds"]]
            + claims.map { [$0.statement, $0.evidence.summary, $0.evidence.test, Self.yesNo($0.holds)] }
        return RecipeFigures(
            sections: [
                ReportSection(
                    title: "Propositions 1–3 and Theorem 2",
                    paragraphs: [
                        "Monte Carlo checks compare the structure's residual with the estimate's own split-half noise."
                    ], table: rows)
            ],
            headline: claims.map { "\($0.id): \($0.verdict)." })
    }

    static func claims(_ c: Checks) -> [Claim] {
        let noiseTest = "structure residual ≤ 3 × the estimate's split-half noise (Monte Carlo)"
        func f(_ v: Double?, _ digits: Int = 4) -> String { Statistics.format(v ?? .nan, digits) }
        let p1 = c.prop1, p2 = c.prop2, p3 = c.prop3, t2 = c.thm2
        return [
            Claim(
                id: "props.prop1",
                statement: "Proposition 1: an MLP whose output layer has iid rows has geometry G = aI + b11ᵀ.",
                holds: p1?.holds,
                evidence: Claim.Evidence(
                    summary: "relative residual of the best (a, b) fit \(f(p1?.relativeResidual, 3)) (a = \(f(p1?.a)), "
                        + "b = \(f(p1?.b))) vs split-half noise \(f(p1?.splitHalfNoise, 3)).",
                    test: noiseTest,
                    values: [
                        "relative_residual": p1?.relativeResidual ?? .nan,
                        "split_half_noise": p1?.splitHalfNoise ?? .nan,
                    ])),
            Claim(
                id: "props.prop2",
                statement: "Proposition 2: a CNN whose output layer has iid filters has G = I_C ⊗ A + 11ᵀ ⊗ B "
                    + "(equal diagonal channel blocks, equal off-diagonal blocks).",
                holds: p2?.holds,
                evidence: Claim.Evidence(
                    summary: "block spread: diagonal \(f(p2?.diagonalBlockSpread, 3)), off-diagonal "
                        + "\(f(p2?.offDiagonalBlockSpread, 3)); split-half noise \(f(p2?.splitHalfNoise, 3)).",
                    test: noiseTest,
                    values: [
                        "diagonal_block_spread": p2?.diagonalBlockSpread ?? .nan,
                        "off_diagonal_block_spread": p2?.offDiagonalBlockSpread ?? .nan,
                        "split_half_noise": p2?.splitHalfNoise ?? .nan,
                    ])),
            Claim(
                id: "props.prop3",
                statement: "Proposition 3: a token-wise transformer output with a fixed orthonormal unpatchify has at "
                    + "most T distinct eigenvalues (DiT/2: T = 64, DiT/4: T = 16).",
                holds: p3.map { $0.p2.holds && $0.p4.holds },
                evidence: Claim.Evidence(
                    summary: "distinct eigenvalues of the closed-form geometry: DiT/2 "
                        + "\(p3.map { "\($0.p2.distinctEigenvalues) (T = \($0.p2.tokens))" } ?? "?"), DiT/4 "
                        + "\(p3.map { "\($0.p4.distinctEigenvalues) (T = \($0.p4.tokens))" } ?? "?").",
                    test: "count of distinct eigenvalues (relative tolerance 1e-9) ≤ T",
                    values: [
                        "distinct_p2": p3.map { Double($0.p2.distinctEigenvalues) } ?? .nan,
                        "distinct_p4": p3.map { Double($0.p4.distinctEigenvalues) } ?? .nan,
                    ])),
            Claim(
                id: "props.thm2",
                statement:
                    "Theorem 2: for every orthogonal W, α(W_min) ≤ α(W) ≤ α(W_max), with α(W_min) = Σλ_iν_{D+1−i} "
                    + "and α(W_max) = Σλ_iν_i.",
                holds: t2.map { $0.holds && $0.closedFormsMatch },
                evidence: Claim.Evidence(
                    summary: "\(t2.map { "\($0.randomTransforms)" } ?? "?") random orthogonal W: α in "
                        + "[\(f(t2?.randomMin)), \(f(t2?.randomMax))], \(t2.map { "\($0.violations)" } ?? "?") outside "
                        + "[\(f(t2?.closedFormMin)), \(f(t2?.closedFormMax))]; closed forms match W_min / W_max: "
                        + "\(yesNo(t2?.closedFormsMatch)).",
                    test: "bound check over random W (relative tolerance 1e-9) and closed forms to 1e-9",
                    values: [
                        "violations": t2.map { Double($0.violations) } ?? .nan, "alpha_wmin": t2?.alphaWmin ?? .nan,
                    ])),
        ]
    }
}
