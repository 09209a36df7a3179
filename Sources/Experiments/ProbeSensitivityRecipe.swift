import Foundation
import Geometry
import Networks
import Reports
import Tensors

/// Fig. 11: robustness of the SADs to the probe. Five degenerate probes δ_{z_i}, z_i ~ N(0, I);
/// for every pair of the five geometries, the Eq. 30 windowed projection energy (h = 1) of
/// each eigenvector; the paper reports ≈ 100 % for the leading vectors (random: 3/D ≈ 1.2 %).
public struct ProbeSensitivityRecipe: Recipe {
    public let name = "fig11"
    public let title = "probe sensitivity of the SADs (Eq. 30)"
    public let profile: Profile
    public let architectures: [Architecture]
    public let networks: Int
    public let probes = 5

    public init(profile: Profile, options: RecipeOptions) {
        self.profile = profile
        architectures = profile == .quick ? [.iddpmNearest] : [.iddpmNearest, .dit2]
        networks = [.quick: 64, .cpu: 8192, .paper: 1_000_000][profile]!
    }

    /// The stated settings (sweep.json, result.json, the report).
    public struct Settings: Codable, Equatable, Sendable {
        public var architectures: [String]
        public var probes: String
        public var networks: Int
        public var estimator: String
        public var windowHalfWidth: Int
    }

    public var settings: Settings {
        Settings(
            architectures: architectures.map(\.name), probes: "fixed:1000 … fixed:1004 (z ~ N(0, I))",
            networks: networks, estimator: profile == .paper ? "reference" : "marginal", windowHalfWidth: 1)
    }

    public func prepare(in run: RunDirectory) throws {}

    public func units() throws -> [ExperimentUnit] {
        architectures.flatMap { a in (0..<probes).map { ExperimentUnit(a.name, $0, seed: 0) } }
    }

    func geometry(_ unit: ExperimentUnit, in run: RunDirectory) throws -> GeometrySource.Loaded {
        let arch = try Architecture.named(unit.experiment)
        return try GeometrySource.load(
            config: try arch.config(), label: arch.name,
            method: .monteCarlo(
                estimator: profile == .paper ? .reference : .marginal, networks: networks,
                probe: .fixed(seed: UInt64(1000 + unit.index)), seed: 0),
            directory: run.unitDirectory(unit), log: run.log)
    }

    /// One probe's geometry, by its leading eigenvalues (the geometry is in the unit's directory).
    public struct Unit: Codable, Sendable {
        public var topEigenvalues: [Double]
    }

    /// One architecture's similarities across the probes.
    public struct ArchitectureResult: Codable, Sendable {
        /// Mean Eq. 30 similarity of each SAD over the ordered probe pairs.
        public var similarityPerIndex: [Double]
        public var first10Mean: Double
        public var allMean: Double
        /// The random baseline (2h + 1)/D.
        public var baseline: Double
    }

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> Unit {
        let g = try geometry(unit, in: run)
        return Unit(topEigenvalues: Array(g.values.prefix(8)))
    }

    /// Per architecture: the Eq. 30 similarity of each SAD, averaged over the ordered probe pairs.
    public func aggregate(
        _ results: [ExperimentUnit: Unit], in run: RunDirectory
    ) throws -> [String: ArchitectureResult] {
        var out: [String: ArchitectureResult] = [:]
        for arch in architectures {
            let eig = try (0..<probes).map { i -> SymmetricEigen<Double> in
                let g = try geometry(ExperimentUnit(arch.name, i, seed: 0), in: run)
                return try SymmetricEigen<Double>(symmetric: g.geometry, n: g.values.count)
            }
            let d = eig[0].n
            var sum = [Double](repeating: 0, count: d), pairs = 0
            for i in 0..<probes {
                for j in 0..<probes where i != j {
                    let e = windowedProjectionEnergy(eig[i], eig[j], halfWidth: 1)
                    for k in 0..<d { sum[k] += e[k] }
                    pairs += 1
                }
            }
            let mean = sum.map { $0 / Double(pairs) }
            out[arch.name] = ArchitectureResult(
                similarityPerIndex: mean, first10Mean: Statistics.mean(Array(mean.prefix(10))),
                allMean: Statistics.mean(mean), baseline: 3 / Double(d))
        }
        return out
    }

    /// Per architecture: the leading SADs ≈ 100 % similar across probes, and far above random.
    public func verdict(_ summary: [String: ArchitectureResult]) throws -> [Claim] {
        let pairs = probes * (probes - 1)
        return try architectures.flatMap { arch -> [Claim] in
            guard let r = summary[arch.name] else { throw RecipeError("\(name): no summary for \(arch.name)") }
            let first10 = r.first10Mean, all = r.allMean, random = r.baseline
            return [
                Claim(
                    id: "fig11.\(arch.name).leading-robust",
                    statement: "The leading SADs are robust to the probe: across \(probes) degenerate probes δ_z, "
                        + "z ~ N(0, I), the Eq. 30 similarity (h = 1) of the first SADs is ≈ 100 % (random "
                        + "\(Statistics.format(random * 100, 2)) %) (\(arch.name)).",
                    holds: profile == .quick ? nil : first10 >= 0.9,
                    evidence: Claim.Evidence(
                        summary:
                            "mean similarity of the first 10 SADs \(Statistics.format(first10 * 100, 3)) %, of all "
                            + "\(Statistics.format(all * 100, 3)) %, over the \(pairs) ordered probe pairs.",
                        test: "mean similarity of the first 10 SADs ≥ 90 %",
                        values: ["first10": first10, "all": all, "random": random])),
                Claim(
                    id: "fig11.\(arch.name).above-random",
                    statement: "The SADs of different probes are far more similar than random bases (\(arch.name)).",
                    holds: profile == .quick ? nil : first10 >= 5 * random,
                    evidence: Claim.Evidence(
                        summary: "first 10 SADs \(Statistics.format(first10 * 100, 3)) % vs random "
                            + "\(Statistics.format(random * 100, 2)) % (ratio "
                            + "\(Statistics.format(first10 / random, 3))).",
                        test: "mean similarity of the first 10 SADs ≥ 5 × the random baseline (2h + 1)/D",
                        values: ["first10": first10, "random": random])),
            ]
        }
    }

    /// The table, and the similarity against the SAD index per architecture.
    public func figures(
        _ summary: [String: ArchitectureResult], claims: [Claim], in run: RunDirectory
    ) throws -> RecipeFigures {
        var series: [ChartSeries] = [],
            rows: [[String]] = [["architecture", "first 10 (mean)", "all (mean)", "random baseline"]]
        var headline: [String] = []
        for arch in architectures {
            guard let r = summary[arch.name] else { throw RecipeError("\(name): no summary for \(arch.name)") }
            let d = r.similarityPerIndex.count
            rows.append([
                arch.name, Statistics.format(r.first10Mean, 3), Statistics.format(r.allMean, 3),
                Statistics.format(r.baseline, 2),
            ])
            series.append(ChartSeries(name: arch.name, x: (0..<d).map(Double.init), y: r.similarityPerIndex))
            headline.append(
                "\(arch.name): Eq. 30 similarity across \(probes) probes, first 10 SADs "
                    + "\(Statistics.format(r.first10Mean * 100, 3)) % (random "
                    + "\(Statistics.format(300 / Double(d), 2)) %)."
            )
        }
        let chart = SVGChart.lines(
            title: "SAD similarity across probes (Eq. 30, h = 1)", xLabel: "SAD index",
            yLabel: "windowed projection energy", series: series)
        return RecipeFigures(
            sections: [
                ReportSection(
                    title: "Probe sensitivity (Fig. 11)", paragraphs: headline, table: rows,
                    figures: [
                        .svg(
                            name: "fig11-similarity", content: chart,
                            caption: "Mean over ordered pairs of the five probes.")
                    ])
            ],
            headline: headline + claims.map { "\($0.id): \($0.verdict)." })
    }
}
