import Datasets
import Foundation
import Geometry
import Networks
import Reports
import Tensors

/// Fig. 6: rank-one data N(0, D v vᵀ) along SAD k, test MSW₂ against k, mean ± SE over seeds,
/// with the (normalised) eigenvalues on a second axis and the SADs with their DFT energy.
/// The prediction: large-eigenvalue SADs (small k, descending order) are harder (larger MSW₂).
///
/// Units: (architecture, SAD index, seed). Units with the same seed share init, data scalars,
/// timesteps and sampling noise (common random numbers), so index-to-index differences are
/// not swamped by seed-to-seed noise.
public struct SADSweepRecipe: Recipe {
    public var name: String
    public var title: String
    public let profile: Profile
    public var architectures: [Architecture]
    public var indices: [Int]
    public var training: TrainingSettings
    public var geometryNetworks: Int

    /// One unit: the trained model's numbers and the SAD's eigenvalue (one flat JSON object).
    public struct Unit: Codable, Sendable {
        public var model: TrainedModel
        public var eigenvalue: Double

        enum Keys: String, CodingKey { case eigenvalue }

        public init(model: TrainedModel, eigenvalue: Double) {
            self.model = model
            self.eigenvalue = eigenvalue
        }

        public init(from decoder: any Decoder) throws {
            model = try TrainedModel(from: decoder)
            eigenvalue = try decoder.container(keyedBy: Keys.self).decode(Double.self, forKey: .eigenvalue)
        }

        public func encode(to encoder: any Encoder) throws {
            try model.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(eigenvalue, forKey: .eigenvalue)
        }
    }

    /// One SAD index of one architecture, over the seeds.
    public struct IndexResult: Codable, Sendable {
        public var index: Int
        public var eigenvalue: Double
        public var normalisedEigenvalue: Double
        public var msw2: SeedStatistics
        public var sw2: SeedStatistics
        public var baselines: BaselineComparison
    }

    /// One architecture: every index, and its geometry's summary.
    public struct ArchitectureResult: Codable, Sendable {
        public var perIndex: [IndexResult]
        public var geometry: String
    }

    /// A finished Fig. 6 result.json read back: its settings and each listed architecture's
    /// numbers (result.json holds them under the architectures' names, beside `settings`).
    public struct Saved: Decodable, Sendable {
        public var settings: Settings
        public var architectures: [String: ArchitectureResult]
        public var claims: [Claim]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ name: String) { stringValue = name }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            settings = try c.decode(Settings.self, forKey: Key("settings"))
            claims = try c.decode([Claim].self, forKey: Key("claims"))
            architectures = [:]
            for name in settings.architectures {
                architectures[name] = try c.decode(ArchitectureResult.self, forKey: Key(name))
            }
        }

        /// Reads `path` (a FormatError names the field that does not decode).
        public static func read(_ path: String) throws -> Saved {
            try JSONCoding.decode(Saved.self, from: try JSONFile.read(path), file: path)
        }
    }

    public init(profile: Profile, options: RecipeOptions) {
        name = "fig6"
        title = "MSW2 on rank-one data along SADs"
        self.profile = profile
        let fig6Indices = [0, 31, 63, 95, 127, 159, 191, 223, 255]
        switch profile {
        case .quick:
            architectures = [.iddpmNearest]
            indices = [0, 255]
            geometryNetworks = 128
        case .cpu:
            // All four architectures of the paper's Fig. 6 (108 units, several hours on 2 cores:
            // run it in the background, sharded or resumed).
            architectures = Architecture.all
            indices = fig6Indices
            geometryNetworks = 32_768
        case .paper:
            architectures = Architecture.all
            indices = fig6Indices
            geometryNetworks = 1_000_000
        }
        training = TrainingSettings.profile(profile, paperSteps: 2000, seeds: options.seeds)
    }

    /// The demo: SADs of the default U-Net, training along the top and bottom SAD.
    public static func demo(seeds: Int = 2) -> SADSweepRecipe {
        var r = SADSweepRecipe(profile: .cpu, options: RecipeOptions())
        r.name = "demo"
        r.title = "SADs of the default U-Net; rank-one training along the top and bottom SAD"
        r.architectures = [.iddpmNearest]
        r.indices = [0, 255]
        r.geometryNetworks = 4096
        r.training = TrainingSettings(
            trainSamples: 1024, steps: 150, batchSize: 128, evalSamples: 500, samplingSteps: 25,
            projectionsPerDimension: 64, fixedProjections: nil, seeds: seeds)
        return r
    }

    /// The stated settings (sweep.json, result.json, the report).
    public struct Settings: Codable, Equatable, Sendable {
        public var architectures: [String]
        public var sadIndices: [Int]
        public var training: TrainingSettings.Record
        public var trainingNote: String
        public var geometry: String
        /// The imported network's identity (files and their SHA-256), when `--onnx` is given.
        public var onnx: String?
    }

    public var settings: Settings {
        Settings(
            architectures: architectures.map(\.name), sadIndices: indices, training: training.record,
            trainingNote: profile == .paper
                ? "DiT/4 trains 4000 steps (the paper), the others 2000" : "same steps for every architecture",
            geometry: profile == .paper
                ? "reference estimator (geometry.py), \(geometryNetworks) networks, zero probe; DiT likewise"
                : "marginal estimator, \(geometryNetworks) networks, zero probe (U-Net); closed form (DiT)",
            onnx: architectures.last(where: \.isImported).map { $0.importedIdentity ?? "" })
    }

    func method(_ arch: Architecture) -> GeometrySource.Method {
        if arch.isImported {
            // The marginal where the graph allows it (the imported network's output layer is iid),
            // else importance sampling of t (unbiased for networks that depend on t).
            let marginal = (try? arch.importedNetwork().marginalLayer.get()) != nil
            return .monteCarlo(
                estimator: marginal ? .marginal : .importance, networks: geometryNetworks, probe: .zero,
                seed: 0)
        }
        if arch.isDiT && profile != .paper { return .analytic }
        return .monteCarlo(
            estimator: profile == .paper ? .reference : .marginal, networks: geometryNetworks, probe: .zero, seed: 0)
    }

    func geometry(_ arch: Architecture, in run: RunDirectory) throws -> GeometrySource.Loaded {
        try GeometrySource.load(
            architecture: try arch.resolve(), label: arch.name, method: method(arch),
            directory: run.file("prepared/geometry-\(arch.name)"), log: run.log)
    }

    func architecture(named name: String) throws -> Architecture {
        try architectures.first { $0.name == name } ?? Architecture.named(name)
    }

    public func prepare(in run: RunDirectory) throws {
        for arch in architectures { _ = try geometry(arch, in: run) }
    }

    public func units() throws -> [ExperimentUnit] {
        architectures.flatMap { a in
            indices.flatMap { i in (0..<training.seeds).map { ExperimentUnit(a.name, i, seed: $0) } }
        }
    }

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> Unit {
        let arch = try architecture(named: unit.experiment)
        let resolved = try arch.resolve()
        let g = try geometry(arch, in: run)
        let d = resolved.dimension
        guard (0..<d).contains(unit.index) else {
            throw RecipeError("SAD index \(unit.index) outside 0…\(d - 1) for \(arch.name)")
        }
        let v = Tensor(shape: resolved.shape, data: Array(g.vectors.data[(unit.index * d)..<((unit.index + 1) * d)]))
        let seed = UInt64(unit.seed)
        let train = try SyntheticData.rankOne(direction: v, count: training.trainSamples, seed: seed, stream: 0)
        let reference = try SyntheticData.rankOne(direction: v, count: training.evalSamples, seed: seed, stream: 1)
        var settings = training
        // The paper: DiT/4 4k iterations, the others 2k.
        if profile == .paper && arch == .dit4 { settings.steps = 4000 }
        let outcome = try DiffusionRun.trainAndEvaluate(
            architecture: resolved, train: train, reference: reference, settings: settings, seed: seed,
            baseline: .rankOne(direction: v), checkpointDirectory: run.unitDirectory(unit))
        return Unit(model: outcome.result, eigenvalue: g.values[unit.index])
    }

    /// Whether this run's training can test an ordering (the quick profile trains 3 steps).
    var testable: Bool { profile != .quick && training.seeds >= 2 }

    /// The claims for one architecture: the ordering over the indices (Spearman, when there are
    /// at least three), the two ends (paired over seeds), and the trivial baselines.
    func claims(
        _ arch: Architecture, lambdas: [Double], msw: [SeedStatistics], baselines: [BaselineComparison]
    ) -> [Claim] {
        var claims: [Claim] = []
        let caveat = BaselineComparison.caveat(baselines)
        if indices.count >= 3 {
            let rank = RankCorrelation(lambdas, msw.map(\.value))
            let null = lambdas.filter { $0 == 0 }.count
            let nullNote =
                null > 1
                ? " (\(null) of them with λ/λ_max ≤ \(Self.nullEigenvalue), numerically zero, ranked as ties)" : ""
            claims.append(
                rank.positiveClaim(
                    id: "\(name).\(arch.name).ordering",
                    statement: "Data along SADs with larger eigenvalues is harder to model: test MSW₂ increases "
                        + "with the SAD's eigenvalue (\(arch.name)).",
                    summary: "\(rank.summary) between λ and mean MSW₂ over SAD indices "
                        + "\(indices.map(String.init).joined(separator: ", "))" + nullNote + "." + caveat,
                    testable: testable))
        }
        let first = msw.first!, last = msw.last!
        let paired = PairedComparison(smaller: last, larger: first)
        claims.append(
            paired.claim(
                id: "\(name).\(arch.name).extremes",
                statement: "The largest-eigenvalue SAD is harder to model than the smallest-eigenvalue SAD "
                    + "(higher test MSW₂, \(arch.name)).",
                summary: "MSW₂ at SAD \(indices.first!) \(first.formatted) vs SAD \(indices.last!) "
                    + "\(last.formatted); paired \(paired.summary)." + caveat,
                testable: testable, values: ["msw2_first": first.value, "msw2_last": last.value]))
        claims.append(
            BaselineComparison.claim(id: "\(name).\(arch.name).beats-zero-sampler", baselines, testable: testable))
        return claims
    }

    /// Per architecture and SAD index: MSW₂ / SW₂ over the seeds and the trivial baselines.
    public func aggregate(
        _ results: [ExperimentUnit: Unit], in run: RunDirectory
    ) throws -> [String: ArchitectureResult] {
        var out: [String: ArchitectureResult] = [:]
        for arch in architectures {
            let g = try geometry(arch, in: run)
            let lmax = g.values[0]
            let perIndex = indices.map { i in
                let rs = (0..<training.seeds).map { results[ExperimentUnit(arch.name, i, seed: $0)]?.model }
                return IndexResult(
                    index: i, eigenvalue: g.values[i], normalisedEigenvalue: g.values[i] / lmax,
                    msw2: SeedStatistics(rs.map { $0?.msw2Value ?? .nan }),
                    sw2: SeedStatistics(rs.map { $0?.sw2Value ?? .nan }),
                    baselines: BaselineComparison(model: "SAD \(i)", results: rs))
            }
            out[arch.name] = ArchitectureResult(perIndex: perIndex, geometry: g.summary)
        }
        return out
    }

    /// Normalised eigenvalues at or below this are numerically zero: the DiTs' closed-form
    /// geometries have numerical rank 52 (DiT/2) and 112 (DiT/4) of 256, and past that their
    /// λ/λ_max are rounding noise (≤ 3.5e-12, of both signs), so the SADs' order there is
    /// arbitrary. The ordering claim ranks them as ties (λ = 0) instead of ranking the noise;
    /// the U-Nets' smallest λ/λ_max (≈ 1e-3) is far above it.
    static let nullEigenvalue = 1e-9

    static func tiedIfNull(_ normalised: Double) -> Double { normalised <= nullEigenvalue ? 0 : normalised }

    /// Per architecture: the ordering (Spearman), the extremes (paired) and the zero-sampler claims.
    public func verdict(_ summary: [String: ArchitectureResult]) throws -> [Claim] {
        try architectures.flatMap { arch in
            guard let r = summary[arch.name] else { throw RecipeError("\(name): no summary for \(arch.name)") }
            return claims(
                arch, lambdas: r.perIndex.map { Self.tiedIfNull($0.normalisedEigenvalue) },
                msw: r.perIndex.map(\.msw2), baselines: r.perIndex.map(\.baselines))
        }
    }

    /// Per architecture: the table, the spectrum, MSW₂ against the SAD index, the SADs and their DFT energy.
    public func figures(
        _ summary: [String: ArchitectureResult], claims: [Claim], in run: RunDirectory
    ) throws -> RecipeFigures {
        var sections: [ReportSection] = []
        var headline: [String] = []
        for arch in architectures {
            guard let r = summary[arch.name] else { throw RecipeError("\(name): no summary for \(arch.name)") }
            let g = try geometry(arch, in: run)
            let lmax = g.values[0]
            let stats = r.perIndex.map(\.msw2), lam = r.perIndex.map(\.normalisedEigenvalue)
            let rows: [[String]] =
                [
                    [
                        "SAD index", "λ / λ_max", "MSW₂ (mean ± SE)", "SW₂ (mean ± SE)", "zeros MSW₂ / SW₂",
                        "fitted law", "seeds",
                    ]
                ]
                + r.perIndex.map { x in
                    let b = x.baselines
                    return [
                        "\(x.index)", Statistics.format(x.normalisedEigenvalue), x.msw2.formatted, x.sw2.formatted,
                        "\(Statistics.format(b.zerosMSW2.value)) / \(Statistics.format(b.zerosSW2.value))",
                        "\(Statistics.format(b.fittedMSW2.value)) / \(Statistics.format(b.fittedSW2.value))",
                        "\(x.msw2.count)",
                    ]
                }
            let verdicts = claims.filter { $0.id.hasPrefix("\(name).\(arch.name).") }
                .map { "\($0.id): \($0.verdict)" }.joined(separator: "; ")
            let verdict =
                "\(arch.name): MSW₂ at SAD \(indices.first!) (largest λ) = \(stats.first!.formatted) vs SAD "
                + "\(indices.last!) (smallest λ) = \(stats.last!.formatted) (mean ± SE over \(training.seeds) seed"
                + "\(training.seeds == 1 ? "" : "s")). \(verdicts)."
            headline.append(verdict)
            let chart = SVGChart.lines(
                title: "\(arch.name): MSW₂ vs SAD index", xLabel: "SAD index (descending eigenvalue)",
                yLabel: "test MSW₂",
                series: [
                    ChartSeries(
                        name: "MSW₂ (mean ± SE)", x: indices.map(Double.init), y: stats.map(\.value),
                        error: stats.map(\.error))
                ],
                secondary: ChartSeries(name: "λ / λ_max", x: indices.map(Double.init), y: lam),
                secondaryLabel: "normalised eigenvalue", secondaryLog: true)
            let shape = Array(g.vectors.shape.dropFirst())
            let plane = shape.reduce(1, *)
            var chosen = Tensor(zeros: [indices.count] + shape)
            for (k, i) in indices.enumerated() {
                for j in 0..<plane { chosen.data[k * plane + j] = g.vectors.data[i * plane + j] }
            }
            sections.append(
                ReportSection(
                    title: "\(arch.name)",
                    paragraphs: [
                        verdict,
                        "Geometry: \(method(arch).description). Eigenvalues are normalised by λ_max = "
                            + "\(Statistics.format(lmax)). Zeros: the all-zero sampler; fitted law: "
                            + "\(r.perIndex.first?.baselines.fittedLaw ?? "—"), both on each unit's reference set.",
                    ],
                    table: rows,
                    figures: [
                        .svg(
                            name: "\(arch.name)-spectrum",
                            content: SVGChart.lines(
                                title: "\(arch.name): spectrum of G_F", xLabel: "SAD index", yLabel: "eigenvalue",
                                series: [
                                    ChartSeries(
                                        name: "eigenvalues", x: (0..<g.values.count).map(Double.init),
                                        y: g.values.map { max($0, 1e-12) })
                                ],
                                logY: true),
                            caption:
                                "All eigenvalues (descending, log scale); the paper's prediction: small eigenvalue "
                                + "= easy direction."
                        ),
                        .svg(
                            name: "\(arch.name)-msw2", content: chart,
                            caption:
                                "Test MSW₂ (mean ± SE over seeds) against the SAD index; dashed: normalised "
                                + "eigenvalue (right axis, log)."
                        ),
                        .png(
                            name: "\(arch.name)-sads",
                            bytes: ImageGrid.png(chosen, columns: indices.count, zoom: 5, scaling: .symmetric),
                            caption: "SADs at indices \(indices.map(String.init).joined(separator: ", ")) (grey = 0)."),
                        .png(
                            name: "\(arch.name)-sads-dft",
                            bytes: ImageGrid.png(
                                ImageGrid.centredSpectrum(chosen), columns: indices.count, zoom: 5, scaling: .minMax),
                            caption: "Their DFT energy, zero frequency centred."),
                    ]))
        }
        return RecipeFigures(sections: sections, headline: headline)
    }
}
