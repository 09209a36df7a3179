import Foundation
import TestSupport
import XCTest
@testable import Experiments
import Formats
import Tensors

/// The 3-channel path end to end: a CIFAR-10-format file written here (3×32×32 records), its
/// alignment with the 3x32x32 U-Net, a short training run per transform, and RGB sample grids.
final class ThreeChannelTests: XCTestCase {
    /// `n` CIFAR-10 binary records: label byte, then 1024 R, 1024 G, 1024 B bytes; smooth
    /// colour gradients with a random phase per image so that the channels differ.
    static func cifarFile(_ n: Int) throws -> String {
        let dir = try scratchDirectory("cifar")
        let z = RandomStream(seed: 11, purpose: .test).uniforms(n * 3)
        var bytes: [UInt8] = []
        for i in 0..<n {
            bytes.append(UInt8(i % 10))
            for c in 0..<3 {
                for y in 0..<32 {
                    for x in 0..<32 {
                        let phase = Double(z[i * 3 + c]) * 6.28
                        let v = 0.5 + 0.45 * sin(Double(x + 2 * c * y) / 6 + phase)
                        bytes.append(UInt8(max(0, min(255, (v * 255).rounded()))))
                    }
                }
            }
        }
        let path = "\(dir)/data_batch_1.bin"
        try AtomicFile.write(bytes, to: path)
        return path
    }

    func testCIFARAlignmentTrainingAndRGBGrids() throws {
        let data = "cifar:" + (try Self.cifarFile(64))
        let dir = try scratchDirectory("fig10-rgb")
        let options = RecipeOptions(data: data)
        let sweep = Sweep(
            recipe: try Recipes.make("fig10", profile: .quick, options: options), directory: RunDirectory(path: dir),
            options: options, version: "test")
        try sweep.execute()
        let (summary, _) = try sweep.merge()
        // The prediction before training: Theorem 2's bounds, with G of the 3-channel U-Net.
        let alpha = try XCTUnwrap(summary.claims.first { $0.id == "fig10.alpha-prediction" })
        XCTAssertEqual(alpha.holds, true, alpha.evidence.summary)
        let prepared = try JSONFile.read("\(dir)/prepared/alignment.json")
        XCTAssertEqual(prepared["dimension"] as? Int, 3072)
        // Every transform trained, sampled and was scored beside the trivial baselines.
        for variant in AlignmentRecipe.variants {
            let unit = try JSONFile.read("\(dir)/units/\(variant)_0_s0.json")
            XCTAssertTrue((unit["sw2"] as? Double)?.isFinite ?? false, variant)
            let b = try JSONCoding.decode(BaselineScores.self, from: unit["baselines"] as Any)
            XCTAssertTrue(b.fittedLaw.contains("Gaussian"), b.fittedLaw)
            let samples = try Npy.read("\(dir)/units/\(variant)_0_s0/samples.npy").tensor(
                file: "samples", field: "samples", converting: true)
            XCTAssertEqual(Array(samples.shape.dropFirst()), [3, 32, 32])
            // The sample grid is an RGB PNG.
            let grid = try PNG.read("\(dir)/figures/samples-\(variant).png")
            XCTAssertEqual(grid.channels, 3, variant)
        }
        // Fig. 8 across datasets: this CIFAR-format run beside a 1-channel one.
        let grey = try scratchDirectory("fig8-grey")
        let greyOptions = RecipeOptions(data: try syntheticImages(64))
        let greySweep = Sweep(
            recipe: try Recipes.make("fig8", profile: .quick, options: greyOptions),
            directory: RunDirectory(path: grey), options: greyOptions, version: "test")
        try greySweep.execute()
        try greySweep.merge()
        let combined = try scratchDirectory("fig8-datasets")
        let (both, report) = try AlignmentSummary.write(runs: [grey, dir], to: combined, version: "test")
        XCTAssertEqual(both.datasets.map(\.data), [greyOptions.data!, data])
        XCTAssertEqual(
            both.claims.map(\.id), ["fig8-datasets.wmin-better-than-identity", "fig8-datasets.wmin-better-than-wmax"])
        XCTAssertEqual(both.claims.map(\.holds), [nil, nil], "not testable at the quick profile")
        XCTAssertTrue(FileManager.default.fileExists(atPath: report))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(combined)/figures/fig8-datasets.svg"))
        // A run that is not an alignment run is refused by name.
        let other = try scratchDirectory("fig3")
        let fig3 = Sweep(
            recipe: try Recipes.make("fig3", profile: .quick), directory: RunDirectory(path: other),
            options: RecipeOptions(), version: "test")
        try fig3.execute()
        try fig3.merge()
        XCTAssertThrowsError(try AlignmentSummary.write(runs: [grey, other], to: combined, version: "test")) {
            XCTAssertTrue("\($0)".contains("recipe") && "\($0)".contains("fig3"), "\($0)")
        }
        // The paper profile's step count comes from the shape (CIFAR-10: 200k), not the name.
        XCTAssertEqual(AlignmentRecipe.paperSteps(imageShape: [3, 32, 32]), 200_000)
        XCTAssertEqual(AlignmentRecipe.paperSteps(imageShape: [1, 28, 28]), 100_000)
    }
}
