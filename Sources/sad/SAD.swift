import ArgumentParser
import Benchmarks
import Foundation
import Formats
import Tensors

/// The package version, also written into every run manifest.
let sadVersion = ProgramVersion.current

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
        subcommands: [
            Demo.self, Reproduce.self, Align.self, SweepCommand.self, ReportCommand.self, GeometryCommand.self,
            Train.self, Sample.self, Evaluate.self, DatasetCommand.self, Forward.self, Inspect.self, InitStats.self,
            Bench.self,
            SelfCheck.self,
        ]
    )

    /// Every command: the environment is checked, BLAS/LAPACK is made single-threaded before any
    /// call (a multi-threaded OpenBLAS changes the last bits of eigendecompositions between
    /// runs), and library errors are shown in the command line's terms.
    static func main() {
        do {
            try Environment.validate()
            BLAS.configureSingleThreaded()
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: CLIError.translate(error))
        }
    }
}

/// Options every compute command shares.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads (default: SAD_THREADS or the core count). Results do not depend on it.")
    var threads: Int?

    func validate() throws {
        if let threads { try Check.range(threads, 1...1024, "--threads") }
    }

    /// Applies `--threads` (range-checked by `validate()` before any command runs).
    func apply() throws {
        if let threads { Parallel.threadCount = threads }
    }
}
