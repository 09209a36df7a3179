import Foundation
import Formats
import Geometry
import Reports

/// Runs a recipe's units (all, or the deterministic shard i/N: units i, i + N, i + 2N, … of
/// the recipe's fixed unit list), skipping units whose result file exists, and merges the
/// results into result.json and report.html once every unit is done.
///
/// Layout of a run directory:
///   sweep.json              recipe, profile, options, settings (refuses a different run)
///   prepared/…              shared inputs computed by `prepare` (deterministic)
///   units/<id>.json         one result per unit (atomic; presence = done)
///   result.json             the merged numbers (identical for any shard split)
///   manifest.json           version, wall times, units, command
///   report.html, figures/   the report
public struct Sweep {
    public let recipe: any Recipe
    public let directory: RunDirectory
    public var shard: Shard
    public var options: RecipeOptions
    public var version: String

    public init(recipe: any Recipe, directory: RunDirectory, shard: Shard = .whole, options: RecipeOptions, version: String) {
        self.recipe = recipe
        self.directory = directory
        self.shard = shard
        self.options = options
        self.version = version
    }

    var identity: JSONObject {
        var o: JSONObject = ["recipe": recipe.name, "profile": recipe.profile.rawValue, "settings": recipe.settings]
        if let data = options.data { o["data"] = data }
        if let seeds = options.seeds { o["seeds"] = seeds }
        return o
    }

    /// Reads the recipe and options a run directory was started with.
    public static func open(_ path: String, log: @escaping @Sendable (String) -> Void = { _ in }, version: String) throws -> Sweep {
        let o = try JSONFile.read("\(path)/sweep.json")
        guard let name = o["recipe"] as? String, let p = o["profile"] as? String, let profile = Profile(rawValue: p) else {
            throw FormatError(file: "\(path)/sweep.json", field: "recipe/profile", expected: "a recipe name and profile", found: "missing")
        }
        let options = RecipeOptions(data: o["data"] as? String, seeds: o["seeds"] as? Int)
        return Sweep(recipe: try Recipes.make(name, profile: profile, options: options), directory: RunDirectory(path: path, log: log),
                     options: options, version: version)
    }

    /// This shard's units in order.
    public func myUnits() throws -> [ExperimentUnit] {
        try recipe.units().enumerated().filter { $0.offset % shard.count == shard.index }.map(\.element)
    }

    /// Checks (or records) the run's identity and computes the shared inputs.
    public func prepare() throws {
        try FileManager.default.createDirectory(atPath: "\(directory.path)/units", withIntermediateDirectories: true)
        let marker = directory.file("sweep.json")
        if FileManager.default.fileExists(atPath: marker) {
            let existing = try JSONFile.read(marker)
            // Compared as canonical JSON text (sorted keys), exactly as written.
            let canonical = { (o: JSONObject) in try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) }
            guard try canonical(existing) == canonical(identity) else {
                throw FormatError(file: marker, field: "run", expected: "\(recipe.name) --profile \(recipe.profile.rawValue) with the same settings",
                                  found: "a different run (\(existing["recipe"] ?? "?") \(existing["profile"] ?? "?")): use another --out")
            }
        } else {
            try JSONFile.write(identity, to: marker)
        }
        try recipe.prepare(in: directory)
    }

    /// Prepares and runs this shard's unfinished units. Returns (units done in all, units in all).
    @discardableResult
    public func execute() throws -> (done: Int, total: Int) {
        directory.log("\(recipe.name) (\(recipe.title)), profile \(recipe.profile.rawValue), shard \(shard)")
        try prepare()
        let all = try recipe.units()
        let mine = try myUnits()
        let sweepStart = Date()
        var ran = 0
        let pending = mine.filter { !FileManager.default.fileExists(atPath: directory.unitResult($0)) }.count
        for (k, unit) in mine.enumerated() {
            let path = directory.unitResult(unit)
            if FileManager.default.fileExists(atPath: path) { continue }
            // ETA from the mean wall time of the units run so far in this invocation.
            let elapsed = Date().timeIntervalSince(sweepStart)
            let eta = ran > 0 ? String(format: ", ETA %.0f min", elapsed / Double(ran) * Double(pending - ran) / 60) : ""
            directory.log("unit \(k + 1)/\(mine.count): \(unit)" + String(format: " (%.0f s elapsed", elapsed) + eta + ")")
            ran += 1
            let start = Date()
            var result = try recipe.run(unit, in: directory)
            var timing = result["timing"] as? JSONObject ?? [:]
            timing["wall_seconds"] = Date().timeIntervalSince(start)
            result["timing"] = timing
            result["unit"] = ["experiment": unit.experiment, "index": unit.index, "seed": unit.seed]
            try JSONFile.write(result, to: path)
        }
        let done = all.filter { FileManager.default.fileExists(atPath: directory.unitResult($0)) }.count
        return (done, all.count)
    }

    /// Units without a result yet.
    public func missing() throws -> [ExperimentUnit] {
        try recipe.units().filter { !FileManager.default.fileExists(atPath: directory.unitResult($0)) }
    }

    /// Summarises every unit's result into result.json, manifest.json and report.html.
    @discardableResult
    public func merge(command: String = "") throws -> (summary: RecipeSummary, report: String) {
        let units = try recipe.units()
        let lacking = try missing()
        guard lacking.isEmpty else {
            throw RecipeError("\(lacking.count) of \(units.count) units have no result yet (first: \(lacking[0])); run the remaining shards")
        }
        var results: [ExperimentUnit: JSONObject] = [:]
        var wall = 0.0
        for unit in units {
            let r = try JSONFile.read(directory.unitResult(unit))
            wall += ((r["timing"] as? JSONObject)?["wall_seconds"] as? Double) ?? 0
            results[unit] = r
        }
        let summary = try recipe.summarize(results, in: directory)
        var result = summary.result
        result["recipe"] = recipe.name
        result["profile"] = recipe.profile.rawValue
        result["settings"] = recipe.settings
        result["units"] = units.count
        try JSONFile.write(result, to: directory.file("result.json"))
        try JSONFile.write(["version": version, "command": command, "recipe": recipe.name, "title": recipe.title,
                            "profile": recipe.profile.rawValue, "settings": recipe.settings, "units": units.count,
                            "unit_wall_seconds_total": wall,
                            "differences_from_reference": Self.differences], to: directory.file("manifest.json"))
        var sections = summary.sections
        sections.append(ReportSection(title: "Settings", paragraphs: ["Profile \(recipe.profile.rawValue); \(units.count) units; "
            + String(format: "%.0f s of unit wall time.", wall)],
            table: [["setting", "value"]] + recipe.settings.keys.sorted().map { [$0, Self.text(recipe.settings[$0]!)] }))
        let report = try HTMLReport.write(title: "\(recipe.name): \(recipe.title)",
                                          subtitle: "ScoreAnisotropy \(version) — " + summary.headline.joined(separator: " "),
                                          sections: sections, to: directory.path)
        return (summary, report)
    }

    /// A settings value as compact JSON text (strings as they are).
    static func text(_ value: Any) -> String {
        if let s = value as? String { return s }
        guard JSONSerialization.isValidJSONObject([value]),
              let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes]) else { return "\(value)" }
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    /// Deliberate differences from the reference code that recipes inherit (also in docs/DIVERGENCES.md).
    static let differences = [
        "geometry: the cpu and quick profiles use the variance-reduced marginal estimator (same expectation as geometry.py); paper uses geometry.py's estimator with 1M networks",
        "sampling: quick and cpu profiles use the reference's strided integer-time sampler with fewer than 1000 steps",
        "common random numbers: units that differ only in direction share seeds (same init, data scalars, timesteps, noise), which sharpens comparisons",
        "arithmetic: 3×3 convolutions at batch ≥ 8 use Winograd F(2×2, 3×3), GELU is computed as x·σ(2u), exp in SiLU/GELU/softmax is an 8-lane polynomial (~2 ulp): float32 rounding differs from PyTorch's (every reference fixture passes)",
    ]
}
