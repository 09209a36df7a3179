import CKernels
import Formats
import Tensors

/// Sliced and max-sliced Wasserstein-2 distances exactly as the reference's
/// `calculate_sliced_wassersteinp` (spec §6): for unit directions θ_l, d_l = (1/N) Σ_i
/// (sort(Aθ_l)_i − sort(Bθ_l)_i)², SW₂ = √(mean_l d_l), MSW₂ = max_l √d_l over the *same*
/// random directions (not an optimised max-sliced distance).
///
/// Projections are computed in Float32 by SGEMM as the reference does; each d_l is
/// accumulated in Float64; directions are processed in chunks (memory O(N·chunk), not the
/// reference's N×L) in parallel, and the per-direction values are reduced in a fixed order,
/// so results do not depend on the thread count.
public struct SlicedWasserstein: Codable, Equatable, Sendable {
    public var sw2: Double
    public var msw2: Double
    public var numProjections: Int
    /// Index of the direction attaining MSW₂.
    public var argmaxProjection: Int
    public var samples: Int
    public var dimension: Int

    enum CodingKeys: String, CodingKey {
        case sw2, msw2, numProjections = "num_projections", argmaxProjection = "argmax_projection", samples, dimension
    }

    static let chunk = 128

    /// Where the L unit directions come from.
    public enum Projections: Sendable {
        /// Explicit (L, D) unit rows.
        case explicit(Tensor)
        /// L directions drawn as ``randomProjections(count:dimension:seed:)`` does, generated
        /// chunk by chunk inside the workers: memory O(threads·chunk·D), never L×D (64·D
        /// directions of a 3×64×64 sample would be 38 GB).
        case random(count: Int, seed: UInt64)
    }

    /// - Parameters:
    ///   - a, b: (N, D) samples (any trailing shape is flattened), equal N.
    ///   - projections: (L, D) unit rows.
    /// - Returns: the distances and the per-direction squared 1-D W₂ (d_l).
    public static func compute(_ a: Tensor, _ b: Tensor, projections: Tensor) throws -> (SlicedWasserstein, [Double]) {
        try compute(a, b, directions: .explicit(projections))
    }

    public static func compute(
        _ a: Tensor, _ b: Tensor, directions: Projections
    ) throws -> (SlicedWasserstein, [Double]) {
        guard a.rank >= 2, b.rank >= 2 else {
            throw FormatError(
                file: "samples", field: "shape", expected: "(N, D) or (N, C, H, W)", found: "\(a.shape) and \(b.shape)")
        }
        let n = a.shape[0], d = a.count / max(n, 1)
        guard b.shape[0] == n else {
            throw FormatError(
                file: "reference", field: "N",
                expected: "\(n) samples (the same number as the samples; the metric matches order statistics)",
                found: "\(b.shape[0])")
        }
        guard b.count / max(b.shape[0], 1) == d else {
            throw FormatError(
                file: "reference", field: "D", expected: "\(d) values per sample",
                found: "\(b.count / max(b.shape[0], 1))")
        }
        guard n >= 1, d >= 1 else {
            throw FormatError(
                file: "samples", field: "N", expected: "at least 1 sample of at least 1 value", found: "\(a.shape)")
        }
        let l: Int
        switch directions {
        case let .explicit(projections):
            guard projections.rank == 2, projections.shape[1] == d, projections.shape[0] >= 1 else {
                throw FormatError(
                    file: "projections", field: "shape", expected: "(L, \(d))", found: "\(projections.shape)")
            }
            try FiniteCheck.check(projections.data, tensor: "projections", context: "sliced Wasserstein")
            for r in 0..<projections.shape[0] {
                var s = 0.0
                for k in 0..<d { let v = Double(projections.data[r * d + k]); s += v * v }
                guard abs(s.squareRoot() - 1) <= 1e-3 else {
                    throw FormatError(
                        file: "projections", field: "row \(r)", expected: "a unit vector",
                        found: "norm \(s.squareRoot())")
                }
            }
            l = projections.shape[0]
        case let .random(count, _):
            try SettingError.check(count, in: 1...100_000_000, "numProjections")
            l = count
        }
        for (name, t) in [("samples", a), ("reference", b)] where !t.data.allSatisfy({ $0.isFinite }) {
            throw FormatError(file: name, field: "values", expected: "finite values", found: "NaN or infinity")
        }
        // Per worker: the chunk's directions (m·D) and projected samples (2·N·m) in flight.
        let workers = min(Parallel.threadCount, (l + chunk - 1) / chunk)
        try MemoryBudget.require(
            [workers, chunk * d + 2 * n * chunk + 4 * n, 4], for: "the projection workspace",
            setting: "numProjections")
        var perProjection = [Double](repeating: 0, count: l)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                perProjection.withUnsafeMutableBufferPointer { out in
                    let result = SharedPointer(out.baseAddress!)
                    Parallel.forEachChunk(total: l, chunkSize: chunk) { _, range in
                        let m = range.count
                        // The chunk's directions (m, D): copied from explicit rows or drawn here.
                        var rows = [Float](repeating: 0, count: m * d)
                        switch directions {
                        case let .explicit(projections):
                            for k in 0..<(m * d) { rows[k] = projections.data[range.lowerBound * d + k] }
                        case let .random(_, seed):
                            rows.withUnsafeMutableBufferPointer {
                                fillRandomDirections($0.baseAddress!, range, dimension: d, seed: seed)
                            }
                        }
                        var ya = [Float](repeating: 0, count: n * m), yb = ya
                        rows.withUnsafeBufferPointer { directionBuffer in
                            let directionRows = directionBuffer.baseAddress!
                            ya.withUnsafeMutableBufferPointer { qa in
                                yb.withUnsafeMutableBufferPointer { qb in
                                    // (N, D)·(m, D)ᵀ → (N, m)
                                    BLAS.sgemm(
                                        .none, .transpose, m: n, n: m, k: d, a: pa.baseAddress!, lda: d,
                                        b: directionRows, ldb: d, c: qa.baseAddress!, ldc: m)
                                    BLAS.sgemm(
                                        .none, .transpose, m: n, n: m, k: d, a: pb.baseAddress!, lda: d,
                                        b: directionRows, ldb: d, c: qb.baseAddress!, ldc: m)
                                    var colA = [Float](repeating: 0, count: n), colB = colA
                                    var scratch = [UInt32](repeating: 0, count: 2 * n)
                                    for j in 0..<m {
                                        for i in 0..<n { colA[i] = qa[i * m + j]; colB[i] = qb[i * m + j] }
                                        scratch.withUnsafeMutableBufferPointer { s in
                                            sad_sort_floats(&colA, n, s.baseAddress)
                                            sad_sort_floats(&colB, n, s.baseAddress)
                                        }
                                        var acc = 0.0
                                        for i in 0..<n {
                                            let diff = Double(colA[i]) - Double(colB[i]); acc += diff * diff
                                        }
                                        result.base[range.lowerBound + j] = acc / Double(n)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var sum = 0.0, best = -1.0, arg = 0
        for (i, v) in perProjection.enumerated() {
            sum += v
            if v > best { best = v; arg = i }
        }
        let sw = (sum / Double(l)).squareRoot(), msw = best.squareRoot()
        guard sw.isFinite, msw.isFinite else {
            throw FormatError(file: "samples", field: "values", expected: "a finite distance", found: "\(sw)")
        }
        return (
            SlicedWasserstein(sw2: sw, msw2: msw, numProjections: l, argmaxProjection: arg, samples: n, dimension: d),
            perProjection
        )
    }

    /// Rows `range` of the random directions into `out` (range.count × D): row i from
    /// RandomStream(seed, .projections, i), normalised.
    static func fillRandomDirections(
        _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>, dimension d: Int, seed: UInt64
    ) {
        for (r, i) in range.enumerated() {
            let row = out + r * d
            RandomStream(seed: seed, purpose: .projections, index: UInt64(i)).fillNormal(
                UnsafeMutableBufferPointer(start: row, count: d))
            var norm = 0.0
            for k in 0..<d { norm += Double(row[k]) * Double(row[k]) }
            let inv = Float(1 / norm.squareRoot())
            for k in 0..<d { row[k] *= inv }
        }
    }

    /// L directions uniform on the sphere: θ_l ~ N(0, I) normalised, direction l drawn from
    /// RandomStream(seed, .projections, l) so any subset is reproducible. Default L = 64·D.
    public static func randomProjections(count l: Int, dimension d: Int, seed: UInt64) -> Tensor {
        var p = Tensor(zeros: [l, d])
        p.data.withUnsafeMutableBufferPointer { out in
            let base = SharedPointer(out.baseAddress!)
            Parallel.forEachChunk(total: l, chunkSize: 256) { _, range in
                fillRandomDirections(base.base + range.lowerBound * d, range, dimension: d, seed: seed)
            }
        }
        return p
    }
}
