import Diffusion
import Foundation
import Formats
import Tensors

/// The result of a geometry estimate: G_F, its eigen-decomposition (the SADs, descending,
/// the reference's layout) and the stability diagnostics; written as
/// vecs.npy (D, C, H, W) float32, vals.npy (D) float64, geometry.npy (D, D) float64,
/// manifest.json, diagnostics.json and summary.txt.
public struct SADs {
    public let spec: GeometrySpec
    /// The diagonalised matrix: G (D×D, row-major) for a full estimate, the block K (M×M) for
    /// a factored one (``GeometrySpec/factorization``).
    public let kernel: [Double]
    /// The eigendecomposition of ``kernel`` (descending).
    public let kernelEigen: SymmetricEigen<Double>
    public let diagnostics: StabilityDiagnostics

    /// G (D×D, row-major), expanded from K for a factored estimate.
    public var geometry: [Double] { spec.factorization?.expand(kernel: kernel) ?? kernel }
    /// The SADs in D-space (descending; a factored estimate's come in exact groups).
    public var eigen: SymmetricEigen<Double> { spec.factorization?.expand(eigen: kernelEigen) ?? kernelEigen }
    /// The D eigenvalues, descending.
    public var values: [Double] {
        guard let f = spec.factorization else { return kernelEigen.values }
        return kernelEigen.values.flatMap { Array(repeating: $0, count: f.groups) }
    }

    /// Finalises a complete state.
    public init(state: GeometryState) throws {
        spec = state.spec
        let (means, eigens) = try Self.decompose(state, totalVectors: true)
        kernel = means[0]
        kernelEigen = eigens[0]
        diagnostics = Self.diagnostics(state, eigens)
    }

    /// The stability diagnostics and the D eigenvalues of a complete state without the
    /// total's eigenvectors (its eigenvalues only): what a growing accumulation checks at each
    /// step (``TimeToStable``), for about two thirds of the eigensolver time of the full result.
    static func diagnose(state: GeometryState) throws -> (diagnostics: StabilityDiagnostics, values: [Double]) {
        let (_, eigens) = try decompose(state, totalVectors: false)
        let groups = state.spec.factorization?.groups ?? 1
        return (diagnostics(state, eigens), eigens[0].values.flatMap { Array(repeating: $0, count: groups) })
    }

    /// The means (total, half 0, half 1) and their decompositions (the total's without
    /// vectors unless `totalVectors`).
    private static func decompose(
        _ state: GeometryState, totalVectors: Bool
    ) throws -> ([[Double]], [SymmetricEigen<Double>]) {
        guard state.isComplete else {
            let missing = state.done.filter { !$0 }.count
            throw FormatError(
                file: "state", field: "chunks", expected: "all \(state.done.count) chunks computed",
                found: "\(missing) missing (merge the other shards or resume the run)")
        }
        guard state.accumulator.networks.allSatisfy({ $0 > 0 }) else {
            throw FormatError(
                file: "state", field: "chunks", expected: "networks in both halves (at least two chunks)",
                found: "halves of \(state.accumulator.networks)")
        }
        let spec = state.spec
        let side = spec.factorization?.positions ?? spec.dimension
        let means = [nil, 0, 1].map { state.kernelMean(half: $0) }
        guard means[0].contains(where: { $0 != 0 }) else { throw GeometryRangeError.zero }
        // The three decompositions are independent: one per thread (each LAPACK call is
        // single-threaded, so the result does not depend on the thread count). The halves
        // first, so that a values-only total runs beside whichever finishes first.
        // A symmetry-averaged K is block diagonal in the symmetric/antisymmetric basis of the
        // group's first involution: two half-size problems each (a quarter of the time).
        let split = spec.symmetry.map {
            InvolutionSplit(
                $0, planes: spec.factorization == nil ? spec.shape[0] : 1, height: spec.shape[1], width: spec.shape[2])
        }
        var eigens = [Result<SymmetricEigen<Double>, Error>?](repeating: nil, count: 3)
        eigens.withUnsafeMutableBufferPointer { out in
            let base = SharedPointer(out.baseAddress!)
            Parallel.forEach(3) { k in
                let i = (k + 1) % 3
                base.base[i] = Result {
                    if let split { return try split.eigen(means[i], vectors: i != 0 || totalVectors) }
                    if i == 0 && !totalVectors {
                        return SymmetricEigen(
                            values: try SymmetricEigen<Double>.values(symmetric: means[0], n: side), vectors: [])
                    }
                    return try SymmetricEigen<Double>(symmetric: means[i], n: side)
                }
            }
        }
        return (means, try eigens.map { try $0!.get() })
    }

    private static func diagnostics(_ state: GeometryState, _ eigens: [SymmetricEigen<Double>]) -> StabilityDiagnostics
    {
        let spec = state.spec
        let chunkNetworks = (0..<spec.chunks).map {
            min(spec.networks, ($0 + 1) * spec.chunkSize) - $0 * spec.chunkSize
        }
        return StabilityDiagnostics.compute(
            total: eigens[0], halfA: eigens[1], halfB: eigens[2], chunkTrace: state.chunkTrace,
            chunkWeight: state.chunkWeight, chunkWeightSquared: state.chunkWeightSquared,
            chunkNetworks: chunkNetworks, networksPerHalf: state.accumulator.networks,
            replication: spec.factorization?.groups ?? 1)
    }

    /// A closed-form geometry (no Monte-Carlo noise: halves equal the total).
    public init(spec: GeometrySpec, exactGeometry g: [Double]) throws {
        self.spec = spec
        try FiniteCheck.check(g, tensor: "G", context: "closed-form geometry")
        guard g.contains(where: { $0 != 0 }) else { throw GeometryRangeError.zero }
        precondition(spec.factorization == nil, "a closed-form geometry is given in full")
        kernel = g
        let e = try SymmetricEigen<Double>(symmetric: g, n: spec.dimension)
        kernelEigen = e
        let trace = (0..<spec.dimension).reduce(0.0) { $0 + g[$1 * spec.dimension + $1] }
        diagnostics = StabilityDiagnostics.compute(
            total: e, halfA: e, halfB: e, chunkTrace: [trace], chunkWeight: [1],
            chunkWeightSquared: [1], chunkNetworks: [1], networksPerHalf: [0, 0])
    }

    /// Default indices shown in summaries: 0, D/8 − 1, 2D/8 − 1, …, D − 1.
    public var summaryIndices: [Int] { Self.summaryIndices(dimension: spec.dimension) }

    static func summaryIndices(dimension d: Int) -> [Int] {
        // Distinct and in range for any D ≥ 1 (D < 8 would otherwise give index −1).
        var seen = Set<Int>()
        return ([0] + (1...8).map { max(0, $0 * d / 8 - 1) }).filter { $0 < d && seen.insert($0).inserted }
    }

    public var summary: String { Self.summary(spec, diagnostics, values: values) }

    static func summary(_ spec: GeometrySpec, _ diagnostics: StabilityDiagnostics, values: [Double]) -> String {
        "\(spec.model), init \(spec.initScheme), estimator \(spec.estimator), probe \(spec.probe), seed \(spec.seed)\n"
            + (symmetryNote(spec).map { "symmetry: \($0)\n" } ?? "")
            + diagnostics.summary(values: values, indices: summaryIndices(dimension: spec.dimension))
    }

    /// What averaging over the spec's grid symmetry means for the result (nil: none).
    static func symmetryNote(_ spec: GeometrySpec) -> String? {
        spec.symmetry.map {
            "\($0.rawValue) (\($0.order) elements): G = P_g G P_gᵀ holds exactly for this architecture and probe, "
                + "so the estimate and each split half are averaged over the group (same expectation, less noise); "
                + ($0 == .transpose
                    ? "each SAD is symmetric or antisymmetric under the transpose"
                    : "each SAD transforms by an irreducible representation of the group (D4's two-dimensional "
                        + "one comes as exactly degenerate pairs)") + " (--symmetry none: the plain estimate)"
        }
    }

    /// Writes the result files, then the completion marker (`complete.json` with every file's
    /// hash) last: a directory without a valid marker is incomplete and is recomputed.
    public func write(to directory: String, extra: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        CompletionManifest.invalidate(directory)
        let d = spec.dimension
        try Npy.write(NDArray(shape: [d] + spec.shape, float32: vectorsFloat32()), to: "\(directory)/vecs.npy")
        try Npy.write(NDArray(shape: [d], float64: values), to: "\(directory)/vals.npy")
        if writesDenseGeometry {
            try Npy.write(NDArray(shape: [d, d], float64: geometry), to: "\(directory)/geometry.npy")
        }
        if let f = spec.factorization {
            let m = f.positions
            try Npy.write(NDArray(shape: [m, m], float64: kernel), to: "\(directory)/kernel.npy")
            let layout = (0..<d).map { Int64(f.index(group: $0 / m, position: $0 % m)) }
            try Npy.write(NDArray(shape: [f.groups, m], int64: layout), to: "\(directory)/layout.npy")
        }
        var manifest: [String: Any] = [
            "spec": (try JSONSerialization.jsonObject(with: try JSONEncoder.sorted.encode(spec))),
            "ordering":
                "descending: row k of vecs.npy is the eigenvector of vals[k]; SAD 0 has the largest eigenvalue "
                + "(reference convention; the paper orders ascending)",
            "vecs": "float32 (D, C, H, W), unit rows, sign arbitrary",
            "vals": "float64 (D)",
            "geometry": "float64 (D, D): the estimate of G_F = E[F Fᵀ], F = ε̂/σ_t"
                + (writesDenseGeometry
                    ? ""
                    : " — not written above D = \(GeometrySpec.denseGeometryFileLimit): "
                        + "G[layout[g, p], layout[g, q]] = kernel[p, q], zero across features"),
            "differences_from_reference": [
                "G accumulated in Float64 (exact 128-bit fixed-point sum of per-chunk Float64 sums) and "
                    + "diagonalised in Float64; the reference uses float32",
                "random numbers from Philox streams keyed by (seed, purpose, network index), not torch.manual_seed",
                "exp in SiLU/GELU/softmax is an 8-lane polynomial (~2 ulp), GELU is computed as x·σ(2u): "
                    + "float32 rounding differs from PyTorch's (every reference fixture passes)",
                spec.estimator == "reference"
                    ? "estimator: as geometry.py (uniform t, weight inside F)"
                    : "estimator \(spec.estimator): same expectation as geometry.py, lower variance "
                        + "(importance-sampled t"
                        + (spec.estimator == "marginal" ? ", output layer integrated out analytically)" : ")"),
            ],
            "producer": "ScoreAnisotropy sad",
        ]
        if let f = spec.factorization {
            manifest["structure"] =
                "factored: G = Σ_g P_g K P_gᵀ over \(f.groups) replicated output features (the output layer's "
                + "weights are iid across them); kernel.npy float64 (M, M) = K, M = \(f.positions); layout.npy int64 "
                + "(groups, M): the D-index of position m of feature g. Every eigenvalue is exactly \(f.groups)-fold; "
                + "row k·groups + g of vecs.npy is P_g u_k, one choice inside the group"
        }
        if let note = Self.symmetryNote(spec) { manifest["symmetry"] = note }
        if let trained = spec.trained {
            manifest["trained"] =
                "G over \(trained.count) given networks (not fresh initialisations): draw n uses network n mod "
                + "\(trained.count) with its own t and probe draws; " + trained.joined(separator: ", ")
        }
        if let band = spec.timestepRange {
            let sigma = spec.noiseSchedule.sqrtOneMinusAlphasCumprod
            manifest["timesteps"] =
                "t restricted to \(band[0]):\(band[1]) (σ_t \(String(format: "%.4g", sigma[band[0]])) to "
                + "\(String(format: "%.4g", sigma[band[1]]))), uniformly as the reference within the band"
        }
        for (k, v) in extra { manifest[k] = v }
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data), to: "\(directory)/manifest.json")
        try AtomicFile.write(Array(try JSONEncoder.sorted.encode(diagnostics)), to: "\(directory)/diagnostics.json")
        try AtomicFile.write(text: summary + "\n", to: "\(directory)/summary.txt")
        try CompletionManifest.write(directory: directory, files: resultFiles, identity: spec.identity.hash)
    }

    /// Whether geometry.npy (D×D) is written: always for a full estimate, up to
    /// ``GeometrySpec/denseGeometryFileLimit`` for a factored one.
    var writesDenseGeometry: Bool {
        spec.factorization == nil || spec.dimension <= GeometrySpec.denseGeometryFileLimit
    }

    /// The SADs as float32 rows (D, D), expanded from K's without a Float64 D×D copy.
    func vectorsFloat32() -> [Float] {
        guard let f = spec.factorization else { return kernelEigen.vectors.map { Float($0) } }
        let m = f.positions, d = f.dimension
        var out = [Float](repeating: 0, count: d * d)
        for k in 0..<m {
            for g in 0..<f.groups {
                let row = (k * f.groups + g) * d
                for p in 0..<m { out[row + f.index(group: g, position: p)] = Float(kernelEigen.vectors[k * m + p]) }
            }
        }
        return out
    }

    /// The files of a result directory, in the order they are written.
    public var resultFiles: [String] {
        ["vecs.npy", "vals.npy"] + (writesDenseGeometry ? ["geometry.npy"] : [])
            + (spec.factorization != nil ? ["kernel.npy", "layout.npy"] : [])
            + ["manifest.json", "diagnostics.json", "summary.txt"]
    }
}
