import Datasets
import Foundation
import Formats
import Geometry
import Networks
import Reports
import Tensors

/// Fig. 1: a 3-D sphere of radius √D in the span of the first three SADs (largest
/// eigenvalues) vs the last three, modelled by DiT/2. The DiT's init geometry is the closed
/// form (spec §4.4): "first" lies in its top, 4-fold degenerate eigenspace, "last" inside its
/// 196-dimensional null space (which null vectors come out is arbitrary, as in the reference).
/// Besides SW₂ / MSW₂, each sample's coordinates c = Vᵀx in the three directions give the
/// sphere's fidelity: radius ‖c‖/√D (1 on the sphere) and the off-span residual ‖x − Vc‖/√D.
public struct SphereRecipe: Recipe {
    public let name = "fig1"
    public let title = "sphere along the first vs last SADs (DiT/2)"
    public let profile: Profile
    public var training: TrainingSettings

    public init(profile: Profile, options: RecipeOptions) {
        self.profile = profile
        training = TrainingSettings.profile(profile, paperSteps: 10_000, seeds: options.seeds)
    }

    /// One unit: the trained model's numbers and the sphere fidelity of its samples (flat JSON).
    public struct Unit: Codable, Sendable {
        public var model: TrainedModel
        /// Mean and standard deviation of ‖c‖/√D over the samples (1 on the sphere).
        public var radiusMean: Double
        public var radiusSd: Double
        /// Mean ‖x − Vc‖/√D (0 in the span).
        public var offSpanResidualMean: Double

        enum Keys: String, CodingKey { case radiusMean, radiusSd, offSpanResidualMean }

        public init(model: TrainedModel, radiusMean: Double, radiusSd: Double, offSpanResidualMean: Double) {
            self.model = model
            self.radiusMean = radiusMean
            self.radiusSd = radiusSd
            self.offSpanResidualMean = offSpanResidualMean
        }

        public init(from decoder: any Decoder) throws {
            model = try TrainedModel(from: decoder)
            let c = try decoder.container(keyedBy: Keys.self)
            radiusMean = try c.decode(Double.self, forKey: .radiusMean)
            radiusSd = try c.decode(Double.self, forKey: .radiusSd)
            offSpanResidualMean = try c.decode(Double.self, forKey: .offSpanResidualMean)
        }

        public func encode(to encoder: any Encoder) throws {
            try model.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(radiusMean, forKey: .radiusMean)
            try c.encode(radiusSd, forKey: .radiusSd)
            try c.encode(offSpanResidualMean, forKey: .offSpanResidualMean)
        }
    }

    /// One span ("first" or "last") over the seeds.
    public struct SpanResult: Codable, Sendable {
        public var msw2: SeedStatistics
        public var sw2: SeedStatistics
        public var radiusMean: SeedStatistics
        public var radiusSd: SeedStatistics
        public var offSpanResidualMean: SeedStatistics
        public var baselines: BaselineComparison
    }

    /// The stated settings (sweep.json, result.json, the report).
    public struct Settings: Codable, Equatable, Sendable {
        public var architecture: String
        public var geometry: String
        public var first: [Int]
        public var last: [Int]
        public var training: TrainingSettings.Record
    }

    public var settings: Settings {
        Settings(
            architecture: "dit-p2", geometry: "closed form (exact)", first: [0, 1, 2], last: [253, 254, 255],
            training: training.record)
    }

    func geometry(in run: RunDirectory) throws -> GeometrySource.Loaded {
        try GeometrySource.load(
            config: try Architecture.dit2.config(), label: "dit-p2", method: .analytic,
            directory: run.file("prepared/geometry-dit-p2"), log: run.log)
    }

    public func prepare(in run: RunDirectory) throws { _ = try geometry(in: run) }

    public func units() throws -> [ExperimentUnit] {
        ["first", "last"].flatMap { e in (0..<training.seeds).map { ExperimentUnit(e, 0, seed: $0) } }
    }

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> Unit {
        let config = try Architecture.dit2.config()
        let g = try geometry(in: run)
        let d = config.dimension
        let indices = unit.experiment == "first" ? [0, 1, 2] : [d - 3, d - 2, d - 1]
        let dirs = indices.map { Tensor(shape: config.shape, data: Array(g.vectors.data[($0 * d)..<(($0 + 1) * d)])) }
        let seed = UInt64(unit.seed)
        let train = try SyntheticData.sphere(directions: dirs, count: training.trainSamples, seed: seed, stream: 0)
        let reference = try SyntheticData.sphere(directions: dirs, count: training.evalSamples, seed: seed, stream: 1)
        let outcome = try DiffusionRun.trainAndEvaluate(
            config: config, train: train, reference: reference, settings: training,
            seed: seed, baseline: .sphere(directions: dirs), checkpointDirectory: run.unitDirectory(unit))
        // Coordinates in the three directions, radius and off-span residual, per sample.
        let n = outcome.samples.shape[0], root = Double(d).squareRoot()
        var coords = [Float](repeating: 0, count: n * 3), radius = [Double](), residual = [Double]()
        for s in 0..<n {
            var c = [Double](repeating: 0, count: 3), total = 0.0
            for k in 0..<d { let x = Double(outcome.samples.data[s * d + k]); total += x * x }
            for j in 0..<3 {
                for k in 0..<d { c[j] += Double(outcome.samples.data[s * d + k]) * Double(dirs[j].data[k]) }
            }
            let inSpan = c.reduce(0) { $0 + $1 * $1 }
            radius.append(inSpan.squareRoot() / root)
            residual.append(max(total - inSpan, 0).squareRoot() / root)
            for j in 0..<3 { coords[s * 3 + j] = Float(c[j] / root) }
        }
        try Npy.write(Tensor(shape: [n, 3], data: coords), to: "\(run.unitDirectory(unit))/coordinates.npy")
        return Unit(
            model: outcome.result, radiusMean: Statistics.mean(radius),
            radiusSd: Statistics.standardError(radius) * Double(radius.count).squareRoot(),
            offSpanResidualMean: Statistics.mean(residual))
    }

    /// Whether this run's training can test an ordering (the quick profile trains 3 steps).
    var testable: Bool { profile != .quick && training.seeds >= 2 }

    /// Per span ("first", "last"): MSW₂ / SW₂, the samples' radius and off-span residual, baselines.
    public func aggregate(_ results: [ExperimentUnit: Unit], in run: RunDirectory) throws -> [String: SpanResult] {
        var out: [String: SpanResult] = [:]
        for e in ["first", "last"] {
            let rs = (0..<training.seeds).map { results[ExperimentUnit(e, 0, seed: $0)] }
            func stats(_ value: (Unit) -> Double) -> SeedStatistics { SeedStatistics(rs.map { $0.map(value) ?? .nan }) }
            out[e] = SpanResult(
                msw2: stats(\.model.msw2Value), sw2: stats(\.model.sw2Value), radiusMean: stats(\.radiusMean),
                radiusSd: stats(\.radiusSd), offSpanResidualMean: stats(\.offSpanResidualMean),
                baselines: BaselineComparison(model: "\(e) three SADs", results: rs.map { $0?.model }))
        }
        return out
    }

    /// The last three SADs' sphere is easier (paired over seeds), and the zero-sampler comparison.
    public func verdict(_ summary: [String: SpanResult]) throws -> [Claim] {
        guard let first = summary["first"], let last = summary["last"] else {
            throw RecipeError("\(name): the summary needs both spans (first, last)")
        }
        let baselines = [first.baselines, last.baselines]
        let paired = PairedComparison(smaller: last.msw2, larger: first.msw2)
        return [
            paired.claim(
                id: "fig1.last-easier",
                statement: "DiT/2 models a 3-D sphere in the span of the last three SADs better (lower MSW₂) "
                    + "than one in the span of the first three.",
                summary: "MSW₂ first \(first.msw2.formatted) vs last \(last.msw2.formatted); paired "
                    + "\(paired.summary)." + BaselineComparison.caveat(baselines),
                testable: testable, values: ["msw2_first": first.msw2.value, "msw2_last": last.msw2.value]),
            BaselineComparison.claim(id: "fig1.beats-zero-sampler", baselines, testable: testable),
        ]
    }

    /// The table, and the samples' coordinates (seed 0) over the data's unit disk.
    public func figures(_ summary: [String: SpanResult], claims: [Claim], in run: RunDirectory) throws -> RecipeFigures
    {
        var rows: [[String]] = [
            [
                "SADs", "MSW₂", "SW₂", "zeros MSW₂ / SW₂", "fitted sphere MSW₂ / SW₂", "radius/√D (1 ideal)",
                "radius sd", "off-span residual/√D (0 ideal)",
            ]
        ]
        var scatter: [ChartSeries] = []
        for e in ["first", "last"] {
            guard let span = summary[e] else { throw RecipeError("\(name): no summary for \(e)") }
            let b = span.baselines
            rows.append(
                [e, span.msw2.formatted, span.sw2.formatted] + [
                    "\(Statistics.format(b.zerosMSW2.value)) / \(Statistics.format(b.zerosSW2.value))",
                    "\(Statistics.format(b.fittedMSW2.value)) / \(Statistics.format(b.fittedSW2.value))",
                ] + [span.radiusMean, span.radiusSd, span.offSpanResidualMean].map(\.formatted))
            let path = "\(run.unitDirectory(ExperimentUnit(e, 0, seed: 0)))/coordinates.npy"
            if let c = try? Npy.read(path).tensor(file: path, field: "coordinates", converting: true), c.rank == 2,
                c.shape[1] == 3
            {
                let n = min(c.shape[0], 1000)
                scatter.append(
                    ChartSeries(
                        name: "\(e) three SADs", x: (0..<n).map { Double(c.data[$0 * 3]) },
                        y: (0..<n).map { Double(c.data[$0 * 3 + 1]) }))
            }
        }
        // The data: the sphere's equator in the plane of the first two directions (radius 1 in c/√D).
        let circle = (0..<200).map { 2 * Double.pi * Double($0) / 200 }
        scatter.insert(
            ChartSeries(
                name: "data: edge of its projection (unit disk)", x: circle.map { cos($0) }, y: circle.map { sin($0) }),
            at: 0)
        let verdict =
            "Sphere MSW₂: first SADs \(summary["first"]!.msw2.formatted) vs last \(summary["last"]!.msw2.formatted). "
            + claims.map { "\($0.id): \($0.verdict)" }.joined(separator: "; ") + "."
        let chart = SVGChart.scatter(
            title: "samples projected on SAD pairs (seed 0)", xLabel: "c₁ / √D", yLabel: "c₂ / √D", series: scatter,
            limit: 2)
        return RecipeFigures(
            sections: [
                ReportSection(
                    title: "Sphere (Fig. 1)", paragraphs: [verdict], table: rows,
                    figures: [
                        .svg(
                            name: "fig1-scatter", content: chart,
                            caption:
                                "Generated samples' coordinates in the first two of the three directions, axes at "
                                + "±2 (the data project onto the unit disk; samples beyond the axes are counted in the "
                                + "legend)."
                        )
                    ])
            ],
            headline: [verdict])
    }
}
