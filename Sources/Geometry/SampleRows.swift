import Formats
import Tensors

/// F vectors computed elsewhere (a user's PyTorch loop: one row per network/probe draw),
/// with optional weights, for `sad geometry --samples`: G = (1/M) Σ_i w_i F_i F_iᵀ goes
/// through the same exact accumulator, chunks, shards, merge and diagnostics as the engine's
/// own estimates (a chunk is `chunkSize` consecutive rows).
public struct SampleRows: Sendable {
    /// Row-major (M, D), Float64.
    let rows: [Double]
    /// (M), or nil for weight 1.
    let weights: [Double]?
    public let count: Int
    /// (C, H, W) of one row.
    public let shape: [Int]
    public let identityFields: [(String, String)]

    /// Reads `path` (.npy, (M, C, H, W) or (M, D), any float type) and optionally `weights` (.npy, (M)).
    public static func load(_ path: String, weights weightsPath: String?) throws -> SampleRows {
        let a = try Npy.read(path)
        guard a.shape.count == 4 || a.shape.count == 2, a.shape[0] >= 2, a.shape.dropFirst().allSatisfy({ $0 >= 1 })
        else {
            throw FormatError(
                file: path, field: "shape", expected: "(M, C, H, W) or (M, D) with M ≥ 2 rows",
                found: "\(a.shape)")
        }
        let shape = a.shape.count == 4 ? Array(a.shape.dropFirst()) : [1, 1, a.shape[1]]
        let d = shape.reduce(1, *)
        guard d <= GeometrySpec.maxDimension, shape.allSatisfy({ $0 <= 4096 }) else {
            throw FormatError(
                file: path, field: "shape",
                expected: "D ≤ \(GeometrySpec.maxDimension) (give (M, C, H, W) when D > 4096)",
                found: "\(a.shape)")
        }
        let rows = a.doubles
        try FormatError.requireFinite(rows, file: path, field: "rows")
        var w: [Double]?
        var fields = [
            ("samples.file", path), ("samples.sha256", SHA256.hex(raw: rows)), ("samples.shape", "\(a.shape)"),
        ]
        if let weightsPath {
            let wa = try Npy.read(weightsPath)
            guard wa.shape == [a.shape[0]] else {
                throw FormatError(
                    file: weightsPath, field: "shape", expected: "(\(a.shape[0])) (one weight per row)",
                    found: "\(wa.shape)")
            }
            let values = wa.doubles
            try FormatError.requireFinite(values, file: weightsPath, field: "weights")
            if let bad = values.first(where: { $0 < 0 }) {
                throw FormatError(file: weightsPath, field: "weights", expected: "weights ≥ 0", found: "\(bad)")
            }
            w = values
            fields.append(("samples.weights_sha256", SHA256.hex(raw: values)))
        }
        return SampleRows(rows: rows, weights: w, count: a.shape[0], shape: shape, identityFields: fields)
    }

    /// Σ w_i F_i F_iᵀ (upper triangle) over rows `range`, with the chunk's statistics.
    func chunk(
        _ range: Range<Int>, dimension d: Int
    )
        -> (sum: [Double], networks: Int, trace: Double, weight: Double, weightSquared: Double)
    {
        var scaled = [Double](repeating: 0, count: range.count * d)
        var trace = 0.0, weight = 0.0, weightSquared = 0.0
        for (j, i) in range.enumerated() {
            let w = weights?[i] ?? 1
            let s = w.squareRoot()
            var tr = 0.0
            for q in 0..<d {
                let v = rows[i * d + q] * s
                scaled[j * d + q] = v
                tr += v * v
            }
            trace += tr
            weight += w
            weightSquared += w * w
        }
        var sum = [Double](repeating: 0, count: d * d)
        scaled.withUnsafeBufferPointer { r in
            sum.withUnsafeMutableBufferPointer { s in
                BLAS.dsyrk(
                    .transpose, n: d, k: range.count, a: r.baseAddress!, lda: d, beta: 1, c: s.baseAddress!, ldc: d)
            }
        }
        return (sum, range.count, trace, weight, weightSquared)
    }
}
