import Foundation
import Formats
import Tensors

/// Reading G back from a result directory, whatever its structure.
public enum GeometryFiles {
    /// G (D×D, row-major) of a result directory: geometry.npy when it was written, else
    /// expanded from a factored result's kernel.npy (M, M) and layout.npy (groups, M):
    /// G[layout[g, p], layout[g, q]] = K[p, q], zero across features. Every field is checked.
    public static func geometry(directory: String, dimension d: Int) throws -> [Double] {
        let dense = "\(directory)/geometry.npy"
        if FileManager.default.fileExists(atPath: dense) {
            let g = try Npy.read(dense)
            guard case let .float64(values) = g.storage, g.shape == [d, d] else {
                throw FormatError(
                    file: dense, field: "shape", expected: "float64 [\(d), \(d)]",
                    found: "\(g.dtype.rawValue) \(g.shape)")
            }
            try FormatError.requireFinite(values, file: dense, field: "geometry")
            return values
        }
        let kernelPath = "\(directory)/kernel.npy", layoutPath = "\(directory)/layout.npy"
        guard FileManager.default.fileExists(atPath: kernelPath) else {
            throw FormatError(
                file: dense, field: "file", expected: "geometry.npy, or kernel.npy and layout.npy", found: "neither")
        }
        let kernelArray = try Npy.read(kernelPath), layoutArray = try Npy.read(layoutPath)
        guard layoutArray.shape.count == 2, let layout = layoutArray.integers else {
            throw FormatError(
                file: layoutPath, field: "shape", expected: "int64 (groups, M)", found: "\(layoutArray.shape)")
        }
        let groups = layoutArray.shape[0], m = layoutArray.shape[1]
        guard groups * m == d else {
            throw FormatError(
                file: layoutPath, field: "shape", expected: "groups × M = D = \(d)", found: "\(layoutArray.shape)")
        }
        guard case let .float64(k) = kernelArray.storage, kernelArray.shape == [m, m] else {
            throw FormatError(
                file: kernelPath, field: "shape", expected: "float64 [\(m), \(m)]",
                found: "\(kernelArray.dtype.rawValue) \(kernelArray.shape)")
        }
        try FormatError.requireFinite(k, file: kernelPath, field: "kernel")
        var seen = [Bool](repeating: false, count: d)
        for v in layout {
            guard v >= 0, v < d, !seen[v] else {
                throw FormatError(
                    file: layoutPath, field: "layout", expected: "a permutation of 0..<\(d)", found: "\(v)")
            }
            seen[v] = true
        }
        var g = [Double](repeating: 0, count: d * d)
        for group in 0..<groups {
            for p in 0..<m {
                let row = layout[group * m + p] * d
                for q in 0..<m { g[row + layout[group * m + q]] = k[p * m + q] }
            }
        }
        return g
    }
}
