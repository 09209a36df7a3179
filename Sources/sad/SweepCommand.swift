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
        var emit: JobScript.Scheduler = .slurm

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
            guard JobScript.isWallTime(time) else {
                throw ValidationError("--time: expected HH:MM:SS, found '\(time)'")
            }
        }

        func run() throws {
            let (recipe, _) = try target.make(self.recipe)
            var flags: [String] = []
            if let data = target.data { flags += ["--data", JobScript.quoted(data)] }
            if let seeds = target.seeds { flags += ["--seeds", "\(seeds)"] }
            let script = JobScript(
                scheduler: emit, recipe: recipe.name, title: recipe.title, profile: recipe.profile,
                units: try recipe.units().count, shards: shards, threads: threads, time: time, out: out, sad: sad,
                flags: flags, jobs: max(1, ProcessInfo.processInfo.activeProcessorCount / threads))
            try script.write()
            print("wrote \(script.path) (\(script.units) units, \(shards) shards)")
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
        abstract: "Rebuild result.json, figures and report.html of a finished run directory.",
        discussion: "With several finished alignment runs (fig7/fig8/fig10, one dataset each) and --out, writes "
            + "Fig. 8 across the datasets into --out instead.")

    @Argument(help: "Run directory (or several alignment run directories with --out).")
    var directories: [String]

    @Option(help: "Output directory of the combined Fig. 8 summary across datasets.")
    var out: String?

    func validate() throws {
        guard !directories.isEmpty else { throw ValidationError("give a run directory") }
        guard directories.count == 1 || out != nil else {
            throw ValidationError("several run directories: give --out for the combined summary")
        }
    }

    func run() throws {
        if let out {
            let (result, report) = try AlignmentSummary.write(runs: directories, to: out, version: sadVersion)
            for claim in result.claims { print("\(claim.id): \(claim.verdict)") }
            print(report)
            return
        }
        let sweep = try Sweep.open(directories[0], version: sadVersion)
        let (_, report) = try sweep.merge(command: CommandLine.arguments.joined(separator: " "))
        print(report)
    }
}
