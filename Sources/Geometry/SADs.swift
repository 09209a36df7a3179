import Foundation
import Formats
import Tensors

/// The result of a geometry estimate: G_F, its eigen-decomposition (the SADs, descending,
/// the reference's layout) and the stability diagnostics; written as
/// vecs.npy (D, C, H, W) float32, vals.npy (D) float64, geometry.npy (D, D) float64,
/// manifest.json, diagnostics.json and summary.txt.
public struct SADs {
    public let spec: GeometrySpec
    /// Row-major D×D.
    public let geometry: [Double]
    public let eigen: SymmetricEigen<Double>
    public let diagnostics: StabilityDiagnostics

    /// Finalises a complete state.
    public init(state: GeometryState) throws {
        guard state.isComplete else {
            let missing = state.done.filter { !$0 }.count
            throw FormatError(
                file: "state", field: "chunks", expected: "all \(state.done.count) chunks computed",
                found: "\(missing) missing (merge the other shards or resume the run)")
        }
        let spec = state.spec
        self.spec = spec
        guard state.accumulator.networks.allSatisfy({ $0 > 0 }) else {
            throw FormatError(
                file: "state", field: "chunks", expected: "networks in both halves (at least two chunks)",
                found: "halves of \(state.accumulator.networks)")
        }
        let d = spec.dimension
        geometry = state.accumulator.mean()
        guard geometry.contains(where: { $0 != 0 }) else { throw GeometryRangeError.zero }
        eigen = try SymmetricEigen<Double>(symmetric: geometry, n: d)
        let a = try SymmetricEigen<Double>(symmetric: state.accumulator.mean(half: 0), n: d)
        let b = try SymmetricEigen<Double>(symmetric: state.accumulator.mean(half: 1), n: d)
        let chunkNetworks = (0..<spec.chunks).map {
            min(spec.networks, ($0 + 1) * spec.chunkSize) - $0 * spec.chunkSize
        }
        diagnostics = StabilityDiagnostics.compute(
            total: eigen, halfA: a, halfB: b, chunkTrace: state.chunkTrace,
            chunkWeight: state.chunkWeight, chunkWeightSquared: state.chunkWeightSquared,
            chunkNetworks: chunkNetworks, networksPerHalf: state.accumulator.networks)
    }

    /// A closed-form geometry (no Monte-Carlo noise: halves equal the total).
    public init(spec: GeometrySpec, exactGeometry g: [Double]) throws {
        self.spec = spec
        try FiniteCheck.check(g, tensor: "G", context: "closed-form geometry")
        guard g.contains(where: { $0 != 0 }) else { throw GeometryRangeError.zero }
        geometry = g
        let e = try SymmetricEigen<Double>(symmetric: g, n: spec.dimension)
        eigen = e
        let trace = (0..<spec.dimension).reduce(0.0) { $0 + g[$1 * spec.dimension + $1] }
        diagnostics = StabilityDiagnostics.compute(
            total: e, halfA: e, halfB: e, chunkTrace: [trace], chunkWeight: [1],
            chunkWeightSquared: [1], chunkNetworks: [1], networksPerHalf: [0, 0])
    }

    /// Default indices shown in summaries: 0, D/8 − 1, 2D/8 − 1, …, D − 1.
    public var summaryIndices: [Int] {
        let d = spec.dimension
        // Distinct and in range for any D ≥ 1 (D < 8 would otherwise give index −1).
        var seen = Set<Int>()
        return ([0] + (1...8).map { max(0, $0 * d / 8 - 1) }).filter { $0 < d && seen.insert($0).inserted }
    }

    public var summary: String {
        "\(spec.model), init \(spec.initScheme), estimator \(spec.estimator), probe \(spec.probe), seed \(spec.seed)\n"
            + diagnostics.summary(values: eigen.values, indices: summaryIndices)
    }

    /// Writes the result files, then the completion marker (`complete.json` with every file's
    /// hash) last: a directory without a valid marker is incomplete and is recomputed.
    public func write(to directory: String, extra: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        CompletionManifest.invalidate(directory)
        let d = spec.dimension
        try Npy.write(
            NDArray(shape: [d] + spec.shape, float32: eigen.vectors.map { Float($0) }), to: "\(directory)/vecs.npy")
        try Npy.write(NDArray(shape: [d], float64: eigen.values), to: "\(directory)/vals.npy")
        try Npy.write(NDArray(shape: [d, d], float64: geometry), to: "\(directory)/geometry.npy")
        var manifest: [String: Any] = [
            "spec": (try JSONSerialization.jsonObject(with: try JSONEncoder.sorted.encode(spec))),
            "ordering":
                "descending: row k of vecs.npy is the eigenvector of vals[k]; SAD 0 has the largest eigenvalue "
                + "(reference convention; the paper orders ascending)",
            "vecs": "float32 (D, C, H, W), unit rows, sign arbitrary",
            "vals": "float64 (D)",
            "geometry": "float64 (D, D): the estimate of G_F = E[F Fᵀ], F = ε̂/σ_t",
            "differences_from_reference": [
                "G accumulated in Float64 (exact 128-bit fixed-point sum of per-chunk Float64 sums) and "
                + "diagonalised in Float64; the reference uses float32",
                "random numbers from Philox streams keyed by (seed, purpose, network index), not torch.manual_seed",
                "exp in SiLU/GELU/softmax is an 8-lane polynomial (~2 ulp), GELU is computed as x·σ(2u): "
                + "float32 rounding differs from PyTorch's (every reference fixture passes)",
                spec.estimator == "reference"
                    ? "estimator: as geometry.py (uniform t, weight inside F)"
                    : "estimator \(spec.estimator): same expectation as geometry.py, lower variance (importance-sampled t"
                        + (spec.estimator == "marginal" ? ", output layer integrated out analytically)" : ")"),
            ],
            "producer": "ScoreAnisotropy sad",
        ]
        for (k, v) in extra { manifest[k] = v }
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data), to: "\(directory)/manifest.json")
        try AtomicFile.write(Array(try JSONEncoder.sorted.encode(diagnostics)), to: "\(directory)/diagnostics.json")
        try AtomicFile.write(text: summary + "\n", to: "\(directory)/summary.txt")
        try CompletionManifest.write(directory: directory, files: Self.resultFiles, identity: spec.identity.hash)
    }

    /// The files of a result directory, in the order they are written.
    public static let resultFiles = [
        "vecs.npy", "vals.npy", "geometry.npy", "manifest.json", "diagnostics.json", "summary.txt",
    ]
}
