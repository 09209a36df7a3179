import ArgumentParser
import Benchmarks
import Foundation
import Tensors

/// The package version, also written into every run manifest.
let sadVersion = "0.1.0"

@main
struct SAD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sad",
        abstract: "Score Anisotropy Directions: the average geometry of score networks (arXiv 2510.22899).",
        discussion: """
        Estimates which data directions a diffusion model's architecture finds easy before any \
        training, and checks the prediction by training. Start with `sad demo`.
        """,
        version: sadVersion,
        subcommands: [Demo.self, Reproduce.self, Align.self, SweepCommand.self, ReportCommand.self, GeometryCommand.self, Train.self, Sample.self, Evaluate.self, DatasetCommand.self, Forward.self, InitStats.self, Bench.self, SelfCheck.self]
    )
}

/// Options every compute command shares.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads (default: SAD_THREADS or the core count). Results do not depend on it.")
    var threads: Int?

    func apply() throws {
        if let threads {
            guard threads >= 1 && threads <= 1024 else {
                throw ValidationError("--threads: expected 1…1024, found \(threads)")
            }
            Parallel.threadCount = threads
        }
    }
}
