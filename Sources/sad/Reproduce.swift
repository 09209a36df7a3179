import ArgumentParser
import Experiments
import Foundation
import Geometry

/// Options shared by `sad reproduce` and `sad sweep`.
struct SweepTarget: ParsableArguments {
    @Option(help: "Profile: quick (minutes), cpu (hours on 2 cores), paper (the paper's settings).")
    var profile: Profile = .quick

    @Option(help: "Dataset for the real-image recipes (fashion-mnist, idx:PATH, cifar:PATH[,PATH], png:DIR, PATH.npy).")
    var data: String?

    @Option(help: "Override the profile's number of seeds.")
    var seeds: Int?

    @Option(
        help: ArgumentHelp("fig6 on your own network: ONNX exports of ≥ 2 initialisations.", valueName: "file.onnx"))
    var onnx: [String] = []

    @Option(help: "Init overrides for --onnx (JSON, see `sad inspect`).")
    var initOverrides: String?

    func validate() throws {
        if let seeds { try Check.range(seeds, 1...10_000, "--seeds") }
        try Check.range(onnx.count, 0...64, "--onnx (number of files)")
    }

    func make(_ recipe: String) throws -> (any Recipe, RecipeOptions) {
        let options = RecipeOptions(
            data: data, seeds: seeds, onnx: onnx.isEmpty ? nil : onnx, initOverrides: initOverrides)
        return (try Recipes.make(recipe, profile: profile, options: options), options)
    }
}

struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Reproduce a paper figure or claim: runs its units (resumable, shardable) and writes result.json "
            + "and report.html.",
        discussion: "Recipes: " + Recipes.names.map { "\($0) — \(Recipes.descriptions[$0]!)" }.joined(separator: "; ")
            + ". Rerunning with the same --out skips finished units.")

    @Argument(help: "Recipe: \(Recipes.names.joined(separator: ", ")).")
    var recipe: String

    @OptionGroup var target: SweepTarget
    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Run only shard i of N (units i, i+N, …); merge with `sad sweep merge` when all shards are done.")
    var shard: Shard = .whole

    @Option(help: "Run directory (default runs/<recipe>-<profile>).")
    var out: String?

    @Flag(help: "Only compute the shared inputs (geometry, transforms), e.g. before starting shards.")
    var prepareOnly = false

    func run() throws {
        try threadOptions.apply()
        let (recipe, options) = try target.make(self.recipe)
        let dir = out ?? "runs/\(recipe.name)-\(recipe.profile.rawValue)"
        let sweep = Sweep(
            recipe: recipe,
            directory: RunDirectory(
                path: dir,
                log: {
                    print($0); fflush(stdout)
                }), shard: shard,
            options: options, version: sadVersion)
        let start = Date()
        if prepareOnly {
            try sweep.prepare()
            print("prepared \(dir)/prepared")
            return
        }
        let (done, total) = try sweep.execute()
        print(
            String(format: "%d of %d units done (%.0f s this invocation)", done, total, Date().timeIntervalSince(start))
        )
        guard done == total else {
            print("other shards still to run; then: sad sweep merge --out \(dir)")
            return
        }
        let (summary, report) = try sweep.merge(command: CommandLine.arguments.joined(separator: " "))
        for line in summary.headline { print(line) }
        print("result: \(dir)/result.json\nreport: \(report)")
    }
}
