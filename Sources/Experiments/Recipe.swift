import Formats
import Foundation
import Reports

/// A paper figure or claim as a list of independent units plus a summary.
///
/// A sweep (`Sweep`) calls `prepare` once per process (deterministic and cached in the run
/// directory, e.g. the geometry the units share), runs its shard of `units()` through
/// `run(_:in:)`, and once every unit has a result, `summarize` turns them into
/// `result.json`, figures and report sections. Unit results must be deterministic functions
/// of (recipe, profile, unit) so that sharded and unsharded runs merge to the same result;
/// timings go under a `timing` field, which summaries ignore.
///
/// Unit results and summaries are typed (`UnitResult`, the summary's `result`): a unit file
/// is decoded back into its type, field by field, before any summary reads it.
public protocol Recipe {
    associatedtype UnitResult: Codable & Sendable
    /// Registry name ("fig6").
    var name: String { get }
    var title: String { get }
    var profile: Profile { get }
    /// The stated settings of this profile (written to the manifest and shown in the report).
    var settings: JSONObject { get }
    func prepare(in run: RunDirectory) throws
    func units() throws -> [ExperimentUnit]
    func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> UnitResult
    func summarize(_ results: [ExperimentUnit: UnitResult], in run: RunDirectory) throws -> RecipeSummary
}

/// What a recipe's summary produces.
public struct RecipeSummary {
    /// The numbers (result.json), a recipe's own Codable summary type.
    public var result: any Encodable & Sendable
    /// Report sections with figures.
    public var sections: [ReportSection]
    /// One-line conclusions printed at the end of the run.
    public var headline: [String]
    /// The paper's claims this recipe tests, with verdicts (result.json `claims`).
    public var claims: [Claim]

    public init(
        result: any Encodable & Sendable, sections: [ReportSection], headline: [String], claims: [Claim] = []
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

/// Every recipe, by name.
public enum Recipes {
    public static let names = [
        "fig1", "fig2", "fig3", "fig4", "fig6", "fig7", "fig8", "fig9", "fig10", "fig11", "props",
    ]

    public static let descriptions: [String: String] = [
        "fig1": "sphere in the span of the first vs last three SADs (DiT/2)",
        "fig2": "rank-one heatmaps over canonical, DCT, DST, Hadamard, Haar bases (iDDPM)",
        "fig3": "impulse response with a symmetric init, nearest vs area resampling",
        "fig4": "Theorem 1 in R^5: SGD error vs step per eigenvector",
        "fig6": "MSW2 vs SAD index with eigenvalues (iDDPM nearest/area, DiT/2, DiT/4)",
        "fig7": "alignment W_min / I / W_max on real images: samples and alpha (Fashion-MNIST by default)",
        "fig8": "alignment W_min / I / W_max: SW2 / MSW2 bars with alpha (Fashion-MNIST by default)",
        "fig9": "eigenvectors of the data-probed geometry (one image, forward diffusion)",
        "fig10": "alignment on a colour or larger dataset (needs --data: cifar:… or png:DIR)",
        "fig11": "probe sensitivity: Eq. 30 similarity across 5 degenerate probes",
        "props": "Propositions 1-3 (output-layer geometries) and Theorem 2 (alpha bounds over random W)",
    ]

    public static func make(
        _ name: String, profile: Profile, options: RecipeOptions = RecipeOptions()
    ) throws -> any Recipe {
        try options.validate()
        let takesONNX = ["fig6", "fig7", "fig8", "fig10"]
        if options.onnx != nil && !takesONNX.contains(name) {
            throw RecipeError("--onnx applies to \(takesONNX.joined(separator: ", ")) only, not \(name)")
        }
        switch name {
        case "fig1": return SphereRecipe(profile: profile, options: options)
        case "fig2": return BasisHeatmapRecipe(profile: profile, options: options)
        case "fig3": return ImpulseResponseRecipe(profile: profile, options: options)
        case "fig4": return LinearSGDRecipe(profile: profile, options: options)
        case "fig6":
            var r = SADSweepRecipe(profile: profile, options: options)
            if let onnx = options.onnx {
                let a = try Architecture.imported(onnx, initOverrides: options.initOverrides)
                r.architectures = [a]
                // The profile's indices (0, D/8 − 1, …, D − 1 or the two ends) for this network's D.
                let d = try a.resolve().dimension
                r.indices = r.indices.count == 2 ? [0, d - 1] : (0...8).map { max(0, $0 * d / 8 - 1) }
            }
            return r
        case "demo": return SADSweepRecipe.demo(seeds: options.seeds ?? 2)  // `sad demo` (profile fixed)
        case "fig7", "fig8", "fig10":
            var r = try AlignmentRecipe(name: name, profile: profile, options: options)
            if let onnx = options.onnx {
                r.imported = try Architecture.imported(onnx, initOverrides: options.initOverrides)
            }
            return r
        case "fig9": return DataProbedGeometryRecipe(profile: profile, options: options)
        case "fig11": return ProbeSensitivityRecipe(profile: profile, options: options)
        case "props": return PropositionsRecipe(profile: profile, options: options)

        default:
            throw RecipeError("unknown recipe '\(name)': expected one of \(names.joined(separator: ", "))")
        }
    }
}

/// An error in how a recipe was asked to run.
public struct RecipeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
