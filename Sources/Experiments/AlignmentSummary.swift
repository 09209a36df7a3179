import Formats
import Foundation
import Reports

/// Fig. 8 across datasets: finished alignment runs (fig7, fig8 or fig10, one dataset each)
/// summarised side by side, as the paper's Fig. 8 shows MNIST, CelebA-HQ and CIFAR-10
/// together. Writes result.json (each dataset's numbers and claims, and a claim over all of
/// them) and report.html into its own directory; the runs are only read.
public enum AlignmentSummary {
    /// One dataset's run as the summary reads it back.
    public struct Dataset: Codable, Sendable {
        public var data: String
        public var run: String
        public var result: AlignmentRecipe.Result
        public var claims: [Claim]
    }

    /// result.json of the combined summary.
    public struct Result: Codable, Sendable {
        public var datasets: [Dataset]
        public var claims: [Claim]
    }

    /// Reads one finished alignment run: its recipe must be fig7, fig8 or fig10 and its
    /// result.json must decode (an unfinished run has none).
    public static func read(run: String) throws -> Dataset {
        let sweep = try JSONFile.read("\(run)/sweep.json")
        guard let recipe = sweep["recipe"] as? String, ["fig7", "fig8", "fig10"].contains(recipe) else {
            throw FormatError(
                file: "\(run)/sweep.json", field: "recipe", expected: "fig7, fig8 or fig10 (an alignment run)",
                found: "\(sweep["recipe"] ?? "nothing")")
        }
        let path = "\(run)/result.json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw RecipeError("\(run) has no result.json yet: finish the run (sad reproduce / sad sweep merge) first")
        }
        let object = try JSONFile.read(path)
        return Dataset(
            data: sweep["data"] as? String ?? "fashion-mnist", run: run,
            result: try JSONCoding.decode(AlignmentRecipe.Result.self, from: object, file: path),
            claims: try JSONCoding.decode([Claim].self, from: object["claims"] ?? [], file: path))
    }

    /// Summarises `runs` into `directory`; returns the summary and the report's path.
    @discardableResult
    public static func write(runs: [String], to directory: String, version: String) throws -> (Result, String) {
        try SettingError.check(runs.count, in: 1...64, "runs")
        let datasets = try runs.map { try read(run: $0) }
        let variants = AlignmentRecipe.variants
        var rows: [[String]] = [
            ["dataset", "W", "α (prediction)", "SW₂ (mean ± SE)", "MSW₂ (mean ± SE)", "zeros SW₂", "Gaussian SW₂"]
        ]
        for d in datasets {
            for v in variants {
                guard let r = d.result.variants[v] else { continue }
                rows.append([
                    d.data, v, Statistics.format(r.alpha), r.sw2.formatted, r.msw2.formatted,
                    Statistics.format(r.baselines.zerosSW2.value), Statistics.format(r.baselines.fittedSW2.value),
                ])
            }
        }
        let claims = [combined("wmin-better-than-identity", datasets), combined("wmin-better-than-wmax", datasets)]
        let chart = SVGChart.bars(
            title: "SW₂ by transform and dataset (mean ± SE)", yLabel: "SW₂", categories: datasets.map(\.data),
            series: variants.map { v in
                ChartSeries(
                    name: v, x: datasets.indices.map(Double.init),
                    y: datasets.map { $0.result.variants[v]?.sw2.value ?? .nan },
                    error: datasets.map { $0.result.variants[v]?.sw2.error ?? .nan })
            })
        let result = Result(datasets: datasets, claims: claims)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try JSONFile.write(try JSONCoding.object(result), to: "\(directory)/result.json")
        let report = try HTMLReport.write(
            title: "Fig. 8 across datasets", subtitle: "ScoreAnisotropy \(version) — \(datasets.count) alignment runs",
            sections: [
                ReportSection(
                    title: "Claims", paragraphs: claims.map { "\($0.statement) \($0.verdict): \($0.evidence.summary)" }
                ),
                ReportSection(
                    title: "SW₂ / MSW₂ per dataset and transform", paragraphs: runs.map { "run: \($0)" }, table: rows,
                    figures: [.svg(name: "fig8-datasets", content: chart, caption: "One group of bars per dataset.")]),
            ], to: directory)
        return (result, report)
    }

    /// A claim over every dataset: it holds when it holds on each, fails when it fails on
    /// any, and is untestable when no dataset could test it.
    static func combined(_ suffix: String, _ datasets: [Dataset]) -> Claim {
        let each = datasets.map { d in (d.data, d.claims.first { $0.id.hasSuffix(".\(suffix)") }) }
        let verdicts = each.compactMap { $0.1?.holds }
        let holds: Bool? = verdicts.contains(false) ? false : verdicts.isEmpty ? nil : verdicts.count == each.count
        return Claim(
            id: "fig8-datasets.\(suffix)",
            statement: each.compactMap { $0.1?.statement }.first.map { "On every dataset: \($0)" }
                ?? "On every dataset: \(suffix)",
            holds: holds,
            evidence: Claim.Evidence(
                summary: each.map { "\($0.0): \($0.1?.verdict ?? "no such claim")" }.joined(separator: "; ") + ".",
                test: "the per-dataset claims (paired t-tests over seeds); holds only if it holds on each"))
    }
}
