import ArgumentParser
import Datasets
import Experiments
import Formats
import Foundation
import Metrics
import Geometry
import Networks
import Tensors

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Sliced and max-sliced Wasserstein-2 between two sample sets (reference definition), or with "
            + "--score-error a trained network's error against the exact score of Gaussian data.",
        discussion: """
            --score-error: E‖ε̂ − ε*‖² in total and projected on each direction (the init SADs by default), \
            per noise band, with standard errors; ε* = σ_t Σ_t⁻¹ x_t is exact for rank-one:… and \
            gaussian:sad:… / gaussian:FAMILY:… data (Σ_t = ᾱ_t Σ + σ_t² I). The default directions are \
            computed once and written to OUT.init-sads/.
            """)

    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Samples .npy, (N, D) or (N, C, H, W).")
    var samples: String?

    @Option(help: "Reference samples .npy with the same N and D.")
    var reference: String?

    @Flag(help: "Evaluate a checkpoint's error against the exact score of --data (Gaussian laws only).")
    var scoreError = false

    @Option(help: "With --score-error: the network config of the checkpoint.")
    var config: String?

    @Option(help: ArgumentHelp("With --score-error: the trained network.", valueName: "model.safetensors"))
    var checkpoint: String?

    @Option(
        help: ArgumentHelp(
            "With --score-error: the training data's law, rank-one:…, gaussian:sad:VECS.npy:LIST or "
                + "gaussian:dct:LIST."))
    var data: String?

    @Option(
        help: ArgumentHelp(
            "With --score-error: init-sads[:N] (default: the config's init SADs, N = 4096 networks), "
                + "basis:FAMILY, VECS.npy or a geometry directory."))
    var directions: String = "init-sads"

    @Option(help: "With --score-error: K log-spaced noise bands over 0…T−1 (1…64).")
    var bands = 4

    @Option(help: ArgumentHelp("With --score-error: one band a:b instead of --bands.", valueName: "a:b"))
    var timesteps: TimestepBand?

    @Option(help: "With --score-error: draws per band (2…10⁷).")
    var draws = 2048

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
        try Check.range(bands, 1...64, "--bands")
        try Check.range(draws, 2...10_000_000, "--draws")
        if scoreError {
            guard config != nil, checkpoint != nil, data != nil, samples == nil, reference == nil else {
                throw ValidationError(
                    "--score-error needs --config, --checkpoint and --data (not --samples/--reference)")
            }
        } else {
            guard samples != nil, reference != nil, config == nil, checkpoint == nil, data == nil else {
                throw ValidationError(
                    "give --samples and --reference (or --score-error with --config, --checkpoint and --data)")
            }
        }
    }

    func run() throws {
        try threadOptions.apply()
        if scoreError {
            try evaluateScoreError()
            return
        }
        let samples = samples!, reference = reference!
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

    func evaluateScoreError() throws {
        let network = try BuiltinConfigs.resolve(config!)
        let bandList = try timesteps.map { [$0] } ?? TimestepBand.logSpaced(count: bands, timesteps: network.timesteps)
        let start = Date()
        let result = try ScoreError.run(
            config: network, checkpoint: checkpoint!, data: try DataSource.parse(data!),
            directions: try ScoreError.Directions.parse(directions), bands: bandList, samples: draws, seed: seed,
            work: out + ".init-sads")
        try JSONFile.write(try JSONCoding.object(result), to: out)
        print(result.summary)
        print(String(format: "(%.1f s) result: %@", Date().timeIntervalSince(start), out))
    }
}
