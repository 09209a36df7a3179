import Foundation
import Formats
import Networks
import Reports
import Tensors

/// Fig. 3: the iDDPM U-Net's response to a centred impulse under a symmetric init, nearest
/// vs area resampling. The paper does not state its symmetric init; ours averages each kernel
/// over the 8 symmetries of the square and zeroes biases (`InitScheme.symmetric`). The
/// impulse is the centred 2×2 block (a 16×16 image has no centre pixel), and the response is
/// ε̂(impulse). Area resampling keeps the response symmetric under flips; nearest
/// (stride-2 convolution) breaks the flip symmetry — the asymmetry the paper shows. Area's
/// small residual (≈ 0.02–0.04, and the same size for the transpose, a symmetry both keep
/// exactly) is float32 rounding: the time embedding adds a per-channel constant right before
/// one-channel GroupNorms, so the impulse's small variation on a large constant is normalised
/// up along with its rounding error.
public struct ImpulseResponseRecipe: Recipe {
    public let name = "fig3"
    public let title = "impulse response with a symmetric init: nearest vs area"
    public let profile: Profile
    public let seeds: Int

    public init(profile: Profile, options: RecipeOptions) {
        self.profile = profile
        seeds = options.seeds ?? [.quick: 1, .cpu: 8, .paper: 32][profile]!
    }

    /// The stated settings (sweep.json, result.json, the report).
    public struct Settings: Codable, Equatable, Sendable {
        public var config: String
        public var `init`: String
        public var impulse: String
        public var response: String
        public var seeds: Int
    }

    public var settings: Settings {
        Settings(
            config: "1x16x16-iddpm", init: "symmetric (kernels averaged over the 8 square symmetries, zero biases)",
            impulse: "centred 2×2 block of ones", response: "ε̂(impulse), t = 0 (the U-Net ignores t)", seeds: seeds)
    }

    public func prepare(in run: RunDirectory) throws {}

    public func units() throws -> [ExperimentUnit] {
        ["nearest", "area"].flatMap { i in (0..<seeds).map { ExperimentUnit(i, 0, seed: $0) } }
    }

    static func asymmetry(_ r: [Float], _ h: Int, _ w: Int) -> (flipH: Double, flipV: Double, transpose: Double) {
        var nh = 0.0, nv = 0.0, nt = 0.0, norm = 0.0
        for y in 0..<h {
            for x in 0..<w {
                let v = Double(r[y * w + x])
                norm += v * v
                let a = v - Double(r[y * w + (w - 1 - x)]), b = v - Double(r[(h - 1 - y) * w + x]),
                    c = v - Double(r[x * w + y])
                nh += a * a; nv += b * b; nt += c * c
            }
        }
        let s = max(norm, .leastNormalMagnitude)
        return ((nh / s).squareRoot(), (nv / s).squareRoot(), (nt / s).squareRoot())
    }

    /// The relative asymmetries ‖R − gR‖/‖R‖ of a response under three symmetries of the square.
    public struct Asymmetry: Codable, Sendable {
        public var asymmetryFlipHorizontal: Double
        public var asymmetryFlipVertical: Double
        public var asymmetryTranspose: Double
    }

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> Asymmetry {
        let config = try BuiltinConfigs.load("1x16x16-iddpm").with(
            interpolation: Interpolation(rawValue: unit.experiment)!)
        let net = ScoreNetwork(makeArchitecture(config), seed: UInt64(unit.seed), scheme: .symmetric)
        var impulse = Tensor(zeros: [1] + config.shape)
        for y in 7...8 { for x in 7...8 { impulse.data[y * 16 + x] = 1 } }
        // ε̂(impulse) itself: subtracting ε̂(0) would add the rounding noise of a constant input,
        // which GroupNorm amplifies (spec: constant maps are ill-conditioned), and is not symmetric.
        let r = net.epsilon(impulse, timesteps: [0]).data
        try FileManager.default.createDirectory(atPath: run.unitDirectory(unit), withIntermediateDirectories: true)
        try Npy.write(Tensor(shape: config.shape, data: r), to: "\(run.unitDirectory(unit))/response.npy")
        let a = Self.asymmetry(r, 16, 16)
        return Asymmetry(
            asymmetryFlipHorizontal: a.flipH, asymmetryFlipVertical: a.flipV, asymmetryTranspose: a.transpose)
    }

    /// result.json: the mean asymmetries per resampling ("nearest", "area") over the seeds.
    public typealias Result = [String: Asymmetry]

    /// The mean asymmetries per resampling over the seeds.
    public func aggregate(_ results: [ExperimentUnit: Asymmetry], in run: RunDirectory) throws -> Result {
        var out: Result = [:]
        for interp in ["nearest", "area"] {
            let rs = (0..<seeds).compactMap { results[ExperimentUnit(interp, 0, seed: $0)] }
            out[interp] = Asymmetry(
                asymmetryFlipHorizontal: Statistics.mean(rs.map(\.asymmetryFlipHorizontal)),
                asymmetryFlipVertical: Statistics.mean(rs.map(\.asymmetryFlipVertical)),
                asymmetryTranspose: Statistics.mean(rs.map(\.asymmetryTranspose)))
        }
        return out
    }

    /// Nearest resampling breaks the flip symmetry by at least 10× more than area resampling.
    public func verdict(_ summary: Result) throws -> [Claim] {
        let flip = { (i: String) in summary[i]?.asymmetryFlipHorizontal ?? .nan }
        let transpose = { (i: String) in summary[i]?.asymmetryTranspose ?? .nan }
        let near = flip("nearest"), area = flip("area")
        return [
            Claim(
                id: "fig3.nearest-asymmetric",
                statement: "With a symmetric initialisation, nearest resampling (stride-2 convolution) makes the "
                    + "impulse response visibly asymmetric, while area resampling keeps it symmetric.",
                holds: near.isFinite && area.isFinite ? near > 10 * max(area, 1e-7) : nil,
                evidence: Claim.Evidence(
                    summary: "‖R − flipₕR‖/‖R‖: nearest \(Statistics.format(near, 3)), area "
                        + "\(Statistics.format(area, 3)) (transpose, a symmetry both keep: nearest "
                        + "\(Statistics.format(transpose("nearest"), 2)), area "
                        + "\(Statistics.format(transpose("area"), 2))); "
                        + "mean over \(seeds) seed\(seeds == 1 ? "" : "s").",
                    test: "nearest's flip asymmetry at least 10× area's",
                    values: ["flip_nearest": near, "flip_area": area]))
        ]
    }

    /// The table, and each response beside its difference from its mirror image (seed 0).
    public func figures(_ summary: Result, claims: [Claim], in run: RunDirectory) throws -> RecipeFigures {
        var rows: [[String]] = [
            [
                "resampling", "‖R − flipₕR‖/‖R‖", "‖R − flipᵥR‖/‖R‖",
                "‖R − Rᵀ‖/‖R‖", "seeds",
            ]
        ]
        var images: [Float] = []
        for interp in ["nearest", "area"] {
            guard let mean = summary[interp] else { throw RecipeError("\(name): no summary for \(interp)") }
            let means = [mean.asymmetryFlipHorizontal, mean.asymmetryFlipVertical, mean.asymmetryTranspose]
            rows.append([interp] + means.map { Statistics.format($0, 3) } + ["\(seeds)"])
            let path = "\(run.unitDirectory(ExperimentUnit(interp, 0, seed: 0)))/response.npy"
            let r = try Npy.read(path).tensor(file: path, field: "response", converting: true)
            // A unit file read back is untrusted: the grid below indexes 16 × 16 values.
            guard r.count == 256, r.data.allSatisfy({ $0.isFinite }) else {
                throw FormatError(
                    file: path, field: "response", expected: "256 finite values (1 × 16 × 16)",
                    found: "\(r.shape)")
            }
            images += r.data
            images += (0..<256).map { k in r.data[k] - r.data[(k / 16) * 16 + 15 - k % 16] }
        }
        let near = summary["nearest"]?.asymmetryFlipHorizontal ?? .nan
        let area = summary["area"]?.asymmetryFlipHorizontal ?? .nan
        let verdict =
            "Flip asymmetry of the impulse response: nearest \(Statistics.format(near, 3)), area "
            + "\(Statistics.format(area, 3)). "
            + claims.map { "\($0.id): \($0.verdict)" }.joined(separator: "; ") + "."
        let grid = ImageGrid.png(Tensor(shape: [4, 1, 16, 16], data: images), columns: 4, zoom: 8, scaling: .symmetric)
        return RecipeFigures(
            sections: [
                ReportSection(
                    title: "Impulse response (Fig. 3)", paragraphs: [verdict], table: rows,
                    figures: [
                        .png(
                            name: "fig3-responses", bytes: grid,
                            caption:
                                "Left to right: nearest response, nearest R − flipₕR, area response, area R − "
                                + "flipₕR (seed 0; each image scaled to its own max |value|)."
                        )
                    ])
            ],
            headline: [verdict])
    }
}
