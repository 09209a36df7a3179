import ArgumentParser
import Datasets
import Formats
import Networks

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Write a (synthetic) dataset to .npy, e.g. a fresh evaluation reference set.")

    @Option(help: "rank-one:FAMILY:A:B, rank-one:sad:VECS.npy:INDEX, or PATH.npy.")
    var data: String

    @Option(help: "Image shape C,H,W.")
    var shape = "1,16,16"

    @Option(help: "Number of samples.")
    var count = 10_000

    @Option(help: "Seed.")
    var seed: UInt64 = 0

    @Option(help: "Stream index: 0 is the training draw of `sad train`; use 1 for a fresh, independent reference set.")
    var stream: UInt64 = 1

    @Option(help: "Output .npy.")
    var out: String

    func run() throws {
        let dims = shape.split(separator: ",").compactMap { Int($0) }
        guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else { throw ValidationError("--shape: expected C,H,W, found '\(shape)'") }
        guard count >= 1 else { throw ValidationError("--count: expected ≥ 1, found \(count)") }
        let x = try DataSource.parse(data).load(shape: dims, count: count, seed: seed, stream: stream)
        try Npy.write(x, to: out)
        print("wrote \(x.shape[0]) samples to \(out)")
    }
}
