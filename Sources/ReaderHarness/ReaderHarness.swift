import Datasets
import Diffusion
import Experiments
import Formats
import Foundation
import Geometry
import Interop
import Networks
import Tensors

/// One entry point per reader of untrusted files, shared by the libFuzzer harness
/// (`Fuzz/sad-fuzz`, built by `scripts/fuzz`) and the corpus-replay test that CI runs.
///
/// Each harness feeds arbitrary bytes to a reader exactly as the tool would meet them (as a
/// file where the reader takes a path) and then uses what it returned the way the tool does.
/// A thrown error is the correct outcome for bad bytes; a trap, a hang or an unbounded
/// allocation is a bug.
public enum ReaderHarness {
    /// The readers, by the name `scripts/fuzz` and the corpus folders use.
    public static let readers = [
        "npy", "safetensors", "png", "idx", "cifar", "config", "geometry-state", "checkpoint", "sweep", "onnx",
    ]

    /// Runs reader `name` on `bytes`. Returns whether the bytes were accepted.
    @discardableResult
    public static func run(_ name: String, _ bytes: [UInt8]) -> Bool {
        do {
            switch name {
            case "npy":
                let a = try Npy.decode(bytes, file: "fuzz.npy")
                _ = try a.tensor(file: "fuzz.npy", field: "data", converting: true)
            case "safetensors":
                let f = try SafeTensors.decode(bytes, file: "fuzz.safetensors")
                for name in f.names {
                    _ = try f.array(name).tensor(file: "fuzz.safetensors", field: name, converting: true)
                }
            case "png":
                _ = try PNG.decode(bytes, file: "fuzz.png").planes()
            case "idx":
                _ = try ImageDatasets.idxImages(try scratchFile("fuzz.idx", bytes))
            case "cifar":
                _ = try ImageDatasets.cifar10([try scratchFile("fuzz.bin", bytes)])
            case "config":
                let c = try NetworkConfig.parse(bytes, file: "fuzz.json")
                _ = try c.with(interpolation: .area, patchSize: nil)
                _ = c.summary
            case "geometry-state":
                let state = try GeometryState.load(try scratchFile("state.safetensors", bytes))
                if state.isComplete { _ = try SADs(state: state) }
            case "checkpoint":
                var trainer = try tinyTrainer()
                try trainer.restore(from: try scratchFile("checkpoint.safetensors", bytes))
                _ = try trainer.trainStep()
            case "sweep":
                let dir = try scratchDirectory()
                _ = try scratchFile("sweep/sweep.json", bytes)
                let sweep = try Sweep.open(dir + "/sweep", version: "fuzz")
                _ = try sweep.myUnits()
            case "onnx":
                // As `sad forward --onnx`: decode, compile, run at batches 1 and 2, then once more.
                let net = try ImportedNetwork.load(
                    [try scratchFile("model.onnx", bytes)], options: ImportOptions(inferInitialisation: false))
                _ = net.initialisationTable
            default:
                fatalError("unknown reader \(name); known: \(readers.joined(separator: ", "))")
            }
            return true
        } catch {
            _ = "\(error)"  // every error must render
            return false
        }
    }

    /// The tiny network and data the checkpoint harness restores into (1×4×4 MLP).
    static let tinyConfig = """
        {"shape": [1, 4, 4], "learning_rate": 1e-3, "grad_clip": 1.0,
         "diffuser": {"T": 20, "linear": true, "model": {"type": "mlp", "hidden": [8], "time_embedding_dim": 4}}}
        """

    public static func tinyTrainer() throws -> Trainer {
        let config = try NetworkConfig.parse(Array(tinyConfig.utf8), file: "tiny.json")
        let data = RandomStream(seed: 1, purpose: .data, index: 0).normalTensor([8, 1, 4, 4])
        return try Trainer(
            network: ScoreNetwork(makeArchitecture(config), seed: 1), data: data, config: config,
            batchSize: 4, seed: 1)
    }

    nonisolated(unsafe) static var directory: String?

    /// A per-process scratch folder (in /dev/shm where it exists: the fuzzer writes a file per input).
    static func scratchDirectory() throws -> String {
        if let directory { return directory }
        let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(root)/sad-fuzz-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir + "/sweep", withIntermediateDirectories: true)
        directory = dir
        return dir
    }

    static func scratchFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = try scratchDirectory() + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
