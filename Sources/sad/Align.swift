import ArgumentParser
import Experiments
import Formats
import Foundation

/// Alignment before training: α(W) for W_min, I, W_max on a dataset (Theorem 2).
struct Align: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Compute G (network), M (data), W_min / W_max and the alignment α for each — the prediction, before "
            + "any training.",
        discussion: "Writes DIR/prepared/{w-min,identity,w-max}.npy (for `sad train --transform`) and alignment.json. "
            + "`sad reproduce fig8` then trains and measures SW₂ / MSW₂ in the same directory.")

    @Option(
        help:
            ArgumentHelp(
                "Dataset (fashion-mnist, idx:PATH, cifar:PATH[,PATH], png:DIR, PATH.npy); the config is chosen by "
                    + "image size.")
    )
    var data = "fashion-mnist"

    @Option(help: "Profile for the number of images and networks: quick, cpu, paper.")
    var profile: Profile = .cpu

    @Option(help: "Run directory.")
    var out = "runs/fig8-cpu"

    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        try threadOptions.apply()
        let p = profile
        // The recipes' default, so that `sad reproduce fig8` resumes it.
        let options = RecipeOptions(data: data == "fashion-mnist" ? nil : data)
        let sweep = Sweep(
            recipe: try Recipes.make("fig8", profile: p, options: options),
            directory: RunDirectory(
                path: out,
                log: {
                    print($0); fflush(stdout)
                }),
            options: options, version: sadVersion)
        try sweep.prepare()
        let path = "\(out)/prepared/alignment.json"
        let alpha = try AlignmentRecipe.Prediction.read(path).alpha
        print(
            String(
                format: "α(W_min) = %.6g\nα(I)     = %.6g\nα(W_max) = %.6g\nTheorem 2 bounds: [%.6g, %.6g]",
                alpha.wMin, alpha.identity, alpha.wMax, alpha.theorem2Min, alpha.theorem2Max))
        print(
            "Prediction: W_min easiest, then I, then W_max. Transforms: \(out)/prepared/. Train and measure: "
                + "sad reproduce fig8 --profile \(profile.rawValue) --data \(data) --out \(out)"
        )
    }
}
