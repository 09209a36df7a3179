import Foundation
import Formats
import Diffusion
import Geometry
import Reports
import Tensors

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

    public init(
        recipe: any Recipe, directory: RunDirectory, shard: Shard = .whole, options: RecipeOptions, version: String
    ) {
        self.recipe = recipe
        self.directory = directory
        self.shard = shard
        self.options = options
        self.version = version
    }

    /// Everything that determines the sweep's numbers (recipe, profile, resolved settings,
    /// options, program version): stored in sweep.json, compared on every rerun and merge.
    public var identity: RunIdentity {
        var id = RunIdentity()
        id.add("recipe", recipe.name)
        id.add("profile", recipe.profile.rawValue)
        id.add("data", options.data ?? "(default)")
        id.add("seeds", options.seeds.map(String.init) ?? "(profile default)")
        if let onnx = options.onnx { id.add("onnx", onnx.joined(separator: ",")) }
        if let overrides = options.initOverrides { id.add("init_overrides", overrides) }
        switch settingsObject {
        case .success(let settings):
            for key in settings.keys.sorted() { id.add("settings.\(key)", Self.text(settings[key]!)) }
        case .failure(let error):
            // Not reachable with finite settings; an identity that matches nothing, never an empty one.
            id.add("settings", "unencodable: \(error)")
        }
        id.add("version", version)
        return id
    }

    /// The recipe's typed settings as the JSON object sweep.json, result.json and the manifest hold.
    var settingsObject: Result<JSONObject, Error> {
        Result {
            guard let o = try JSONCoding.object(recipe.settings) as? JSONObject else {
                throw RecipeError("\(recipe.name): its settings must encode as a JSON object")
            }
            return o
        }
    }

    /// The contents of sweep.json: what `open` needs to rebuild the recipe, plus the identity.
    func record() throws -> JSONObject {
        var o: JSONObject = [
            "recipe": recipe.name, "profile": recipe.profile.rawValue, "settings": try settingsObject.get(),
            "version": version, "format": "sad-sweep-1",
            "identity": (try? JSONSerialization.jsonObject(with: Data(identity.json.utf8))) ?? [:],
        ]
        if let data = options.data { o["data"] = data }
        if let seeds = options.seeds { o["seeds"] = seeds }
        if let onnx = options.onnx { o["onnx"] = onnx }
        if let overrides = options.initOverrides { o["init_overrides"] = overrides }
        return o
    }

    /// Reads the recipe and options a run directory was started with; every field is checked.
    public static func open(
        _ path: String, log: @escaping @Sendable (String) -> Void = { _ in }, version: String
    ) throws -> Sweep {
        let file = "\(path)/sweep.json"
        let o = try JSONFile.read(file)
        guard o["format"] as? String == "sad-sweep-1" else {
            throw FormatError(
                file: file, field: "format", expected: "sad-sweep-1", found: "\(o["format"] ?? "nothing")")
        }
        guard let name = o["recipe"] as? String, (Recipes.names + ["demo"]).contains(name) else {
            throw FormatError(
                file: file, field: "recipe", expected: Recipes.names.joined(separator: ", "),
                found: "\(o["recipe"] ?? "nothing")")
        }
        guard let p = o["profile"] as? String, let profile = Profile(rawValue: p) else {
            throw FormatError(
                file: file, field: "profile", expected: "quick, cpu or paper", found: "\(o["profile"] ?? "nothing")")
        }
        var options = RecipeOptions()
        if let data = o["data"] {
            guard let d = data as? String else {
                throw FormatError(file: file, field: "data", expected: "a string", found: "\(data)")
            }
            options.data = d
        }
        if let seeds = o["seeds"] {
            guard let n = seeds as? NSNumber, !JSONValues.isBoolean(n), let i = Int(exactly: n.doubleValue), i >= 1,
                i <= 10_000
            else {
                throw FormatError(file: file, field: "seeds", expected: "an integer in 1…10000", found: "\(seeds)")
            }
            options.seeds = i
        }
        if let onnx = o["onnx"] {
            guard let files = onnx as? [String], (1...64).contains(files.count) else {
                throw FormatError(file: file, field: "onnx", expected: "a list of 1…64 file paths", found: "\(onnx)")
            }
            options.onnx = files
        }
        if let overrides = o["init_overrides"] {
            guard let path = overrides as? String else {
                throw FormatError(file: file, field: "init_overrides", expected: "a path", found: "\(overrides)")
            }
            options.initOverrides = path
        }
        let recipe: any Recipe
        do { recipe = try Recipes.make(name, profile: profile, options: options) } catch let e as SettingError {
            throw FormatError(file: file, field: e.setting, expected: e.expected, found: e.found)
        }
        let stored = try RunIdentity.parse(Self.jsonText(o["identity"]), file: file, field: "identity")
        let sweep = Sweep(
            recipe: recipe, directory: RunDirectory(path: path, log: log), options: options,
            version: stored.fields.first { $0.0 == "version" }?.1 ?? version)
        try sweep.identity.require(matches: stored, file: file, action: "open the sweep")
        return sweep
    }

    static func jsonText(_ value: Any?) -> String? {
        guard let value, JSONSerialization.isValidJSONObject(value),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes sweep.json (a new run directory).
    public func recordIdentity() throws {
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try JSONFile.write(try record(), to: directory.file("sweep.json"))
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
            let stored = try RunIdentity.parse(Self.jsonText(existing["identity"]), file: marker, field: "identity")
            try identity.require(matches: stored, file: marker, action: "resume the sweep")
        } else {
            try recordIdentity()
        }
        try recipe.prepare(in: directory)
    }

    /// Prepares and runs this shard's unfinished units. Returns (units done in all, units in all).
    @discardableResult
    public func execute() throws -> (done: Int, total: Int) {
        directory.log("\(recipe.name) (\(recipe.title)), profile \(recipe.profile.rawValue), shard \(shard)")
        try prepare()
        AtomicFile.removeStaleTemporaries(in: directory.path)
        AtomicFile.removeStaleTemporaries(in: directory.file("units"))
        try runUnits(recipe)
        let all = try recipe.units()
        let done = all.filter { FileManager.default.fileExists(atPath: directory.unitResult($0)) }.count
        return (done, all.count)
    }

    /// Runs this shard's units that have no result file yet, writing each as it finishes.
    func runUnits<R: Recipe>(_ recipe: R) throws {
        let mine = try myUnits()
        let sweepStart = Date()
        var ran = 0
        let pending = mine.filter { !FileManager.default.fileExists(atPath: directory.unitResult($0)) }.count
        for (k, unit) in mine.enumerated() {
            let path = directory.unitResult(unit)
            if FileManager.default.fileExists(atPath: path) { continue }
            // ETA from the mean wall time of the units run so far in this invocation.
            let elapsed = Date().timeIntervalSince(sweepStart)
            let eta =
                ran > 0 ? String(format: ", ETA %.0f min", elapsed / Double(ran) * Double(pending - ran) / 60) : ""
            directory.log(
                "unit \(k + 1)/\(mine.count): \(unit)" + String(format: " (%.0f s elapsed", elapsed) + eta + ")")
            ran += 1
            let start = Date()
            var record: JSONObject
            do {
                guard let encoded = try JSONCoding.object(try recipe.run(unit, in: directory)) as? JSONObject else {
                    throw RecipeError("\(recipe.name): a unit result must encode as a JSON object")
                }
                record = encoded
            } catch  where error is Trainer.Diverged || error is NonFiniteError {
                // A diverged unit is a result: recorded as failed (with the reason) so the
                // sweep still merges and reports, instead of throwing on every rerun.
                record = ["failed": "\(error)"]
                directory.log("unit \(unit) failed: \(error)")
            }
            var timing = record["timing"] as? JSONObject ?? [:]
            timing["wall_seconds"] = Date().timeIntervalSince(start)
            record["timing"] = timing
            record["unit"] = ["experiment": unit.experiment, "index": unit.index, "seed": unit.seed]
            try JSONFile.write(record, to: path)
        }
    }

    /// Units without a result yet.
    public func missing() throws -> [ExperimentUnit] {
        try recipe.units().filter { !FileManager.default.fileExists(atPath: directory.unitResult($0)) }
    }

    /// Summarises every unit's result into result.json, manifest.json and report.html.
    @discardableResult
    public func merge(command: String = "") throws -> (summary: RecipeSummary, report: String) {
        let (summary, failed, wall) = try summarize(recipe)
        let units = try recipe.units()
        let settings = try settingsObject.get()
        guard var result = try JSONCoding.object(summary.result) as? JSONObject else {
            throw RecipeError("\(recipe.name): a summary must encode as a JSON object")
        }
        result["failed_units"] = failed
        result["recipe"] = recipe.name
        result["profile"] = recipe.profile.rawValue
        result["settings"] = settings
        result["units"] = units.count
        result["claims"] = try summary.claims.map { try JSONCoding.object($0) }
        try JSONFile.write(result, to: directory.file("result.json"))
        try JSONFile.write(
            [
                "version": version, "command": command, "recipe": recipe.name, "title": recipe.title,
                "profile": recipe.profile.rawValue, "settings": settings, "units": units.count,
                "unit_wall_seconds_total": wall,
                "differences_from_reference": Self.differences,
            ], to: directory.file("manifest.json"))
        var sections = summary.sections
        if !summary.claims.isEmpty {
            sections.insert(
                ReportSection(
                    title: "Claims",
                    paragraphs: ["Each of the paper's claims this recipe tests, with the test and its numbers."],
                    table: [["claim", "verdict", "evidence", "test"]]
                        + summary.claims.map { [$0.statement, $0.verdict, $0.evidence.summary, $0.evidence.test] }),
                at: 0)
        }
        if !failed.isEmpty {
            sections.insert(
                ReportSection(
                    title: "Failed units",
                    paragraphs: [
                        "\(failed.count) of \(units.count) units failed and are"
                            + " left out of the statistics above:"
                    ] + failed), at: 0)
        }
        sections.append(
            ReportSection(
                title: "Settings",
                paragraphs: [
                    "Profile \(recipe.profile.rawValue); \(units.count) units; "
                        + String(format: "%.0f s of unit wall time.", wall)
                ],
                table: [["setting", "value"]]
                    + settings.keys.sorted().map { [$0, Self.text(settings[$0]!)] }))
        let report = try HTMLReport.write(
            title: "\(recipe.name): \(recipe.title)",
            subtitle: "ScoreAnisotropy \(version) — " + summary.headline.joined(separator: " "),
            sections: sections, to: directory.path)
        return (summary, report)
    }

    /// Reads every unit file back (untrusted input: each must name its unit and decode into
    /// the recipe's unit type) and summarises the finished ones. Returns the summary, the
    /// failed units with their reasons, and the units' total wall time.
    func summarize<R: Recipe>(_ recipe: R) throws -> (RecipeSummary, [String], Double) {
        let units = try recipe.units()
        let lacking = try missing()
        guard lacking.isEmpty else {
            throw RecipeError(
                "\(lacking.count) of \(units.count) units have no result yet (first: \(lacking[0])); run the "
                    + "remaining shards"
            )
        }
        var results: [ExperimentUnit: R.UnitResult] = [:]
        var wall = 0.0
        var failed: [String] = []
        for unit in units {
            let path = directory.unitResult(unit)
            let r = try JSONFile.read(path)
            let u = r["unit"] as? JSONObject
            guard u?["experiment"] as? String == unit.experiment, (u?["index"] as? NSNumber)?.intValue == unit.index,
                (u?["seed"] as? NSNumber)?.intValue == unit.seed
            else {
                throw FormatError(
                    file: path, field: "unit",
                    expected: "{experiment: \(unit.experiment), index: \(unit.index), seed: \(unit.seed)}",
                    found: "\(r["unit"].map { "\($0)" } ?? "nothing")")
            }
            let seconds = ((r["timing"] as? JSONObject)?["wall_seconds"] as? NSNumber)?.doubleValue ?? 0
            wall += seconds.isFinite && seconds >= 0 ? seconds : 0
            if let reason = r["failed"] as? String {
                failed.append("\(unit): \(reason)")
                continue  // summaries see a failed unit as missing (NaN)
            }
            results[unit] = try JSONCoding.decode(R.UnitResult.self, from: r, file: path)
        }
        return (try recipe.summarize(results, in: directory), failed, wall)
    }

    /// A settings value as compact JSON text (strings as they are).
    static func text(_ value: Any) -> String {
        if let s = value as? String { return s }
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(
                withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "\(value)" }
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    /// Deliberate differences from the reference code that recipes inherit (also in docs/DIVERGENCES.md).
    static let differences = [
        "geometry: the cpu and quick profiles use the variance-reduced marginal estimator (same expectation as "
            + "geometry.py); paper uses geometry.py's estimator with 1M networks",
        "sampling: quick and cpu profiles use the reference's strided integer-time sampler with fewer than 1000 steps",
        "common random numbers: units that differ only in direction share seeds (same init, data scalars, "
            + "timesteps, noise), which sharpens comparisons",
        "arithmetic: 3×3 convolutions at batch ≥ 8 use Winograd F(2×2, 3×3), GELU is computed as x·σ(2u), exp "
            + "in SiLU/GELU/softmax is an 8-lane polynomial (~2 ulp): float32 rounding differs from PyTorch's "
            + "(every reference fixture passes)",
    ]
}
