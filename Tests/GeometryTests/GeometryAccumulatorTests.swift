import Foundation
import XCTest
@testable import Geometry
import Tensors

/// The accumulator's hand-written exact conversions against Swift's generic ones, and the
/// in-place, row-parallel update: any thread count gives the same bits, and a refused chunk
/// leaves the accumulator as it was.
final class GeometryAccumulatorTests: XCTestCase {
    func testConversionsMatchTheGenericOnes() {
        let rng = RandomStream(seed: 8, purpose: .test)
        var values: [Double] = [0, -0.0, 1, -1, 0.5, 2.5e-10, 1e-30, 3.0e12, -1_099_511_627_776, 1_099_511_627_776]
        values += [0.49999999999999994, 1.5, 2.5, 0.5000000000000001].map { $0 / GeometryAccumulator.scale }
        values += (0..<20_000).map { k in
            let u = rng.normalTensor([2]).data.map(Double.init)
            return u[0] * pow(2, Double(k % 80) - 40)  // |v| from 2⁻⁴⁰ to 2⁴⁰
        }
        for v in values {
            let exact = Int128((v * GeometryAccumulator.scale).rounded())
            XCTAssertEqual(GeometryAccumulator.fixedPoint(v), exact, "\(v)")
            // Sums of many chunks, and values next to the fast path's edge (2⁶³).
            for s in [exact, exact &* 3 &+ 1, exact << 20 | 0x7FF, Int128(1) << 63, -(Int128(1) << 63) - 1] {
                XCTAssertEqual(GeometryAccumulator.double(s), Double(s), "\(s)")
            }
        }
        XCTAssertEqual(GeometryAccumulator.double(Int128.max), Double(Int128.max))
        XCTAssertEqual(GeometryAccumulator.double(Int128.min + 1), Double(Int128.min + 1))
    }

    func accumulate(threads: Int, _ chunks: [[Double]], d: Int) throws -> GeometryAccumulator {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = threads
        var acc = GeometryAccumulator(dimension: d)
        for (c, sum) in chunks.enumerated() {
            try sum.withUnsafeBufferPointer {
                try acc.add(chunkSum: $0.baseAddress!, networks: 4, half: c % 2, chunk: c)
            }
        }
        return acc
    }

    func testInPlaceParallelUpdateAndRefusal() throws {
        let d = 37
        let rng = RandomStream(seed: 2, purpose: .test)
        let chunks = (0..<5).map { _ in rng.normalTensor([d * d]).data.map { Double($0) * 1e3 } }
        let one = try accumulate(threads: 1, chunks, d: d), three = try accumulate(threads: 3, chunks, d: d)
        XCTAssertEqual(one.halves, three.halves)
        XCTAssertEqual(one.mean(), three.mean())
        // The mean is the exact sum, rounded once.
        let mean = one.mean(half: 0)
        for (i, j) in [(0, 0), (3, 30), (36, 36)] {
            let exact = [0, 2, 4].reduce(Int128(0)) { $0 + GeometryAccumulator.fixedPoint(chunks[$1][i * d + j]) }
            XCTAssertEqual(mean[i * d + j], Double(exact) / GeometryAccumulator.scale / 12)
            XCTAssertEqual(mean[j * d + i], mean[i * d + j])
        }
        // A chunk that overflows the running total somewhere in the last rows is refused and
        // the accumulator keeps its bits.
        var acc = one
        let big = Array(repeating: GeometryAccumulator.maxChunkValue, count: d * d)
        acc.halves[1][acc.halves[1].count - 2] = Int128.max - 5
        let before = acc.halves
        XCTAssertThrowsError(
            try big.withUnsafeBufferPointer { try acc.add(chunkSum: $0.baseAddress!, networks: 4, half: 1, chunk: 9) })
        XCTAssertEqual(acc.halves, before)
        XCTAssertEqual(acc.networks, one.networks)
    }
}
