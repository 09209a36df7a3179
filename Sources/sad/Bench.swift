import ArgumentParser
import Foundation
import Benchmarks
import Networks
import Tensors

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine: sgemm peak, conv2d GFLOP/s vs that peak, RNG rate, eigendecomposition time.")

    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Batch size of the conv2d benchmark.")
    var convBatch = 1000

    @Option(help: "Matrix sizes for the eigendecomposition benchmark (comma-separated).")
    var eigenSizes = "256,3136"

    @Option(help: "Timed repetitions (best is reported).")
    var repetitions = 3

    @Option(help: "Networks per probe-throughput measurement (0 skips it).")
    var networks = 1000

    @Flag(
        inversion: .prefixedNo,
        help: "Include the geometry benchmarks (reference-estimator rate, time to stable SADs per config).")
    var geometry = true

    @Option(
        help: ArgumentHelp(
            "Reference configs whose time to stable SADs is measured (comma-separated names in --config-directory).",
            valueName: "names"))
    var stableConfigs = "1x16x16-iddpm,1x28x28-iddpm,3x32x32-iddpm,1x56x56-iddpm"

    @Option(help: "Seconds after which a time-to-stable measurement stops doubling (10…86400).")
    var stableTimeLimit = 300.0

    @Flag(
        inversion: .prefixedNo,
        help:
            "Include training (U-Net 1x16x16, DiT/2, DiT/4, U-Net 1x28x28 and 3x32x32), sampling and metric benchmarks."
    )
    var training = true

    @Option(
        help: ArgumentHelp(
            "Samples per micro-batch in the training and sampling benchmarks (0: every op over the whole batch; "
                + "default: each architecture's own cut).", valueName: "n"))
    var microBatch: Int?

    @Option(help: "Directory holding the reference configs.")
    var configDirectory = "configs"

    @Option(
        help: ArgumentHelp(
            "Also time the geometry of an imported network (ONNX exports of ≥ 2 initialisations) against the native "
                + "U-Net, side by side.", valueName: "file.onnx"))
    var onnx: [String] = []

    func validate() throws {
        try Check.range(convBatch, 1...10_000, "--conv-batch")
        try Check.range(repetitions, 1...1000, "--repetitions")
        try Check.range(networks, 0...1_000_000, "--networks")
        try Check.range(stableTimeLimit, 10...86_400, "--stable-time-limit")
        if let microBatch { try Check.range(microBatch, 0...100_000, "--micro-batch") }
    }

    func run() throws {
        try threadOptions.apply()
        let sizes = eigenSizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 20000 }) else {
            throw ValidationError("--eigen-sizes: expected comma-separated sizes 1…20000, found '\(eigenSizes)'")
        }
        var bench = EngineBenchmark()
        bench.convBatch = convBatch
        bench.eigenSizes = sizes.map { $0! }
        bench.repetitions = repetitions
        _ = try bench.run()
        if networks > 0 {
            let unet = try NetworkConfig.load("\(configDirectory)/1x16x16-iddpm.json")
            let dit = try NetworkConfig.load("\(configDirectory)/1x16x16-dit.json").with(patchSize: 2)
            _ = try NetworkBenchmark.run(
                configs: [("U-Net 1x16x16", unet), ("DiT/2 1x16x16", dit)], networks: networks)
            if geometry {
                let names = stableConfigs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let configs = try names.filter { !$0.isEmpty }.map {
                    ($0, try NetworkConfig.load("\(configDirectory)/\($0).json"))
                }
                try GeometryBenchmark.run(
                    config: unet, stableConfigs: configs, referenceNetworks: networks, timeLimit: stableTimeLimit)
                if !onnx.isEmpty { try ImportedGeometryBenchmark.run(files: onnx, native: unet) }
            }
            if training {
                let cases = [
                    TrainingBenchmark.Case(name: "U-Net 1x16x16", config: unet, batch: 1000),
                    TrainingBenchmark.Case(name: "DiT/2 1x16x16", config: dit, batch: 1000),
                    TrainingBenchmark.Case(name: "DiT/4 1x16x16", config: try dit.with(patchSize: 4), batch: 1000),
                    TrainingBenchmark.Case(
                        name: "U-Net 1x28x28", config: try NetworkConfig.load("\(configDirectory)/1x28x28-iddpm.json"),
                        batch: 500),
                    TrainingBenchmark.Case(
                        name: "U-Net 3x32x32", config: try NetworkConfig.load("\(configDirectory)/3x32x32-iddpm.json"),
                        batch: 500),
                ]
                let cut = microBatch.map(MicroBatching.option)
                try TrainingBenchmark.run(cases: cases, sampling: unet, repetitions: repetitions, microBatching: cut)
            }
        }
    }
}
