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

    public var settings: JSONObject {
        [
            "architecture": "dit-p2", "geometry": "closed form (exact)", "first": [0, 1, 2], "last": [253, 254, 255],
            "training": training.json,
        ]
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

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> JSONObject {
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
            seed: seed, checkpointDirectory: run.unitDirectory(unit))
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
        var r = outcome.json
        r["radius_mean"] = Statistics.mean(radius)
        r["radius_sd"] = Statistics.standardError(radius) * Double(radius.count).squareRoot()
        r["off_span_residual_mean"] = Statistics.mean(residual)
        return r
    }

    public func summarize(_ results: [ExperimentUnit: JSONObject], in run: RunDirectory) throws -> RecipeSummary {
        var rows: [[String]] = [
            ["SADs", "MSW₂", "SW₂", "radius/√D (1 ideal)", "radius sd", "off-span residual/√D (0 ideal)"]
        ]
        var out: JSONObject = [:], scatter: [ChartSeries] = []
        var msw: [String: Double] = [:]
        for e in ["first", "last"] {
            let rs = (0..<training.seeds).compactMap { results[ExperimentUnit(e, 0, seed: $0)] }
            func m(_ k: String) -> (Double, Double) {
                let v = rs.map { $0.double(k) }; return (Statistics.mean(v), Statistics.standardError(v))
            }
            let keys = ["msw2", "sw2", "radius_mean", "radius_sd", "off_span_residual_mean"]
            let vals = keys.map(m)
            msw[e] = vals[0].0
            rows.append([e] + vals.map { Statistics.format($0.0, se: $0.1) })
            out[e] = Dictionary(uniqueKeysWithValues: zip(keys, vals.map { JSONFile.number($0.0) }))
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
        let held = (msw["first"] ?? .nan) > (msw["last"] ?? .nan)
        let verdict =
            "Sphere MSW₂: first SADs \(Statistics.format(msw["first"] ?? .nan)) vs last \(Statistics.format(msw["last"] ?? .nan)) — the paper's ordering (last easier) \(held ? "held" : "did NOT hold")."
        let chart = SVGChart.scatter(
            title: "samples projected on SAD pairs (seed 0)", xLabel: "c₁ / √D", yLabel: "c₂ / √D", series: scatter)
        return RecipeSummary(
            result: out.merging(["ordering_held": held]) { a, _ in a },
            sections: [
                ReportSection(
                    title: "Sphere (Fig. 1)", paragraphs: [verdict], table: rows,
                    figures: [
                        .svg(
                            name: "fig1-scatter", content: chart,
                            caption:
                                "Generated samples' coordinates in the first two of the three directions (unit "
                                + "circle = the data)."
                        )
                    ])
            ],
            headline: [verdict])
    }
}
