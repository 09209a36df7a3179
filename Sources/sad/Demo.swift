import ArgumentParser
import Experiments
import Foundation
import Tensors

/// The main job on built-in defaults: SADs of the default U-Net by the fast estimator, then
/// small models trained on rank-one data along the top and the bottom SAD, predicted vs
/// measured ordering, and an HTML report. About 4 minutes on 2 cores.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "The main job on built-in defaults: SADs of the default U-Net, rank-one training along the top and "
            + "bottom SAD, report (≈ 4 min on 2 cores)."
    )

    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Run directory (rerun to resume; delete it to start over).")
    var out = "runs/demo"

    @Option(help: "Seeds per direction.")
    var seeds = 2

    func validate() throws {
        try Check.range(seeds, 1...100, "--seeds")
    }

    func run() throws {
        try threadOptions.apply()
        let start = Date()
        let recipe = SADSweepRecipe.demo(seeds: seeds)
        print(
            """
            ScoreAnisotropy \(sadVersion) demo (\(Parallel.threadCount) threads)
            1. SADs of the iDDPM U-Net (1x16x16, nearest) from \(recipe.geometryNetworks) random networks \
            (marginal estimator).
            2. Prediction: data along SAD 0 (largest eigenvalue) is harder to model than along SAD 255 (smallest).
            3. Check: train \(recipe.training.seeds) small DDPM(s) per direction (\(recipe.training.steps) steps, \
            batch \(recipe.training.batchSize)), sample \(recipe.training.evalSamples), measure MSW₂.

            """)
        let sweep = Sweep(
            recipe: recipe,
            directory: RunDirectory(
                path: out,
                log: {
                    print("  " + $0); fflush(stdout)
                }), options: RecipeOptions(seeds: seeds),
            version: sadVersion)
        try sweep.execute()
        let summary = try sweep.merge(command: "sad demo")
        if let g = try? String(contentsOfFile: "\(out)/prepared/geometry-iddpm-nearest/summary.txt", encoding: .utf8) {
            print("\nSpectrum and stability:\n" + g)
        }
        for line in summary.summary.headline { print(line) }
        print(String(format: "\nDone in %.0f s. Report: ", Date().timeIntervalSince(start)) + summary.report)
        print(
            "Next: `sad reproduce fig6 --profile cpu` (the full SAD sweep) or `sad reproduce --help` for every figure.")
    }
}
