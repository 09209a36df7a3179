import Foundation
import Formats
import Tensors

/// The top-k SADs of a matrix-free sketch (``GeometrySketch``) with their error estimates;
/// written as vecs.npy (k·groups, C, H, W) float32, vals.npy (k·groups) float64,
/// sketch.json, manifest.json and summary.txt (then complete.json).
public struct SketchResult {
    public let spec: GeometrySpec
    public let k: Int, oversampling: Int, passes: Int
    /// Top-k eigenvalues of K̂ (descending) and their vectors (k, M), unit rows.
    public let values: [Double]
    public let vectors: [Double]
    /// ‖K̂u − θu‖ per Ritz pair (passes ≥ 2); nil for single-pass Nyström.
    public let residuals: [Double]?
    /// tr K̂, exact from the networks' features.
    public let kernelTrace: Double
    /// Single pass: the expected trace-norm error bound (1 + k/(ℓ − k − 1))·(tr K̂ − Σ λ_i).
    public let nystromBound: Double?
    /// Top-k subspace overlap (mean squared cosine) of the two halves' sketches.
    public let halfOverlap: Double
    public let networks: [Int]
    /// All ℓ Ritz values (passes ≥ 2), for the gaps.
    public var ritzValues: [Double] = []

    /// The Ritz gap of SAD i: the distance of θ_i to the nearest other Ritz value.
    public func gap(_ i: Int) -> Double {
        let others = ritzValues.enumerated().filter { $0.offset != i }.map { abs($0.element - values[i]) }
        return others.min() ?? .infinity
    }

    public var summary: String {
        let f = spec.factorization!
        var lines = [
            "\(spec.model), estimator \(spec.estimator) (factored, \(f.groups)-fold), probe \(spec.probe), "
                + "seed \(spec.seed)",
            "matrix-free sketch: top \(k) of M = \(f.positions) (D = \(spec.dimension)), "
                + "ℓ = \(k + oversampling) columns, "
                + "\(passes) pass\(passes == 1 ? "" : "es") over \(networks.reduce(0, +)) networks "
                + "(halves \(networks[0]) + \(networks[1])); K never formed",
            String(format: "tr K̂ %.6g; top-%d split-half subspace overlap %.4f", kernelTrace, k, halfOverlap),
        ]
        if let nystromBound {
            lines.append(
                String(
                    format: "single-pass Nyström: expected trace-norm error ≤ %.4g (%.2f%% of tr K̂)", nystromBound,
                    100 * nystromBound / kernelTrace))
        }
        lines.append("  SAD   eigenvalue   residual ‖K̂u − θu‖   angle ≲ ‖r‖/gap")
        for i in 0..<k {
            if let r = residuals?[i] {
                lines.append(String(format: "  %3d  %11.6g   %11.3g          %8.3g", i, values[i], r, r / gap(i)))
            } else {
                lines.append(String(format: "  %3d  %11.6g", i, values[i]))
            }
        }
        if f.groups > 1 {
            lines.append(
                "each eigenvalue is exactly \(f.groups)-fold in D-space: vecs.npy holds \(f.groups) rows per SAD "
                    + "(P_g u), defined only up to a rotation within the group")
        }
        return lines.joined(separator: "\n")
    }

    /// Compares the top-k with a dense result of the same networks (a `sad geometry` output
    /// directory): the top-k·groups subspace overlap (mean squared cosine of the principal
    /// angles) and the largest eigenvalue error relative to λ_k.
    public func compare(denseDirectory dir: String) throws -> (overlap: Double, eigenvalueError: Double) {
        let f = spec.factorization!
        let d = spec.dimension, g = f.groups, rows = k * g
        let vals = try Npy.read(dir + "/vals.npy").doubles
        let vecs = try Npy.read(dir + "/vecs.npy")
        guard vals.count == d, vecs.shape == [d] + spec.shape else {
            throw FormatError(
                file: dir + "/vecs.npy", field: "shape", expected: "\([d] + spec.shape) (this sketch's D)",
                found: "\(vecs.shape)")
        }
        let dense = vecs.doubles
        try FormatError.requireFinite(dense + vals, file: dir, field: "vals/vecs")
        var mine = [Double](repeating: 0, count: rows * d)
        for i in 0..<k {
            for group in 0..<g {
                for p in 0..<f.positions {
                    mine[(i * g + group) * d + f.index(group: group, position: p)] = vectors[i * f.positions + p]
                }
            }
        }
        let overlap = GeometrySketch.subspaceOverlap(mine, Array(dense.prefix(rows * d)), rows: d, k: rows)
        let error = (0..<k).map { abs(values[$0] - vals[$0 * g]) }.max()! / abs(vals[(k - 1) * g])
        return (overlap, error)
    }

    /// Writes the result files, then the completion marker.
    public func write(to directory: String, extra: [String: Any] = [:]) throws {
        let f = spec.factorization!
        let m = f.positions, d = spec.dimension, g = f.groups
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        CompletionManifest.invalidate(directory)
        var rows = [Float](repeating: 0, count: k * g * d)
        for i in 0..<k {
            for group in 0..<g {
                let r = (i * g + group) * d
                for p in 0..<m { rows[r + f.index(group: group, position: p)] = Float(vectors[i * m + p]) }
            }
        }
        try Npy.write(NDArray(shape: [k * g] + spec.shape, float32: rows), to: "\(directory)/vecs.npy")
        try Npy.write(
            NDArray(shape: [k * g], float64: values.flatMap { Array(repeating: $0, count: g) }),
            to: "\(directory)/vals.npy")
        var report: [String: Any] = [
            "k": k, "oversampling": oversampling, "passes": passes, "values": values, "kernel_trace": kernelTrace,
            "half_subspace_overlap": halfOverlap, "networks_per_half": networks,
        ]
        if let residuals {
            report["residuals"] = residuals
            report["angle_estimates"] = (0..<k).map { residuals[$0] / gap($0) }
            report["ritz_values"] = ritzValues
        }
        if let nystromBound { report["nystrom_trace_norm_bound"] = nystromBound }
        let json = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(json), to: "\(directory)/sketch.json")
        var manifest: [String: Any] = [
            "spec": try JSONSerialization.jsonObject(with: try JSONEncoder.sorted.encode(spec)),
            "method":
                passes == 1
                ? "single-pass Nyström sketch of K̂ (Tropp et al. 2017), Gaussian test matrix"
                : "randomized subspace iteration (\(passes) passes) with Rayleigh–Ritz; residuals exact",
            "vecs": "float32 (k·groups, C, H, W): row i·groups + g is P_g u_i; descending",
            "vals": "float64 (k·groups): each top-k eigenvalue of G repeated groups times",
            "producer": "ScoreAnisotropy sad",
        ]
        for (key, v) in extra { manifest[key] = v }
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data), to: "\(directory)/manifest.json")
        try AtomicFile.write(text: summary + "\n", to: "\(directory)/summary.txt")
        try CompletionManifest.write(
            directory: directory, files: ["vecs.npy", "vals.npy", "sketch.json", "manifest.json", "summary.txt"],
            identity: spec.identity.hash + ":sketch:\(k):\(oversampling):\(passes)")
    }
}
