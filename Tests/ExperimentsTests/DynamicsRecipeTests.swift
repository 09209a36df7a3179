import Foundation
import TestSupport
import XCTest
@testable import Experiments
import Formats
import Geometry
import Networks

/// `sad reproduce dynamics`: checkpoints measured once each and resumed, the proxy compared
/// with a given Fig. 6 result.
final class DynamicsRecipeTests: XCTestCase {
    func sweep(_ dir: String, options: RecipeOptions = RecipeOptions()) throws -> Sweep {
        Sweep(
            recipe: try Recipes.make("dynamics", profile: .quick, options: options), directory: RunDirectory(path: dir),
            options: options, version: "test")
    }

    func testKilledUnitResumesFromItsMeasuredCheckpoints() throws {
        let whole = try scratchDirectory("dynamics-whole"), resumed = try scratchDirectory("dynamics-resumed")
        try sweep(whole).execute()
        try sweep(whole).merge()
        try sweep(resumed).execute()
        // Kill after step 0 of one unit: its result and its later checkpoint are gone.
        let unit = "\(resumed)/units/bottom_1_s0"
        try FileManager.default.removeItem(atPath: "\(unit).json")
        try FileManager.default.removeItem(atPath: "\(unit)/step-2.json")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(unit)/step-0.json"))
        try sweep(resumed).execute()
        try sweep(resumed).merge()
        XCTAssertEqual(try AtomicFile.read("\(whole)/result.json"), try AtomicFile.read("\(resumed)/result.json"))
        let result = try JSONFile.read("\(whole)/result.json")
        let laws = result["laws"] as! [JSONObject]
        XCTAssertEqual(laws.map { $0["law"] as! String }, ["top", "bottom", "spread"])
        XCTAssertEqual(laws[0]["steps"] as! [Int], [0, 2])
        XCTAssertEqual((laws[0]["binned_error"] as! [[Any]]).first?.count, 16)
    }

    func testProxyIsComparedWithAGivenFig6Result() throws {
        let dir = try scratchDirectory("dynamics-proxy")
        // A real Fig. 6 result.json (the quick profile over the proxy's nine SADs), as
        // `sad reproduce fig6` writes it: the dynamics recipe reads it through its Codable type.
        var fig6 = SADSweepRecipe(profile: .quick, options: RecipeOptions())
        fig6.indices = [0, 31, 63, 95, 127, 159, 191, 223, 255]
        let fig6Run = Sweep(
            recipe: fig6, directory: RunDirectory(path: "\(dir)/fig6"), options: RecipeOptions(), version: "test")
        try fig6Run.execute()
        try fig6Run.merge()
        let saved = try SADSweepRecipe.Saved.read("\(dir)/fig6/result.json")
        let expected = try XCTUnwrap(saved.architectures["iddpm-nearest"]).perIndex.map(\.msw2.value)
        XCTAssertEqual(expected.count, 9)
        let options = RecipeOptions(data: "\(dir)/fig6/result.json")
        try sweep("\(dir)/run", options: options).execute()
        let (summary, _) = try sweep("\(dir)/run", options: options).merge()
        let claim = try XCTUnwrap(summary.claims.first { $0.id == "dynamics.proxy-agrees-with-fig6" })
        XCTAssertNil(claim.holds)
        XCTAssertNotNil(claim.evidence.values["rho"])
        let result = try JSONCoding.decode(
            DynamicsRecipe.Summary.self, from: try JSONFile.read("\(dir)/run/result.json"))
        XCTAssertEqual(result.fig6MSW2, expected)
        // A file that is not a Fig. 6 result names the field it lacks.
        try JSONFile.write(["x": 1], to: "\(dir)/other.json")
        let other = RecipeOptions(data: "\(dir)/other.json")
        try sweep("\(dir)/run2", options: other).execute()
        XCTAssertThrowsError(try sweep("\(dir)/run2", options: other).merge()) {
            XCTAssertTrue("\($0)".contains("settings"), "\($0)")
        }
    }
}

/// `sad geometry --bands`: one geometry per band, and the t-invariance of the init U-Net.
final class NoiseBandStudyTests: XCTestCase {
    func testInitUNetIsTheSameInEveryBandForEveryEstimator() throws {
        let config = try BuiltinConfigs.resolve("builtin:1x16x16-iddpm")
        for estimator in [Estimator.marginal, .importance] {
            let spec = try GeometryRun.makeSpec(
                config: config, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference,
                estimator: estimator, probe: .zero, seed: 1, networks: 48, chunkSize: 8)
            let dir = try scratchDirectory("bands-\(estimator)")
            let study = try NoiseBandStudy.run(
                GeometryJob(spec: spec, source: .config(config)),
                bands: try TimestepBand.logSpaced(count: 3, timesteps: 1000), k: 4, out: dir)
            XCTAssertEqual(study.bands.map(\.timesteps), ["0:9", "10:99", "100:999"])
            // The U-Net's output moves by ~1e-5 with t at init: the band geometries (the
            // marginal's bias term scaled by each band's own c) agree to 1e-4.
            XCTAssertTrue(study.timeInvariant, "\(estimator): \(study.bands.map(\.normalisedChangeFromFirst))")
            XCTAssertGreaterThan(study.bands[0].trace, 100 * study.bands[2].trace)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/report.html"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/band-2/vals.npy"))
            let json = try JSONFile.read("\(dir)/bands.json")
            XCTAssertEqual((json["bands"] as? [Any])?.count, 3)
        }
    }
}
