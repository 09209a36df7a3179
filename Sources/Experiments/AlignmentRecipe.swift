import Datasets
import Foundation
import Formats
import Geometry
import Networks
import Reports
import Tensors

/// Figs. 7, 8 and 10 (Theorem 2): rotate a real dataset by W_min, I or W_max, train, map the
/// samples back with Wᵀ and measure SW₂ / MSW₂ against the images (the reference set is the
/// training set, as the reference's `images` experiment). The alignment α(W) = tr(G W M Wᵀ)
/// is computed and written *before* any training: the prediction is W_min < I ≲ W_max.
public struct AlignmentRecipe: Recipe {
    public let name: String
    public let title: String
    public let profile: Profile
    public let data: String
    public var images: Int
    public var geometryNetworks: Int
    public var training: TrainingSettings
    /// The user's imported network instead of the built-in U-Net of the images' size.
    public var imported: Architecture?
    public static let variants = ["w-min", "identity", "w-max"]

    /// The prediction written before any training (prepared/alignment.json).
    public struct Prediction: Codable, Sendable {
        public var alpha: Alpha
        public var config: String
        public var dimension: Int

        /// Reads and checks a prediction file: every α finite.
        public static func read(_ path: String) throws -> Prediction {
            let p = try JSONCoding.decode(Prediction.self, from: try JSONFile.read(path), file: path)
            let a = p.alpha
            for (field, v) in [
                ("w-min", a.wMin), ("identity", a.identity), ("w-max", a.wMax), ("theorem2_min", a.theorem2Min),
                ("theorem2_max", a.theorem2Max),
            ] where !v.isFinite {
                throw FormatError(file: path, field: "alpha.\(field)", expected: "a finite number", found: "\(v)")
            }
            return p
        }
    }

    /// α(W) = tr(G W M Wᵀ) for each transform and Theorem 2's closed-form bounds.
    public struct Alpha: Codable, Sendable {
        public var wMin: Double
        public var identity: Double
        public var wMax: Double
        public var theorem2Min: Double
        public var theorem2Max: Double

        enum CodingKeys: String, CodingKey {
            case wMin = "w-min", identity, wMax = "w-max", theorem2Min, theorem2Max
        }

        /// α of a variant by name ("w-min", "identity", "w-max").
        public subscript(variant: String) -> Double {
            switch variant {
            case "w-min": return wMin
            case "w-max": return wMax
            default: return identity
            }
        }
    }

    /// One transform over the seeds.
    public struct VariantResult: Codable, Sendable {
        public var alpha: Double
        public var sw2: SeedStatistics
        public var msw2: SeedStatistics
        public var baselines: BaselineComparison
    }

    /// The numbers of result.json: each transform, and the prediction.
    public struct Result: Codable, Sendable {
        public var variants: [String: VariantResult]
        public var alpha: Alpha
    }

    public init(name: String, profile: Profile, options: RecipeOptions) throws {
        self.name = name
        self.profile = profile
        guard name != "fig10" || options.data != nil else {
            throw RecipeError(
                "fig10 needs --data: CIFAR-10 (cifar:data_batch_1.bin,…) or a PNG folder such as CelebA-HQ 56×56 "
                    + "grey (png:DIR)"
            )
        }
        data = options.data ?? "fashion-mnist"
        title = "alignment W_min / I / W_max on \(data)"
        switch profile {
        case .quick:
            images = 64
            geometryNetworks = 64
            training = TrainingSettings.profile(.quick, paperSteps: 0, seeds: options.seeds)
            training.evalSamples = images
        case .cpu:
            images = 1000
            geometryNetworks = 4096
            training = TrainingSettings(
                trainSamples: images, steps: 400, batchSize: 64, evalSamples: images, samplingSteps: 50,
                projectionsPerDimension: 64, fixedProjections: nil, seeds: options.seeds ?? 2)
        case .paper:
            images = 10_000
            geometryNetworks = 1_000_000
            // Paper: batch 500, 100k iterations (200k for CIFAR-10), 1000 sampling steps, SW₂ with 64·D projections.
            // The step count follows the images' shape (whatever file format they come in).
            let shape = Array(try DataSource.parse(data).loadImages().shape.dropFirst())
            let steps = Self.paperSteps(imageShape: shape)
            training = TrainingSettings(
                trainSamples: images, steps: steps, batchSize: 500, evalSamples: images, samplingSteps: 1000,
                projectionsPerDimension: 64, fixedProjections: nil, seeds: options.seeds ?? 5)
        }
        training.trainSamples = images
    }

    /// The paper's iterations for images of this shape: 200k for CIFAR-10's 3×32×32, 100k for
    /// MNIST (1×28×28) and CelebA-HQ (1×56×56), and 100k for any other size.
    public static func paperSteps(imageShape: [Int]) -> Int { imageShape == [3, 32, 32] ? 200_000 : 100_000 }

    /// The stated settings (sweep.json, result.json, the report).
    public struct Settings: Codable, Equatable, Sendable {
        public var data: String
        public var images: Int
        public var training: TrainingSettings.Record
        public var geometry: String
        public var dataGeometry: String
        /// The imported network's identity (files and their SHA-256), when `--onnx` is given.
        public var onnx: String?
    }

    public var settings: Settings {
        Settings(
            data: data, images: images, training: training.record,
            geometry: profile == .paper
                ? "reference estimator, \(geometryNetworks) networks, zero probe"
                : "marginal estimator, \(geometryNetworks) networks, zero probe",
            dataGeometry: "uncentred second moment M = E[x xᵀ] of the images used",
            onnx: imported.map { $0.importedIdentity ?? "" })
    }

    /// The first `images` images of the dataset and the network: the built-in config of their
    /// size, or the imported network (whose input shape the images must have).
    func dataset() throws -> (Tensor, ResolvedArchitecture) {
        let all = try DataSource.parse(data).loadImages()
        let shape = Array(all.shape.dropFirst())
        let network: ResolvedArchitecture
        if let imported {
            network = try imported.resolve()
            guard network.shape == shape else {
                throw FormatError(
                    file: data, field: "image size", expected: "the imported network's input \(network.shape)",
                    found: shape.map(String.init).joined(separator: "x"))
            }
        } else {
            let configName = shape.map(String.init).joined(separator: "x") + "-iddpm"
            guard BuiltinConfigs.json[configName] != nil else {
                throw FormatError(
                    file: data, field: "image size",
                    expected: "a size with a built-in U-Net config ("
                        + BuiltinConfigs.json.keys.filter { $0.hasSuffix("-iddpm") }.map { String($0.dropLast(6)) }
                        .sorted().joined(separator: ", ") + ")",
                    found: shape.map(String.init).joined(separator: "x"))
            }
            network = try Architecture(name: configName, configName: configName).resolve()
        }
        guard all.shape[0] >= images else {
            throw FormatError(
                file: data, field: "images", expected: "at least \(images) images for profile \(profile.rawValue)",
                found: "\(all.shape[0])")
        }
        let d = shape.reduce(1, *)
        return (Tensor(shape: [images] + shape, data: Array(all.data[0..<(images * d)])), network)
    }

    /// The estimator: the reference's in `paper`, else the marginal where the network allows it.
    func method(_ network: ResolvedArchitecture) -> GeometrySource.Method {
        var estimator: Estimator = profile == .paper ? .reference : .marginal
        if estimator == .marginal, let net = network.imported, (try? net.marginalLayer.get()) == nil {
            estimator = .importance
        }
        return .monteCarlo(estimator: estimator, networks: geometryNetworks, probe: .zero, seed: 0)
    }

    func label(_ network: ResolvedArchitecture) -> String { network.config?.source ?? "onnx" }

    func transformPath(_ variant: String, in run: RunDirectory) -> String { run.file("prepared/\(variant).npy") }

    public func prepare(in run: RunDirectory) throws {
        let marker = run.file("prepared/alignment.json")
        if FileManager.default.fileExists(atPath: marker) { return }
        let (x, network) = try dataset()
        let d = network.dimension
        let g = try GeometrySource.load(
            architecture: network, label: label(network), method: method(network),
            directory: run.file("prepared/network-geometry"), log: run.log)
        let m = DataGeometry.secondMoment(x)
        let alignment = try Alignment(networkGeometry: g.geometry, dataSecondMoment: m, dimension: d)
        let wMin = alignment.wMin, wMax = alignment.wMax
        var identity = [Double](repeating: 0, count: d * d)
        for i in 0..<d { identity[i * d + i] = 1 }
        for (variant, w) in [("w-min", wMin), ("identity", identity), ("w-max", wMax)] {
            try Npy.write(NDArray(shape: [d, d], float32: w.map(Float.init)), to: transformPath(variant, in: run))
        }
        let (lo, hi) = alignment.alphaBounds
        let alpha = Alpha(
            wMin: alignment.alpha(wMin), identity: alignment.alpha(nil), wMax: alignment.alpha(wMax),
            theorem2Min: lo, theorem2Max: hi)
        run.log(
            String(
                format: "prediction before training: α(W_min) = %.4g ≤ α(I) = %.4g ≤ α(W_max) = %.4g (lower = easier)",
                alpha.wMin, alpha.identity, alpha.wMax))
        try JSONFile.write(
            try JSONCoding.object(Prediction(alpha: alpha, config: label(network), dimension: d)), to: marker)
    }

    public func units() throws -> [ExperimentUnit] {
        Self.variants.flatMap { v in (0..<training.seeds).map { ExperimentUnit(v, 0, seed: $0) } }
    }

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> TrainedModel {
        let (x, network) = try dataset()
        let w = try OrthogonalTransform.load(transformPath(unit.experiment, in: run))
        let z = try w.apply(x)
        let outcome = try DiffusionRun.trainAndEvaluate(
            architecture: network, train: z, reference: x, settings: training, seed: UInt64(unit.seed),
            transform: w, checkpointDirectory: run.unitDirectory(unit))
        let keep = min(36, outcome.samples.shape[0]), per = network.dimension
        try Npy.write(
            Tensor(shape: [keep] + network.shape, data: Array(outcome.samples.data[0..<(keep * per)])),
            to: "\(run.unitDirectory(unit))/samples.npy")
        return outcome.result
    }

    /// Whether this run's training can test an ordering (the quick profile trains 3 steps).
    var testable: Bool { profile != .quick && training.seeds >= 2 }

    /// The prediction (α before training, Theorem 2), the two orderings the paper reads off
    /// Fig. 8, and the trivial baselines.
    func claims(
        alpha: Alpha, sw: [SeedStatistics], msw: [SeedStatistics], baselines: [BaselineComparison]
    )
        -> [Claim]
    {
        let a = Self.variants.map { alpha[$0] }
        let lo = alpha.theorem2Min, hi = alpha.theorem2Max
        let tolerance = 1e-9 * max(abs(hi), 1)
        let ordered = a[0] <= a[1] + tolerance && a[1] <= a[2] + tolerance
        let bounds = abs(a[0] - lo) <= tolerance && abs(a[2] - hi) <= tolerance
        let caveat = BaselineComparison.caveat(baselines)
        func ordering(_ j: Int, id: String, statement: String) -> Claim {
            let s = PairedComparison(smaller: sw[0], larger: sw[j])
            let m = PairedComparison(smaller: msw[0], larger: msw[j])
            let name = ["W_min", "I", "W_max"][j]
            return s.claim(
                id: id, statement: statement,
                summary: "SW₂ W_min \(sw[0].formatted) vs \(name) \(sw[j].formatted): \(s.summary); MSW₂ "
                    + "\(msw[0].formatted) vs \(msw[j].formatted): \(m.summary)." + caveat,
                testable: testable,
                test: "paired t-test over seeds on SW₂ (one-sided), α = \(Claim.alpha); MSW₂ and sign test "
                    + "reported",
                values: [
                    "sw2_wmin": sw[0].value, "sw2_other": sw[j].value, "msw2_wmin": msw[0].value,
                    "msw2_other": msw[j].value,
                ])
        }
        return [
            Claim(
                id: "\(name).alpha-prediction",
                statement: "Before training, α(W) = tr(G W M Wᵀ) orders the transforms α(W_min) ≤ α(I) ≤ α(W_max), "
                    + "and α(W_min), α(W_max) equal Theorem 2's bounds.",
                holds: ordered && bounds,
                evidence: Claim.Evidence(
                    summary:
                        "α(W_min) = \(Statistics.format(a[0], 8)), α(I) = \(Statistics.format(a[1], 8)), α(W_max) = "
                        + "\(Statistics.format(a[2], 8)); Theorem 2 bounds \(Statistics.format(lo, 8)) … "
                        + "\(Statistics.format(hi, 8)).",
                    test: "exact comparison (relative tolerance 1e-9)",
                    values: ["alpha_wmin": a[0], "alpha_identity": a[1], "alpha_wmax": a[2]])),
            ordering(
                1, id: "\(name).wmin-better-than-identity",
                statement: "Training on W_min-rotated data gives lower SW₂ than training on the data as it is (W = "
                    + "I)."),
            ordering(
                2, id: "\(name).wmin-better-than-wmax",
                statement: "Training on W_min-rotated data gives lower SW₂ than on W_max-rotated data."),
            BaselineComparison.claim(id: "\(name).beats-zero-sampler", baselines, testable: testable),
        ]
    }

    /// Per transform: α (the prediction written before training), SW₂ / MSW₂ over the seeds, baselines.
    public func aggregate(_ results: [ExperimentUnit: TrainedModel], in run: RunDirectory) throws -> Result {
        let alpha = try Prediction.read(run.file("prepared/alignment.json")).alpha
        var per: [String: VariantResult] = [:]
        for v in Self.variants {
            let rs = (0..<training.seeds).map { results[ExperimentUnit(v, 0, seed: $0)] }
            per[v] = VariantResult(
                alpha: alpha[v], sw2: SeedStatistics(rs.map { $0?.sw2Value ?? .nan }),
                msw2: SeedStatistics(rs.map { $0?.msw2Value ?? .nan }),
                baselines: BaselineComparison(model: v, results: rs))
        }
        return Result(variants: per, alpha: alpha)
    }

    /// The α prediction (Theorem 2's bounds), the orderings W_min < I and W_min < W_max, the baselines.
    public func verdict(_ summary: Result) throws -> [Claim] {
        let per = try Self.variants.map { v in
            guard let r = summary.variants[v] else { throw RecipeError("\(name): no summary for \(v)") }
            return r
        }
        return claims(alpha: summary.alpha, sw: per.map(\.sw2), msw: per.map(\.msw2), baselines: per.map(\.baselines))
    }

    /// The table, the SW₂ / MSW₂ bars (Fig. 8) and each transform's samples (Fig. 7).
    public func figures(_ summary: Result, claims: [Claim], in run: RunDirectory) throws -> RecipeFigures {
        let alpha = summary.alpha
        var rows: [[String]] = [
            [
                "W", "α (prediction)", "SW₂ (mean ± SE)", "MSW₂ (mean ± SE)", "zeros SW₂ / MSW₂", "Gaussian SW₂ / MSW₂",
                "seeds",
            ]
        ]
        var swStats: [SeedStatistics] = [], mswStats: [SeedStatistics] = []
        var figures: [ReportFigure] = []
        for v in Self.variants {
            guard let r = summary.variants[v] else { throw RecipeError("\(name): no summary for \(v)") }
            let s = r.sw2, m = r.msw2, b = r.baselines
            swStats.append(s); mswStats.append(m)
            rows.append([
                v, Statistics.format(alpha[v]), s.formatted, m.formatted,
                "\(Statistics.format(b.zerosSW2.value)) / \(Statistics.format(b.zerosMSW2.value))",
                "\(Statistics.format(b.fittedSW2.value)) / \(Statistics.format(b.fittedMSW2.value))", "\(s.count)",
            ])
            let samplesPath = "\(run.unitDirectory(ExperimentUnit(v, 0, seed: 0)))/samples.npy"
            if let samples = try? Npy.read(samplesPath).tensor(file: samplesPath, field: "samples", converting: true),
                samples.rank == 4, samples.shape[0] >= 1, samples.shape[1] == 1 || samples.shape[1] == 3,
                samples.data.allSatisfy({ $0.isFinite })
            {
                figures.append(
                    .png(
                        name: "samples-\(v)", bytes: ImageGrid.png(samples, columns: 6, zoom: 2, scaling: .data),
                        caption: "\(v): uncurated samples (seed 0), α = \(Statistics.format(alpha[v]))"))
            }
        }
        let sw = swStats.map(\.value), swSE = swStats.map(\.error)
        let msw = mswStats.map(\.value), mswSE = mswStats.map(\.error)
        let verdict =
            "SW₂: W_min \(Statistics.format(sw[0])), I \(Statistics.format(sw[1])), W_max \(Statistics.format(sw[2])). "
            + claims.map { "\($0.id): \($0.verdict)" }.joined(separator: "; ") + "."
        let chart = SVGChart.bars(
            title: "SW₂ and MSW₂ by transform (\(data))", yLabel: "distance", categories: ["W_min", "I", "W_max"],
            series: [
                ChartSeries(name: "SW₂", x: [0, 1, 2], y: sw, error: swSE),
                ChartSeries(name: "MSW₂", x: [0, 1, 2], y: msw, error: mswSE),
            ])
        figures.insert(.svg(name: "alignment-bars", content: chart, caption: "Mean ± SE over seeds (Fig. 8)."), at: 0)
        let section = ReportSection(
            title: "Alignment on \(data)",
            paragraphs: [
                "α(W) = tr(G W M Wᵀ) was computed before training (Theorem 2 bounds: "
                    + "\(Statistics.format(alpha.theorem2Min)) … \(Statistics.format(alpha.theorem2Max)))."
                    + " Lower α predicts easier generation.", verdict,
            ],
            table: rows, figures: figures)
        return RecipeFigures(sections: [section], headline: [verdict])
    }
}
