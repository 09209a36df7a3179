import Formats
import Tensors

/// The running sum Σ_n R_nᵀR_n over networks, kept so that *any* grouping of the work gives
/// bitwise the same result.
///
/// Each chunk of networks (a fixed, numbered set) is reduced in Float64 by one DSYRK into
/// its own D×D buffer, deterministically. The chunk sums are then added into a 128-bit
/// fixed-point accumulator (resolution 2⁻⁶⁴, range ±2⁶³): integer addition is associative,
/// so the total does not depend on the thread count, the order chunks finish in, the shard
/// split, or a stop and resume. (Adding Float64 partial sums in a different grouping would
/// change the last bits.) Only the upper triangle is stored.
///
/// Two halves are kept — chunks of even and of odd index — for the split-half stability
/// diagnostics; the total is their sum.
public struct GeometryAccumulator: Sendable {
    public let dimension: Int
    /// Upper triangle, row-major (i ≤ j), fixed-point.
    var halves: [[Int128]]
    /// Networks summed into each half.
    public internal(set) var networks: [Int]

    static let scale = 18_446_744_073_709_551_616.0  // 2⁶⁴

    public init(dimension d: Int) {
        dimension = d
        halves = [[Int128](repeating: 0, count: d * (d + 1) / 2), [Int128](repeating: 0, count: d * (d + 1) / 2)]
        networks = [0, 0]
    }

    /// Adds one chunk's Float64 upper-triangular sum (row-major D×D buffer) to half `half`.
    mutating func add(chunkSum: UnsafePointer<Double>, networks count: Int, half: Int) {
        let d = dimension
        var k = 0
        halves[half].withUnsafeMutableBufferPointer { acc in
            for i in 0..<d {
                for j in i..<d {
                    acc[k] &+= Int128((chunkSum[i * d + j] * Self.scale).rounded())
                    k += 1
                }
            }
        }
        networks[half] += count
    }

    /// Exact sum of two accumulators (shards of the same run).
    public mutating func merge(_ other: GeometryAccumulator) {
        precondition(other.dimension == dimension)
        for h in 0..<2 {
            halves[h].withUnsafeMutableBufferPointer { a in
                other.halves[h].withUnsafeBufferPointer { b in for i in 0..<a.count { a[i] &+= b[i] } }
            }
            networks[h] += other.networks[h]
        }
    }

    /// The mean E[RᵀR] of half 0, half 1, or both (nil), as a full symmetric D×D Float64.
    public func mean(half: Int? = nil) -> [Double] {
        let d = dimension
        let count = half.map { networks[$0] } ?? (networks[0] + networks[1])
        precondition(count > 0, "no networks accumulated")
        var g = [Double](repeating: 0, count: d * d)
        var k = 0
        for i in 0..<d {
            for j in i..<d {
                let sum: Int128 = half.map { halves[$0][k] } ?? (halves[0][k] &+ halves[1][k])
                let v = Double(sum) / Self.scale / Double(count)
                g[i * d + j] = v
                g[j * d + i] = v
                k += 1
            }
        }
        return g
    }

    // MARK: - Persistence (checkpoints, shards)

    /// The accumulator as named arrays: each 128-bit value split into high and low 64 bits.
    func namedArrays() -> [(String, NDArray)] {
        var out: [(String, NDArray)] = []
        for h in 0..<2 {
            let hi = halves[h].map { Int64(truncatingIfNeeded: $0 >> 64) }
            let lo = halves[h].map { Int64(truncatingIfNeeded: $0) }
            out.append(("accumulator.half\(h).high", NDArray(shape: [hi.count], int64: hi)))
            out.append(("accumulator.half\(h).low", NDArray(shape: [lo.count], int64: lo)))
        }
        out.append(("accumulator.networks", NDArray(shape: [2], int64: networks.map(Int64.init))))
        return out
    }

    init(dimension d: Int, file: SafeTensors.File) throws {
        self.init(dimension: d)
        let n = d * (d + 1) / 2
        for h in 0..<2 {
            let hiA = try file.array("accumulator.half\(h).high"), loA = try file.array("accumulator.half\(h).low")
            guard hiA.shape == [n], loA.shape == [n], case let .int64(hi) = hiA.storage, case let .int64(lo) = loA.storage else {
                throw FormatError(file: file.path, field: "accumulator.half\(h)", expected: "two int64 arrays of \(n)", found: "\(hiA.shape), \(loA.shape)")
            }
            halves[h] = (0..<n).map { (Int128(hi[$0]) << 64) | Int128(UInt64(bitPattern: lo[$0])) }
        }
        guard let counts = try file.array("accumulator.networks").integers, counts.count == 2 else {
            throw FormatError(file: file.path, field: "accumulator.networks", expected: "two counts", found: "other")
        }
        networks = counts
    }
}
