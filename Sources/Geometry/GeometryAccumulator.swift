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
    /// The largest |entry| of one chunk sum that is accepted: 2⁴⁰ · 2⁶⁴ = 2¹⁰⁴ leaves 2²³
    /// chunks of headroom below Int128's 2¹²⁷ (and any overflow of the total is detected).
    static let maxChunkValue = 1_099_511_627_776.0  // 2⁴⁰
    /// The smallest largest-|entry| of a non-zero chunk sum that is accepted: below 2⁻³⁰ the
    /// fixed-point resolution 2⁻⁶⁴ keeps fewer than 34 significant bits of the largest entry
    /// (and none of the small ones): G would silently lose its digits or round to 0.
    static let minChunkValue = 9.313225746154785e-10  // 2⁻³⁰

    public init(dimension d: Int) {
        dimension = d
        halves = [[Int128](repeating: 0, count: d * (d + 1) / 2), [Int128](repeating: 0, count: d * (d + 1) / 2)]
        networks = [0, 0]
    }

    /// Adds one chunk's Float64 upper-triangular sum (row-major D×D buffer) to half `half`.
    ///
    /// The chunk is checked before anything is added (so a refused chunk leaves the
    /// accumulator as it was): every entry finite, the largest |entry| within
    /// [``minChunkValue``, ``maxChunkValue``] unless the chunk is exactly zero, and each
    /// 128-bit addition free of overflow.
    mutating func add(chunkSum: UnsafePointer<Double>, networks count: Int, half: Int, chunk: Int) throws {
        let d = dimension
        var largest = 0.0
        for i in 0..<d {
            for j in i..<d {
                let v = chunkSum[i * d + j]
                guard v.isFinite else {
                    throw NonFiniteError(
                        tensor: "G[\(i), \(j)] of the chunk sum", context: "geometry chunk \(chunk)", index: i * d + j,
                        value: v, advice: "the network's output overflowed: lower the probe scale or check the config")
                }
                largest = max(largest, abs(v))
            }
        }
        guard largest <= Self.maxChunkValue else { throw GeometryRangeError.overflow(chunk: chunk, largest: largest) }
        guard largest == 0 || largest >= Self.minChunkValue else {
            throw GeometryRangeError.underflow(chunk: chunk, largest: largest)
        }
        // In place, rows split over the threads (integer addition: any split gives the same
        // bits). A block that would overflow stops there; then every block takes back what it
        // added, so a refused chunk leaves the accumulator as it was.
        let blocks = Self.rowBlocks(d)
        var stopped = [Int](repeating: -1, count: blocks.count - 1)
        halves[half].withUnsafeMutableBufferPointer { acc in
            let accumulator = SharedPointer(acc.baseAddress!)
            stopped.withUnsafeMutableBufferPointer { stops in
                let stop = SharedPointer(stops.baseAddress!)
                Parallel.forEach(blocks.count - 1) { b in
                    var k = Self.triangleOffset(row: blocks[b], d)
                    for i in blocks[b]..<blocks[b + 1] {
                        for j in i..<d {
                            let (sum, overflow) = accumulator.base[k].addingReportingOverflow(
                                Self.fixedPoint(chunkSum[i * d + j]))
                            if overflow { stop.base[b] = k; return }
                            accumulator.base[k] = sum
                            k += 1
                        }
                    }
                }
            }
            guard stopped.contains(where: { $0 >= 0 }) else { return }
            for b in 0..<(blocks.count - 1) {
                let first = Self.triangleOffset(row: blocks[b], d)
                let end = stopped[b] >= 0 ? stopped[b] : Self.triangleOffset(row: blocks[b + 1], d)
                var k = first
                for i in blocks[b]..<blocks[b + 1] {
                    for j in i..<d where k < end {
                        acc[k] = acc[k] &- Self.fixedPoint(chunkSum[i * d + j])
                        k += 1
                    }
                }
            }
        }
        guard !stopped.contains(where: { $0 >= 0 }) else {
            throw GeometryRangeError.overflow(chunk: chunk, largest: largest)
        }
        networks[half] += count
    }

    /// v·2⁶⁴ rounded to an integer, exactly (|v| ≤ 2⁴⁰ was checked): the same value as
    /// `Int128((v * scale).rounded())`, without the generic conversion's cost (it was a tenth of
    /// a 56×56 geometry's time). The product by 2⁶⁴ is exact; the integer-valued Float64 is then
    /// m·2^e with its 53-bit significand m.
    @inline(__always) static func fixedPoint(_ v: Double) -> Int128 {
        let x = (v * scale).rounded()
        if abs(x) < 9.2e18 { return Int128(Int64(x)) }
        let bits = x.bitPattern
        let exponent = Int((bits >> 52) & 0x7FF) - 1075  // ≥ 11 since |x| ≥ 2⁶³
        let magnitude = Int128((bits & 0xF_FFFF_FFFF_FFFF) | 0x10_0000_0000_0000) << exponent
        return x < 0 ? -magnitude : magnitude
    }

    /// The Float64 nearest to s (round to nearest, ties to even), as `Double(s)` but without
    /// the generic conversion: the top 64 significant bits, with a sticky bit for the rest
    /// (bit 0 lies far below the 53-bit rounding position), converted once and scaled exactly.
    @inline(__always) static func double(_ s: Int128) -> Double {
        if s >> 63 == 0 || s >> 63 == -1 { return Double(Int64(truncatingIfNeeded: s)) }
        let u = s.magnitude
        let shift = 64 - u.leadingZeroBitCount  // ≥ 0: 2⁶³ ≤ |s| < 2¹²⁸
        let top = UInt64(truncatingIfNeeded: u >> shift)
        let sticky: UInt64 = shift > 0 && u & ((1 << shift) - 1) != 0 ? 1 : 0
        let d = Double(sign: .plus, exponent: shift, significand: Double(top | sticky))
        return s < 0 ? -d : d
    }

    /// Index of (row, row) in the row-major upper triangle of side d.
    @inline(__always) static func triangleOffset(row i: Int, _ d: Int) -> Int { i * d - i * (i - 1) / 2 }

    /// Row boundaries splitting the triangle into about 4 blocks per thread of equal size.
    static func rowBlocks(_ d: Int) -> [Int] {
        let parts = max(1, min(d, 4 * Parallel.threadCount))
        let total = Double(d) * Double(d + 1) / 2
        var bounds = [0]
        var i = 0
        for b in 1..<parts {
            let target = total * Double(b) / Double(parts)
            while i < d && Double(triangleOffset(row: i, d)) < target { i += 1 }
            if i > bounds.last! && i < d { bounds.append(i) }
        }
        bounds.append(d)
        return bounds
    }

    /// Exact sum of two accumulators (shards of the same run); refuses an overflowing sum.
    public mutating func merge(_ other: GeometryAccumulator, otherPath: String) throws {
        guard other.dimension == dimension else {
            throw FormatError(
                file: otherPath, field: "accumulator", expected: "dimension \(dimension)", found: "\(other.dimension)")
        }
        var next = halves
        for h in 0..<2 {
            try next[h].withUnsafeMutableBufferPointer { a in
                try other.halves[h].withUnsafeBufferPointer { b in
                    for i in 0..<a.count {
                        let (sum, overflow) = a[i].addingReportingOverflow(b[i])
                        if overflow { throw GeometryRangeError.overflow(chunk: -1, largest: .infinity) }
                        a[i] = sum
                    }
                }
            }
        }
        halves = next
        for h in 0..<2 { networks[h] += other.networks[h] }
    }

    /// The mean E[RᵀR] of half 0, half 1, or both (nil), as a full symmetric D×D Float64.
    public func mean(half: Int? = nil) -> [Double] {
        let d = dimension
        let count = half.map { networks[$0] } ?? (networks[0] + networks[1])
        precondition(count > 0, "no networks accumulated")
        var g = [Double](repeating: 0, count: d * d)
        let blocks = Self.rowBlocks(d)
        let n = Double(count)
        halves[0].withUnsafeBufferPointer { h0 in
            halves[1].withUnsafeBufferPointer { h1 in
                g.withUnsafeMutableBufferPointer { out in
                    let a = SharedPointer(UnsafeMutablePointer(mutating: h0.baseAddress!))
                    let b = SharedPointer(UnsafeMutablePointer(mutating: h1.baseAddress!))
                    let o = SharedPointer(out.baseAddress!)
                    Parallel.forEach(blocks.count - 1) { block in
                        var k = Self.triangleOffset(row: blocks[block], d)
                        for i in blocks[block]..<blocks[block + 1] {
                            for j in i..<d {
                                let sum: Int128 =
                                    half == 0 ? a.base[k] : half == 1 ? b.base[k] : a.base[k] &+ b.base[k]
                                let v = Self.double(sum) / Self.scale / n
                                o.base[i * d + j] = v
                                o.base[j * d + i] = v
                                k += 1
                            }
                        }
                    }
                }
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
            guard hiA.shape == [n], loA.shape == [n], case let .int64(hi) = hiA.storage,
                case let .int64(lo) = loA.storage
            else {
                throw FormatError(
                    file: file.path, field: "accumulator.half\(h)", expected: "two int64 arrays of \(n)",
                    found: "\(hiA.shape), \(loA.shape)")
            }
            halves[h] = (0..<n).map { (Int128(hi[$0]) << 64) | Int128(UInt64(bitPattern: lo[$0])) }
        }
        guard let counts = try file.array("accumulator.networks").integers, counts.count == 2 else {
            throw FormatError(file: file.path, field: "accumulator.networks", expected: "two counts", found: "other")
        }
        guard counts.allSatisfy({ $0 >= 0 && $0 <= 1_000_000_000 }) else {
            throw FormatError(
                file: file.path, field: "accumulator.networks", expected: "two counts in 0…10⁹", found: "\(counts)")
        }
        networks = counts
    }
}

/// A geometry whose values the exact fixed-point accumulator cannot hold faithfully.
public enum GeometryRangeError: Error, CustomStringConvertible, Equatable {
    /// A chunk sum (or the running total) beyond the accumulator's range.
    case overflow(chunk: Int, largest: Double)
    /// A non-zero chunk sum so small that the fixed-point resolution would erase its digits.
    case underflow(chunk: Int, largest: Double)
    /// Every entry of G is exactly zero: there are no directions to rank.
    case zero

    public var description: String {
        switch self {
        case let .overflow(chunk, largest):
            return (chunk >= 0 ? "geometry chunk \(chunk)" : "merging shards")
                + ": entries of G up to \(largest) exceed the exact accumulator's range (chunk sums ≤ 2⁴⁰ ≈ 1.1e12)"
                + " — lower the probe scale (gaussian σ) or the chunk size"
        case let .underflow(chunk, largest):
            return
                "geometry chunk \(chunk): the largest entry of G is \(largest), below 2⁻³⁰ ≈ 9.3e-10: the exact "
                + "accumulator"
                + " (resolution 2⁻⁶⁴) would keep too few digits — raise the probe scale or rescale the network's output"
        case .zero:
            return "G = 0: every network output is exactly zero for this probe and init (nothing to estimate)"
                + " — use another probe or init scheme"
        }
    }
}
