import ArgumentParser
import Formats
import Foundation
import Metrics
import Tensors

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sliced and max-sliced Wasserstein-2 between two sample sets (reference definition).")

    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Samples .npy, (N, D) or (N, C, H, W).")
    var samples: String

    @Option(help: "Reference samples .npy with the same N and D.")
    var reference: String

    @Option(help: "Explicit projections .npy (L, D), unit rows.")
    var projections: String?

    @Option(help: "Number of random projections (default 64·D).")
    var numProjections: Int?

    @Option(help: "Seed of the random projections.")
    var seed: UInt64 = 0

    @Option(help: "Result JSON.")
    var out: String

    func validate() throws {
        if let numProjections { try Check.range(numProjections, 1...10_000_000, "--num-projections") }
    }

    func run() throws {
        try threadOptions.apply()
        let a = try Npy.read(samples).tensor(file: samples, field: "samples", converting: true)
        let b = try Npy.read(reference).tensor(file: reference, field: "reference", converting: true)
        let d = a.count / max(a.shape.first ?? 1, 1)
        let directions: SlicedWasserstein.Projections
        if let projections {
            directions = .explicit(
                try Npy.read(projections).tensor(file: projections, field: "projections", converting: true))
        } else {
            directions = .random(count: numProjections ?? min(64 * d, 100_000_000), seed: seed)
        }
        let start = Date()
        let (result, _) = try SlicedWasserstein.compute(a, b, directions: directions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(result)), to: out)
        print(
            String(
                format: "SW2 %.6f, MSW2 %.6f over %d projections (%.2f s)", result.sw2, result.msw2,
                result.numProjections,
                Date().timeIntervalSince(start)))
    }
}
