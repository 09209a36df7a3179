import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import XCTest
@testable import Experiments
import Formats
import Geometry
import Networks
import Reports
import Tensors

/// A small real-image stand-in (1x16x16 smooth random images in [−1, 1]) for the alignment recipes.
func syntheticImages(_ n: Int) throws -> String {
    let dir = try scratchDirectory("images")
    var x = Tensor(zeros: [n, 1, 16, 16])
    let z = RandomStream(seed: 5, purpose: .test).normals(n * 4)
    for i in 0..<n {
        for y in 0..<16 {
            for c in 0..<16 {
                let v =
                    z[i * 4] * Float(cos(Double(y) / 3)) + z[i * 4 + 1] * Float(sin(Double(c) / 4)) + 0.3 * z[i * 4 + 2]
                x.data[i * 256 + y * 16 + c] = max(-1, min(1, v / 2))
            }
        }
    }
    let path = "\(dir)/images.npy"
    try Npy.write(x, to: path)
    return path
}

final class RecipeTests: XCTestCase {
    func run(
        _ name: String, options: RecipeOptions = RecipeOptions(), shard: Shard = .whole, in dir: String? = nil
    ) throws -> (Sweep, String) {
        let dir = try dir ?? scratchDirectory(name)
        let sweep = Sweep(
            recipe: try Recipes.make(name, profile: .quick, options: options), directory: RunDirectory(path: dir),
            shard: shard, options: options, version: "test")
        try sweep.execute()
        return (sweep, dir)
    }

    /// The claims whose structure already holds at the quick profile's tiny scale.
    static let structuralClaims = [
        "fig3.nearest-asymmetric", "fig4.sgd-error-grows-with-lambda", "fig4.gd-rate", "props.prop1", "props.prop2",
        "props.prop3", "props.thm2", "fig7.alpha-prediction", "fig8.alpha-prediction", "fig10.alpha-prediction",
    ]

    /// Every recipe's quick profile runs end to end: result.json with its claims, figures, a
    /// report naming them. Structural claims hold at this scale; training claims are marked
    /// not testable (three optimiser steps say nothing about which direction is easier).
    func testEveryRecipeRunsQuick() throws {
        let images = try syntheticImages(64)
        var verdicts: [String: Bool?] = [:]
        for name in Recipes.names {
            let options = ["fig7", "fig8", "fig10"].contains(name) ? RecipeOptions(data: images) : RecipeOptions()
            let (sweep, dir) = try run(name, options: options)
            let (summary, report) = try sweep.merge()
            XCTAssertFalse(summary.headline.isEmpty, name)
            let result = try JSONFile.read("\(dir)/result.json")
            XCTAssertEqual(result["recipe"] as? String, name)
            // result.json's claims decode back to exactly the summary's claims.
            let claims = try JSONCoding.decode([Claim].self, from: result["claims"] as Any)
            XCTAssertEqual(claims, summary.claims, name)
            XCTAssertTrue(try Self.roundTrips(summary.result), "\(name): the summary decodes back to itself")
            XCTAssertFalse(claims.isEmpty || claims.contains { !$0.id.hasPrefix("\(name).") }, name)
            for c in claims {
                XCTAssertFalse(c.statement.isEmpty || c.evidence.summary.isEmpty || c.evidence.test.isEmpty, c.id)
                verdicts[c.id] = c.holds
            }
            let html = try String(contentsOfFile: report, encoding: .utf8)
            let figures = summary.sections.flatMap(\.figures)
            XCTAssertFalse(figures.isEmpty || name == "props" ? figures.isEmpty && name != "props" : false, name)
            for figure in figures {
                XCTAssertTrue(html.contains("id=\"\(figure.name)\""), "\(name): \(figure.name) in report.html")
                let ext: String
                switch figure {
                case .svg: ext = "svg";
                case .png: ext = "png"
                }
                let path = "\(dir)/figures/\(figure.name).\(ext)"
                XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
                if ext == "png" { XCTAssertNoThrow(try PNG.read(path), path) }
                if ext == "svg" {
                    XCTAssertTrue(SVGCheck.isWellFormed(try String(contentsOfFile: path, encoding: .utf8)), path)
                }
            }
        }
        for id in Self.structuralClaims { XCTAssertEqual(verdicts[id], true, id) }
        let training = verdicts.keys.filter {
            ["extremes", "ordering", "last-easier", "beats-zero-sampler", "better-than", "harder", "easier"]
                .contains(where: $0.contains)
        }
        XCTAssertGreaterThanOrEqual(training.count, 10)
        for id in training { XCTAssertEqual(verdicts[id], .some(nil), "\(id) is not testable at the quick profile") }
    }

    /// Encodes, decodes into the same type and encodes again: the same JSON.
    static func roundTrips<T: Codable>(_ value: T) throws -> Bool {
        let a = try JSONCoding.object(value)
        let b = try JSONCoding.object(try JSONCoding.decode(T.self, from: a))
        return NSDictionary(dictionary: a as? [String: Any] ?? [:]).isEqual(to: b as? [String: Any] ?? [:])
            && (a as? [String: Any])?.isEmpty == false
    }

    /// Every unit with a sample metric scores the trivial samplers on the same reference set:
    /// the zero sampler and the fitted rank-one law, which is far better than the zeros.
    func testUnitResultsCarryTrivialBaselines() throws {
        let (sweep, dir) = try run("fig6")
        for unit in try sweep.recipe.units() {
            let r = try JSONFile.read("\(dir)/units/\(unit.id).json")
            let b = try JSONCoding.decode(BaselineScores.self, from: r["baselines"] as Any)
            XCTAssertGreaterThan(b.zeros.msw2, b.zeros.sw2, unit.id)
            XCTAssertLessThan(b.fitted.msw2, b.zeros.msw2 / 2, unit.id)
            XCTAssertTrue(b.fittedLaw.contains("rank-one"), b.fittedLaw)
        }
    }

    /// A Fig. 6 quick sweep as 3 shards, merged, equals the unsharded run byte for byte.
    func testShardsMergeToTheUnshardedResult() throws {
        let options = RecipeOptions(seeds: 2)
        let (whole, wholeDir) = try run("fig6", options: options)
        try whole.merge()
        let dir = try scratchDirectory("fig6-shards")
        for i in 0..<3 {
            let (s, _) = try run("fig6", options: options, shard: Shard(index: i, count: 3), in: dir)
            if i < 2 { XCTAssertThrowsError(try s.merge(), "merge before all shards ran") }
        }
        try Sweep.open(dir, version: "test").merge()
        XCTAssertEqual(try AtomicFile.read("\(dir)/result.json"), try AtomicFile.read("\(wholeDir)/result.json"))
        let units = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/units").filter { $0.hasSuffix(".json") }
        XCTAssertEqual(units.count, 4)
    }

    /// Finished units are skipped on restart; a different run in the same directory is refused.
    func testRestartSkipsFinishedUnitsAndRefusesAnotherRun() throws {
        let (sweep, dir) = try run("fig3")
        let path = "\(dir)/units/nearest_0_s0.json"
        let before = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        try FileManager.default.removeItem(atPath: "\(dir)/units/area_0_s0.json")
        XCTAssertEqual(try sweep.missing().count, 1)
        let (done, total) = try sweep.execute()
        XCTAssertEqual(done, total)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date, before)
        XCTAssertThrowsError(try run("fig4", in: dir)) { XCTAssertTrue("\($0)".contains("different run"), "\($0)") }
    }

    /// Fig. 4: late-phase SGD error grows with λ_i (Theorem 1).
    func testTheorem1LateErrorCorrelatesWithEigenvalue() throws {
        let (sweep, _) = try run("fig4")
        let summary = try sweep.merge().summary
        let result = try XCTUnwrap(summary.result as? LinearSGDRecipe.Result)
        XCTAssertGreaterThan(try XCTUnwrap(result.pearsonRLambdaLateError), 0.8)
        // The GD half: every direction's fitted rate within 5 % of log(1 − 2ησ²λ_min).
        let gd = try XCTUnwrap(summary.claims.first { $0.id == "fig4.gd-rate" })
        let predicted = try XCTUnwrap(gd.evidence.values["predicted_rate"])
        XCTAssertEqual(predicted, log(1 - 2 * 0.01 * 0.1), accuracy: 1e-12)
        for i in 1...5 {
            XCTAssertEqual(
                try XCTUnwrap(gd.evidence.values["fitted_rate_u\(i)"]), predicted, accuracy: 0.05 * -predicted)
        }
    }

    /// Fig. 3: nearest breaks the flip symmetry, area keeps it up to float32 rounding.
    func testImpulseResponseSymmetry() throws {
        let (sweep, _) = try run("fig3")
        let result = try XCTUnwrap(sweep.merge().summary.result as? ImpulseResponseRecipe.Result)
        let near = try XCTUnwrap(result["nearest"]).asymmetryFlipHorizontal
        let area = try XCTUnwrap(result["area"]).asymmetryFlipHorizontal
        XCTAssertGreaterThan(near, 0.3)
        XCTAssertLessThan(area, 0.1)
        XCTAssertLessThan(try XCTUnwrap(result["nearest"]).asymmetryTranspose, 1e-3)
    }

    func testUnknownRecipeAndMissingDataAreErrors() {
        XCTAssertThrowsError(try Recipes.make("fig5", profile: .quick)) { XCTAssertTrue("\($0)".contains("fig6")) }
        XCTAssertThrowsError(try Recipes.make("fig10", profile: .quick)) { XCTAssertTrue("\($0)".contains("--data")) }
        XCTAssertThrowsError(
            try AlignmentRecipe(name: "fig8", profile: .quick, options: RecipeOptions(data: "rank-one:dct:1:1"))
                .dataset())
    }

    func testBuiltinConfigsEqualTheFiles() throws {
        let root = TestPaths.root
        for (name, text) in BuiltinConfigs.json {
            XCTAssertEqual(
                try String(contentsOfFile: "\(root)/configs/\(name).json", encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines),
                text.trimmingCharacters(in: .whitespacesAndNewlines), name)
        }
        XCTAssertEqual(
            BuiltinConfigs.json.count,
            try FileManager.default.contentsOfDirectory(atPath: "\(root)/configs").filter { $0.hasSuffix(".json") }
                .count)
    }

    func testBuiltinLabelsResolveAsTheyAreRecorded() throws {
        let root = TestPaths.root
        XCTAssertEqual(try BuiltinConfigs.resolve("builtin:1x28x28-iddpm").shape, [1, 28, 28])
        XCTAssertEqual(try BuiltinConfigs.resolve("\(root)/configs/1x16x16-iddpm.json").shape, [1, 16, 16])
        XCTAssertThrowsError(try BuiltinConfigs.resolve("builtin:2x16x16-iddpm")) {
            XCTAssertTrue("\($0)".contains("1x16x16-iddpm"))
        }
    }
}

/// Minimal XML well-formedness check for the SVG figures.
enum SVGCheck {
    final class Delegate: NSObject, XMLParserDelegate {
        var failed = false
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { failed = true }
    }

    static func isWellFormed(_ svg: String) -> Bool {
        let parser = XMLParser(data: Data(svg.utf8))
        let d = Delegate()
        parser.delegate = d
        return parser.parse() && !d.failed
    }
}
