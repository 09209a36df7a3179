import ArgumentParser
import Experiments
import Foundation
import Geometry

/// Sharded sweeps on an existing scheduler: plan scripts, status, merge.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a recipe as N independent shards on Slurm or GNU parallel, then merge.",
        subcommands: [Emit.self, Status.self, Merge.self],
        defaultSubcommand: Emit.self)

    struct Emit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write a job script: a Slurm array (one task per shard, then a merge job) or a GNU parallel line.",
            discussion: "Example: sad sweep fig6 --profile paper --shards 64 --emit slurm --out runs/fig6-paper")

        @Argument(help: "Recipe: \(Recipes.names.joined(separator: ", ")).")
        var recipe: String

        @OptionGroup var target: SweepTarget

        @Option(help: "slurm or parallel.")
        var emit: JobEmitter = .slurm

        @Option(help: "Number of shards.")
        var shards = 16

        @Option(help: "Threads per shard.")
        var threads = 4

        @Option(help: "Wall-time limit per Slurm task (HH:MM:SS).")
        var time = "24:00:00"

        @Option(help: "Run directory (shared by every shard).")
        var out: String

        @Option(help: "Path of the sad executable on the cluster.")
        var sad = "sad"

        func validate() throws {
            try Check.range(shards, 1...100_000, "--shards")
            try Check.range(threads, 1...1024, "--threads")
            guard time.range(of: #"^[0-9]{1,4}:[0-5][0-9]:[0-5][0-9]$"#, options: .regularExpression) != nil else {
                throw ValidationError("--time: expected HH:MM:SS, found '\(time)'")
            }
        }

        func run() throws {
            let (recipe, _) = try target.make(self.recipe)
            let units = try recipe.units().count
            var flags = "--profile \(recipe.profile.rawValue)"
            if let data = target.data { flags += " --data \(quoted(data))" }
            if let seeds = target.seeds { flags += " --seeds \(seeds)" }
            let base = "\(quoted(sad)) reproduce \(recipe.name) \(flags) --out \(quoted(out)) --threads \(threads)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let path: String
            switch emit {
            case .slurm:
                path = "\(out)/submit-slurm.sh"
                let script = """
                    #!/bin/bash
                    # \(recipe.name) (\(recipe.title)), profile \(recipe.profile.rawValue): \(units) units in \(shards) shards.
                    # Submit with: bash \(path)
                    # Shards are deterministic (unit k runs in shard k mod \(shards)); finished units are skipped on resubmission.
                    set -euo pipefail
                    prep=$(sbatch --parsable --job-name=sad-\(recipe.name)-prep --cpus-per-task=\(threads) --time=\(time) \\
                      --wrap "\(base) --shard 0/\(shards) --prepare-only")
                    array=$(sbatch --parsable --dependency=afterok:$prep --job-name=sad-\(recipe.name) --array=0-\(shards - 1) \\
                      --cpus-per-task=\(threads) --time=\(time) --wrap "\(base) --shard \\${SLURM_ARRAY_TASK_ID}/\(shards)")
                    sbatch --dependency=afterok:$array --job-name=sad-\(recipe.name)-merge --time=01:00:00 \\
                      --wrap "\(quoted(sad)) sweep merge --out \(quoted(out))"

                    """
                try script.write(toFile: path, atomically: true, encoding: .utf8)
            case .parallel:
                path = "\(out)/run-parallel.sh"
                let script = """
                    #!/bin/bash
                    # \(recipe.name), profile \(recipe.profile.rawValue): \(units) units in \(shards) shards with GNU parallel.
                    set -euo pipefail
                    \(base) --shard 0/\(shards) --prepare-only
                    seq 0 \(shards - 1) | parallel -j \(max(1, ProcessInfo.processInfo.activeProcessorCount / threads)) "\(base) --shard {}/\(shards)"
                    \(quoted(sad)) sweep merge --out \(quoted(out))

                    """
                try script.write(toFile: path, atomically: true, encoding: .utf8)
            }
            print("wrote \(path) (\(units) units, \(shards) shards)")
        }

        func quoted(_ s: String) -> String {
            s.allSatisfy { $0.isLetter || $0.isNumber || "/._-:,=".contains($0) }
                ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "How many units of a run directory are done.")

        @Option(help: "Run directory.")
        var out: String

        func run() throws {
            let sweep = try Sweep.open(out, version: sadVersion)
            let all = try sweep.recipe.units(), missing = try sweep.missing()
            print(
                "\(sweep.recipe.name) profile \(sweep.recipe.profile.rawValue): \(all.count - missing.count) of "
                    + "\(all.count) units done"
            )
            for unit in missing.prefix(20) { print("  missing: \(unit)") }
            if missing.count > 20 { print("  … and \(missing.count - 20) more") }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge every shard's unit results into result.json and report.html.")

        @Option(help: "Run directory.")
        var out: String

        func run() throws {
            let sweep = try Sweep.open(out, version: sadVersion)
            let (summary, report) = try sweep.merge(command: CommandLine.arguments.joined(separator: " "))
            for line in summary.headline { print(line) }
            print("result: \(out)/result.json\nreport: \(report)")
        }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Rebuild result.json, figures and report.html of a finished run directory.")

    @Argument(help: "Run directory.")
    var directory: String

    func run() throws {
        let sweep = try Sweep.open(directory, version: sadVersion)
        let (_, report) = try sweep.merge(command: CommandLine.arguments.joined(separator: " "))
        print(report)
    }
}
