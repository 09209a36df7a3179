import XCTest
@testable import Tensors

/// The cache of transformed Winograd kernels returns exactly what the transform computes —
/// for hits, for the flipped kernels of ∂x, after the weights are written (copy-on-write gives
/// them new storage) — and holds no more than its capacity.
final class WinogradKernelCacheTests: XCTestCase {
    func weights(_ o: Int, _ c: Int, _ index: UInt64) -> Tensor {
        RandomStream(seed: 9, purpose: .test, index: index).normalTensor([o, c, 3, 3])
    }

    func transformed(_ w: Tensor) -> [Float] {
        w.data.withUnsafeBufferPointer {
            WinogradConv.transformWeights($0.baseAddress!, outChannels: w.shape[0], channels: w.shape[1])
        }
    }

    func testHitsAndFlippedKernelsAreTheTransform() {
        let cache = WinogradKernelCache(capacity: 1 << 20)
        let w = weights(5, 3, 0)
        for _ in 0..<3 {
            XCTAssertEqual(cache.kernels(w, flipped: false), transformed(w))
            XCTAssertEqual(cache.kernels(w, flipped: true), transformed(Conv2d.flippedTransposedKernel(w)))
        }
        XCTAssertEqual(cache.count, 2)
        // A copy of the tensor shares its storage: a hit.
        let copy = w
        XCTAssertEqual(cache.kernels(copy, flipped: false), transformed(w))
        XCTAssertEqual(cache.count, 2)
    }

    func testWrittenWeightsAreTransformedAfresh() {
        let cache = WinogradKernelCache(capacity: 1 << 20)
        var w = weights(4, 4, 1)
        let before = cache.kernels(w, flipped: false)
        w.data[7] += 1  // the cache holds the old storage, so this write copies
        let after = cache.kernels(w, flipped: false)
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(after, transformed(w))
        // A tensor of the same values in other storage: the same kernels.
        let fresh = Tensor(shape: w.shape, data: w.data.map { $0 })
        XCTAssertEqual(cache.kernels(fresh, flipped: false), after)
    }

    func testCapacityBoundsWhatIsHeld() {
        // One entry of (4, 4) kernels holds 9·16 weights + 16·16 kernel floats = 400.
        let cache = WinogradKernelCache(capacity: 1000)
        let all = (0..<6).map { weights(4, 4, 10 + UInt64($0)) }
        for (i, w) in all.enumerated() {
            XCTAssertEqual(cache.kernels(w, flipped: false), transformed(w))
            XCTAssertLessThanOrEqual(cache.count, 2, "after \(i + 1) insertions")
        }
        // Evicted entries are recomputed correctly.
        for w in all { XCTAssertEqual(cache.kernels(w, flipped: false), transformed(w)) }
        // An entry larger than the whole capacity is computed but not held.
        let big = weights(8, 8, 20)
        let small = WinogradKernelCache(capacity: 100)
        XCTAssertEqual(small.kernels(big, flipped: false), transformed(big))
        XCTAssertEqual(small.count, 0)
    }
}
