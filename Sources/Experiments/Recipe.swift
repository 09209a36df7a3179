import Formats
import Foundation
import Reports

/// A paper figure or claim as a list of independent units plus a summary.
///
/// A sweep (`Sweep`) calls `prepare` once per process (deterministic and cached in the run
/// directory, e.g. the geometry the units share), runs its shard of `units()` through
/// `run(_:in:)`, and once every unit has a result, summarises them in three steps:
/// `aggregate` (the numbers of result.json: per-seed statistics, baselines), `verdict` (the
/// paper's claims judged on those numbers alone) and `figures` (report sections and the
/// headline). Unit results must be deterministic functions of (recipe, profile, unit) so that
/// sharded and unsharded runs merge to the same result; timings go under a `timing` field,
/// which summaries ignore.
///
/// Unit results, settings and summaries are typed: a unit file is decoded back into
/// `UnitResult`, field by field, before any summary reads it.
public protocol Recipe {
    associatedtype UnitResult: Codable & Sendable
    /// The recipe's stated settings, a Codable type of its own (snake_case keys in JSON).
    associatedtype Settings: Codable & Sendable
    /// The numbers of result.json (beside `claims`, `settings` and the run's bookkeeping).
    associatedtype Summary: Codable & Sendable
    /// Registry name ("fig6").
    var name: String { get }
    var title: String { get }
    var profile: Profile { get }
    /// The stated settings of this profile: part of the run identity (a resume with other
    /// settings is refused), written to sweep.json, result.json and the manifest, and shown in the report.
    var settings: Settings { get }
    func prepare(in run: RunDirectory) throws
    func units() throws -> [ExperimentUnit]
    func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> UnitResult
    /// The units' results (a failed unit is absent) as the summary's numbers.
    func aggregate(_ results: [ExperimentUnit: UnitResult], in run: RunDirectory) throws -> Summary
    /// The paper's claims this recipe tests, judged on the summary's numbers.
    func verdict(_ summary: Summary) throws -> [Claim]
    /// The report: sections with tables and figures, and the headline printed at the end.
    func figures(_ summary: Summary, claims: [Claim], in run: RunDirectory) throws -> RecipeFigures
}

extension Recipe {
    /// Aggregate, verdict, figures.
    public func summarize(_ results: [ExperimentUnit: UnitResult], in run: RunDirectory) throws -> RecipeSummary {
        let summary = try aggregate(results, in: run)
        let claims = try verdict(summary)
        let report = try figures(summary, claims: claims, in: run)
        return RecipeSummary(result: summary, sections: report.sections, headline: report.headline, claims: claims)
    }
}

/// A recipe's report: sections with figures, and one-line conclusions.
public struct RecipeFigures {
    public var sections: [ReportSection]
    public var headline: [String]

    public init(sections: [ReportSection], headline: [String]) {
        self.sections = sections
        self.headline = headline
    }
}

/// What a recipe's summary produces.
public struct RecipeSummary {
    /// The numbers (result.json), a recipe's own Codable summary type.
    public var result: any Codable & Sendable
    /// Report sections with figures.
    public var sections: [ReportSection]
    /// One-line conclusions printed at the end of the run.
    public var headline: [String]
    /// The paper's claims this recipe tests, with verdicts (result.json `claims`).
    public var claims: [Claim]

    public init(
        result: any Codable & Sendable, sections: [ReportSection], headline: [String], claims: [Claim] = []
    ) {
        self.result = result
        self.sections = sections
        self.headline = headline
        self.claims = claims
    }
}

/// Options a user may pass to any recipe (the CLI maps its flags here).
public struct RecipeOptions: Codable, Equatable, Sendable {
    /// A dataset for the real-image recipes (`fashion-mnist`, `idx:…`, `cifar:…`, `png:DIR`, `….npy`).
    public var data: String?
    /// Override the profile's number of seeds.
    public var seeds: Int?
    /// The user's own network (ONNX exports of ≥ 2 initialisations) for the rank-one recipe (fig6).
    public var onnx: [String]?
    /// Init overrides for `onnx` (JSON, see ``InitOverrides``).
    public var initOverrides: String?

    public init(data: String? = nil, seeds: Int? = nil, onnx: [String]? = nil, initOverrides: String? = nil) {
        self.data = data
        self.seeds = seeds
        self.onnx = onnx
        self.initOverrides = initOverrides
    }

    /// Range checks before any recipe sizes its unit list with them.
    public func validate() throws {
        if let seeds { try SettingError.check(seeds, in: 1...10_000, "seeds") }
        if let onnx { try SettingError.check(onnx.count, in: 1...64, "onnx") }
        if initOverrides != nil && onnx == nil {
            throw SettingError(setting: "initOverrides", expected: "--onnx files to apply it to", found: "none")
        }
        if let data, data.isEmpty || data.utf8.count > 4096 {
            throw SettingError(
                setting: "data", expected: "a dataset name or path (1…4096 bytes)", found: "'\(data.prefix(64))'")
        }
    }
}

/// The run directory: prepared inputs, unit results, summary, report.
public struct RunDirectory: Sendable {
    public let path: String
    /// Called with progress lines ("unit 3/27: …"); the CLI prints them.
    public var log: @Sendable (String) -> Void

    public init(path: String, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.path = path
        self.log = log
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }
    public func unitResult(_ unit: ExperimentUnit) -> String { "\(path)/units/\(unit.id).json" }
    public func unitDirectory(_ unit: ExperimentUnit) -> String { "\(path)/units/\(unit.id)" }

    public func makeDirectory(_ name: String) throws -> String {
        let p = "\(path)/\(name)"
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

/// Every recipe, by name: one table of (name, description, whether it takes --onnx, how to
/// build it for a profile and options).
public enum Recipes {
    /// One row of the registry.
    public struct Entry: Sendable {
        public let name: String
        public let description: String
        /// Whether `--onnx` (the user's own network) applies.
        public let takesONNX: Bool
        let make: @Sendable (Profile, RecipeOptions) throws -> any Recipe
    }

    public static let registry: [Entry] = [
        Entry(
            name: "dynamics",
            description: "error along SADs and the trained geometry during training (Gaussian data, iDDPM)",
            takesONNX: false
        ) { DynamicsRecipe(profile: $0, options: $1) },
        Entry(
            name: "fig1", description: "sphere in the span of the first vs last three SADs (DiT/2)", takesONNX: false
        ) { SphereRecipe(profile: $0, options: $1) },
        Entry(
            name: "fig2", description: "rank-one heatmaps over canonical, DCT, DST, Hadamard, Haar bases (iDDPM)",
            takesONNX: false
        ) { BasisHeatmapRecipe(profile: $0, options: $1) },
        Entry(
            name: "fig3", description: "impulse response with a symmetric init, nearest vs area resampling",
            takesONNX: false
        ) { ImpulseResponseRecipe(profile: $0, options: $1) },
        Entry(
            name: "fig4", description: "Theorem 1 in R^5: SGD error vs step per eigenvector", takesONNX: false
        ) { LinearSGDRecipe(profile: $0, options: $1) },
        Entry(
            name: "fig6", description: "MSW2 vs SAD index with eigenvalues (iDDPM nearest/area, DiT/2, DiT/4)",
            takesONNX: true, make: makeSADSweep),
        Entry(
            name: "fig7",
            description: "alignment W_min / I / W_max on real images: samples and alpha (Fashion-MNIST by default)",
            takesONNX: true
        ) { try makeAlignment("fig7", $0, $1) },
        Entry(
            name: "fig8",
            description: "alignment W_min / I / W_max: SW2 / MSW2 bars with alpha (Fashion-MNIST by default)",
            takesONNX: true
        ) { try makeAlignment("fig8", $0, $1) },
        Entry(
            name: "fig9", description: "eigenvectors of the data-probed geometry (one image, forward diffusion)",
            takesONNX: false
        ) { DataProbedGeometryRecipe(profile: $0, options: $1) },
        Entry(
            name: "fig10", description: "alignment on a colour or larger dataset (needs --data: cifar:… or png:DIR)",
            takesONNX: true
        ) { try makeAlignment("fig10", $0, $1) },
        Entry(
            name: "fig11", description: "probe sensitivity: Eq. 30 similarity across 5 degenerate probes",
            takesONNX: false
        ) { ProbeSensitivityRecipe(profile: $0, options: $1) },
        Entry(
            name: "props",
            description: "Propositions 1-3 (output-layer geometries) and Theorem 2 (alpha bounds over random W)",
            takesONNX: false
        ) { PropositionsRecipe(profile: $0, options: $1) },
    ]

    /// The registry's names, in order.
    public static let names = registry.map(\.name)

    public static let descriptions = Dictionary(uniqueKeysWithValues: registry.map { ($0.name, $0.description) })

    public static func make(
        _ name: String, profile: Profile, options: RecipeOptions = RecipeOptions()
    ) throws -> any Recipe {
        try options.validate()
        // `sad demo` (its profile is fixed).
        if name == "demo" && options.onnx == nil { return SADSweepRecipe.demo(seeds: options.seeds ?? 2) }
        guard let entry = registry.first(where: { $0.name == name }) else {
            throw RecipeError("unknown recipe '\(name)': expected one of \(names.joined(separator: ", "))")
        }
        if options.onnx != nil && !entry.takesONNX {
            let takes = registry.filter(\.takesONNX).map(\.name).joined(separator: ", ")
            throw RecipeError("--onnx applies to \(takes) only, not \(name)")
        }
        return try entry.make(profile, options)
    }

    /// Fig. 6, on the user's imported network when `--onnx` is given.
    static func makeSADSweep(_ profile: Profile, _ options: RecipeOptions) throws -> any Recipe {
        var r = SADSweepRecipe(profile: profile, options: options)
        if let onnx = options.onnx {
            let a = try Architecture.imported(onnx, initOverrides: options.initOverrides)
            r.architectures = [a]
            // The profile's indices (0, D/8 − 1, …, D − 1 or the two ends) for this network's D.
            let d = try a.resolve().dimension
            r.indices = r.indices.count == 2 ? [0, d - 1] : (0...8).map { max(0, $0 * d / 8 - 1) }
        }
        return r
    }

    /// Figs. 7, 8, 10, on the user's imported network when `--onnx` is given.
    static func makeAlignment(_ name: String, _ profile: Profile, _ options: RecipeOptions) throws -> any Recipe {
        var r = try AlignmentRecipe(name: name, profile: profile, options: options)
        if let onnx = options.onnx {
            r.imported = try Architecture.imported(onnx, initOverrides: options.initOverrides)
        }
        return r
    }
}

/// An error in how a recipe was asked to run.
public struct RecipeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
