import Diffusion
@testable import Experiments
import Formats
import Foundation
import Tensors
import XCTest

/// A unit whose training diverges is recorded as a failed unit (with its reason): the sweep
/// still finishes, merges and reports, and reruns do not retry it forever.
final class FailedUnitTests: XCTestCase {
    struct Flaky: Recipe {
        var name: String { "fig4" }
        var title: String { "one unit diverges" }
        var profile: Profile { .quick }
        struct Settings: Codable, Sendable { var units = 3 }
        var settings: Settings { Settings() }
        func prepare(in run: RunDirectory) throws {}
        func units() throws -> [ExperimentUnit] { (0..<3).map { ExperimentUnit("u", $0, seed: 0) } }
        struct Value: Codable, Sendable { var value: Double }
        struct Finished: Codable, Sendable { var finished: Int }
        func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> Value {
            if unit.index == 1 { throw Trainer.Diverged(step: 17, loss: .nan) }
            if unit.index == 2 {
                throw NonFiniteError(tensor: "samples 0…9", context: "sampling", index: 3, value: .infinity)
            }
            return Value(value: Double(unit.index))
        }
        func aggregate(_ results: [ExperimentUnit: Value], in run: RunDirectory) throws -> Finished {
            Finished(finished: results.count)
        }
        func verdict(_ summary: Finished) throws -> [Claim] { [] }
        func figures(_ summary: Finished, claims: [Claim], in run: RunDirectory) throws -> RecipeFigures {
            RecipeFigures(sections: [], headline: ["\(summary.finished) finished"])
        }
    }

    func testDivergedUnitsAreRecordedAndMerged() throws {
        let dir = NSTemporaryDirectory() + "failed-units-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sweep = Sweep(
            recipe: Flaky(), directory: RunDirectory(path: dir), options: RecipeOptions(), version: "test")
        let (done, total) = try sweep.execute()
        XCTAssertEqual(done, 3)
        XCTAssertEqual(total, 3)
        let failed = try JSONFile.read("\(dir)/units/u_1_s0.json")
        XCTAssertTrue((failed["failed"] as? String ?? "").contains("diverged at step 17"))
        try sweep.merge()
        let result = try JSONFile.read("\(dir)/result.json")
        XCTAssertEqual(result["finished"] as? Int, 1)
        let reasons = result["failed_units"] as? [String] ?? []
        XCTAssertEqual(reasons.count, 2)
        XCTAssertTrue(reasons[1].contains("sampling"), "\(reasons)")
        // A rerun skips the recorded units instead of retrying them.
        XCTAssertEqual(try sweep.missing().count, 0)
    }
}
