import ArgumentParser
import Datasets
import Formats
import Networks
import Tensors

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

    func validate() throws {
        try Check.range(count, 1...Check.maxCount, "--count")
        let dims = shape.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard dims.count == 3, dims.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
            throw ValidationError("--shape: expected C,H,W with each extent in 1…4096, found '\(shape)'")
        }
    }

    func run() throws {
        let dims = shape.split(separator: ",").compactMap { Int($0) }
        let x: Tensor
        do {
            x = try DataSource.parse(data).load(shape: dims, count: count, seed: seed, stream: stream)
        } catch let e as SettingError where e.setting == "numSamples" {
            // This command's flag is --count.
            throw SettingError(setting: "count", expected: e.expected, found: e.found)
        }
        try Npy.write(x, to: out)
        print("wrote \(x.shape[0]) samples to \(out)")
    }
}
