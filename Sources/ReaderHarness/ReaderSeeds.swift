import Datasets
import Diffusion
import Experiments
import Formats
import Foundation
import Geometry
import Networks
import Tensors

/// Small valid inputs for every reader, made with the tool's own writers so that they always
/// match the current formats: the fuzzer starts from them, and the replay test checks that
/// each is accepted (a reader that refuses valid files is as broken as one that traps).
extension ReaderHarness {
    public static func seeds(_ reader: String) throws -> [(name: String, bytes: [UInt8])] {
        switch reader {
        case "npy":
            let small = NDArray(shape: [2, 1, 2, 2], float32: (0..<8).map { Float($0) / 8 })
            return [
                ("float32.npy", Npy.encode(small)),
                ("float64.npy", Npy.encode(NDArray(shape: [3, 2], float64: [1, 2, 3, 4, 5, 6]))),
                ("uint8.npy", Npy.encode(NDArray(shape: [1, 1, 2, 2], uint8: [0, 64, 128, 255]))),
            ]
        case "safetensors":
            let arrays: [(String, NDArray)] = [
                ("a.weight", NDArray(shape: [2, 3], float32: [1, 2, 3, 4, 5, 6])),
                ("b", NDArray(shape: [2], int64: [7, -8])),
            ]
            return [("small.safetensors", SafeTensors.encode(arrays, metadata: ["format": "pt"]))]
        case "png":
            return [
                ("gray.png", PNG.encode(width: 3, height: 2, channels: 1, samples: [0, 50, 100, 150, 200, 250])),
                ("rgb.png", PNG.encode(width: 2, height: 2, channels: 3, samples: (0..<12).map { UInt8($0 * 20) })),
            ]
        case "idx":
            let raw: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3] + (0..<18).map { UInt8($0 * 14) }
            return [("raw.idx", raw), ("gzip.idx.gz", Gzip.compress(raw))]
        case "cifar":
            return [("one.bin", [3] + (0..<3072).map { UInt8(truncatingIfNeeded: $0 * 7) })]
        case "config":
            return [("tiny-mlp.json", Array(tinyConfig.utf8))]
                + BuiltinConfigs.json.keys.sorted().map { ("\($0).json", Array(BuiltinConfigs.json[$0]!.utf8)) }
        case "geometry-state":
            let config = try NetworkConfig.parse(Array(tinyConfig.utf8), file: "tiny.json")
            let spec = try GeometryRun.makeSpec(
                config: config, configPath: "tiny.json", interpolation: nil, patchSize: nil,
                scheme: .reference, estimator: .importance, probe: .zero, seed: 0,
                networks: 8, chunkSize: 2)
            let path = try scratchDirectory() + "/seed-state.safetensors"
            try? FileManager.default.removeItem(atPath: path)
            var run = GeometryRun(spec: spec, config: config)
            try run.run(statePath: path)
            let complete = try AtomicFile.read(path)
            try FileManager.default.removeItem(atPath: path)
            run.stopAfterChunks = 1
            try run.run(statePath: path)
            return [("complete.safetensors", complete), ("partial.safetensors", try AtomicFile.read(path))]
        case "checkpoint":
            var trainer = try tinyTrainer()
            let path = try scratchDirectory() + "/seed-checkpoint.safetensors"
            try trainer.save(to: path)
            let fresh = try AtomicFile.read(path)
            try trainer.trainStep()
            try trainer.trainStep()
            try trainer.save(to: path)
            return [("step0.safetensors", fresh), ("step2.safetensors", try AtomicFile.read(path))]
        case "sweep":
            let dir = try scratchDirectory() + "/seed-sweep"
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let sweep = Sweep(
                recipe: try Recipes.make("fig4", profile: .quick), directory: RunDirectory(path: dir),
                options: RecipeOptions(), version: "fuzz")
            try sweep.recordIdentity()
            return [("fig4-quick.json", try AtomicFile.read(dir + "/sweep.json"))]
        default:
            throw SettingError(setting: "reader", expected: readers.joined(separator: ", "), found: reader)
        }
    }
}
