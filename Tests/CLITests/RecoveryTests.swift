import Formats
import Foundation
import XCTest

/// Class 7: a run directory left incomplete (a kill between two files, a deleted or edited
/// result file, temp files of a killed writer) is completed by rerunning, never stuck.
final class RecoveryTests: XCTestCase {
    let geometry = [
        "geometry", "--config", "mlp.json", "--estimator", "importance", "--networks", "32", "--chunk-size", "4",
        "--out", "g",
    ]

    func testIncompleteResultDirectoriesAreRecomputed() throws {
        let box = try SadSandbox("recover")
        assertSucceeded(try box.run(geometry))
        XCTAssertTrue(FileManager.default.fileExists(atPath: box.path("g/complete.json")))
        let vals = try box.bytes("g/vals.npy"), vecs = try box.bytes("g/vecs.npy")
        // As if killed after vecs.npy: later files and the marker missing.
        for name in ["vals.npy", "geometry.npy", "complete.json", "summary.txt"] {
            try FileManager.default.removeItem(atPath: box.path("g/\(name)"))
        }
        // A temp file of a killed writer (a PID that does not run).
        try box.write("g/.vals.npy.tmp-4194300-12345", "partial")
        assertSucceeded(try box.run(geometry))
        XCTAssertEqual(try box.bytes("g/vals.npy"), vals)
        XCTAssertEqual(try box.bytes("g/vecs.npy"), vecs)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: box.path("g/.vals.npy.tmp-4194300-12345")), "stale temp file kept")
        XCTAssertTrue(FileManager.default.fileExists(atPath: box.path("g/complete.json")))
    }

    func testPreparedGeometryWithoutItsMarkerIsRecomputed() throws {
        let box = try SadSandbox("prepared")
        assertSucceeded(try box.run(["reproduce", "fig3", "--seeds", "1", "--out", "run"]))
        let result = try box.bytes("run/result.json")
        // Corrupt a unit result file: the merge refuses it with the file named.
        try box.write("run/units/nearest_0_s0.json", "{")
        assertRefused(
            try box.run(["sweep", "merge", "--out", "run"]), mentions: ["nearest_0_s0.json", "expected a JSON object"])
        // Remove it: rerunning recomputes just that unit, and the merged result is identical.
        try FileManager.default.removeItem(atPath: box.path("run/units/nearest_0_s0.json"))
        assertSucceeded(try box.run(["reproduce", "fig3", "--seeds", "1", "--out", "run"]))
        XCTAssertEqual(try box.bytes("run/result.json"), result)
    }
}
