import XCTest
@testable import Tensors

/// The layout and normalisation kernels against plain index loops: permutations (the C
/// strided gather), slices and their VJP, broadcast reductions, layer normalisation. The C
/// and pointer loops replaced scalar Swift loops and must give bitwise the same results.
final class LayoutKernelTests: XCTestCase {
    /// Deterministic, irregular values (no two alike) so that a misplaced element shows.
    func values(_ shape: [Int]) -> Tensor {
        let n = Tensor.elementCount(shape)
        return Tensor(shape: shape, data: (0..<n).map { Float(($0 * 7919) % 1009) / 37 - 13 })
    }

    /// out[i] = x[Σ_a index_a(i) · stride of input axis axes[a]], one element at a time.
    func naivePermute(_ x: Tensor, _ axes: [Int]) -> [Float] {
        let outShape = axes.map { x.shape[$0] }, inStrides = x.strides
        var out = [Float]()
        for flat in 0..<x.count {
            var rest = flat, offset = 0
            for a in stride(from: axes.count - 1, through: 0, by: -1) {
                offset += (rest % outShape[a]) * inStrides[axes[a]]
                rest /= outShape[a]
            }
            out.append(x.data[offset])
        }
        return out
    }

    func testPermutationsMatchIndexLoop() {
        // The DiT's head split and merge, a transpose whose inner axis is strided, odd extents,
        // extents of 1 (merged away), and a large leading axis (several parallel chunks).
        let cases: [([Int], [Int])] = [
            ([2, 5, 3, 4, 3], [2, 0, 3, 1, 4]), ([2, 4, 5, 3], [0, 2, 1, 3]), ([3, 7], [1, 0]),
            ([2, 3, 5], [2, 1, 0]), ([1, 4, 1, 3], [3, 2, 1, 0]), ([600, 9, 7], [0, 2, 1]),
            ([5, 1, 2, 3, 1, 2], [5, 3, 0, 4, 2, 1]),
        ]
        for (shape, axes) in cases {
            let x = values(shape)
            let y = Permute.forward(x, axes)
            XCTAssertEqual(y.shape, axes.map { shape[$0] }, "\(shape) \(axes)")
            XCTAssertEqual(y.data, naivePermute(x, axes), "\(shape) \(axes)")
        }
        XCTAssertEqual(Permute.forward(values([0, 3, 2]), [2, 0, 1]).shape, [2, 0, 3])
    }

    func testSliceAndItsVJPMatchIndexLoop() {
        let x = values([3, 5, 4])
        for (axis, range) in [(0, 1..<3), (1, 0..<2), (1, 3..<5), (2, 1..<2), (1, 2..<2)] {
            let s = Concat.slice(x, axis: axis, range: range)
            var shape = x.shape
            shape[axis] = range.count
            XCTAssertEqual(s.shape, shape)
            var expected = [Float](), scattered = [Float](repeating: 0, count: x.count)
            var k = 0
            for i in 0..<3 {
                for j in 0..<5 {
                    for l in 0..<4 where range.contains([i, j, l][axis]) {
                        expected.append(x.data[(i * 5 + j) * 4 + l])
                        scattered[(i * 5 + j) * 4 + l] = s.data[k]
                        k += 1
                    }
                }
            }
            XCTAssertEqual(s.data, expected, "axis \(axis) \(range)")
            XCTAssertEqual(
                Concat.sliceBackward(s, shape: x.shape, axis: axis, range: range).data, scattered,
                "axis \(axis) \(range)")
        }
    }

    func testBroadcastReduceMatchesIndexLoop() {
        let g = values([4, 3, 5, 2])
        for target in [[4, 1, 5, 2], [1, 3, 1, 1], [3, 5, 1], [1, 1, 1, 2], [5, 2], [1]] {
            let s = Broadcasting.strides(of: target, broadcastTo: g.shape)
            var expected = [Float](repeating: 0, count: Tensor.elementCount(target))
            // Row by row along the last axis, as the reduction adds them.
            for row in 0..<(g.count / 2) {
                var rest = row, offset = 0
                for a in stride(from: 2, through: 0, by: -1) {
                    offset += (rest % g.shape[a]) * s[a]
                    rest /= g.shape[a]
                }
                if s[3] == 0 {
                    expected[offset] += g.data[2 * row] + g.data[2 * row + 1]
                } else {
                    expected[offset] += g.data[2 * row]
                    expected[offset + s[3]] += g.data[2 * row + 1]
                }
            }
            XCTAssertEqual(Broadcasting.reduce(g, to: target).data, expected, "\(target)")
        }
    }

    /// The Float64 statistics of the original scalar loops, term for term.
    func referenceLayerNorm(_ x: [Float], rows: Int, e: Int, eps: Float) -> (xHat: [Float], inv: [Float]) {
        var xHat = [Float](repeating: 0, count: x.count), inv = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var mean = 0.0
            for i in 0..<e { mean += Double(x[r * e + i]) }
            mean /= Double(e)
            var variance = 0.0
            for i in 0..<e {
                let d = Double(x[r * e + i]) - mean
                variance += d * d
            }
            variance /= Double(e)
            let s = 1 / (variance + Double(eps)).squareRoot()
            inv[r] = Float(s)
            for i in 0..<e { xHat[r * e + i] = Float((Double(x[r * e + i]) - mean) * s) }
        }
        return (xHat, inv)
    }

    func testLayerNormMatchesScalarLoopsBitwise() {
        let rows = 2_100, e = 48  // several parallel chunks of rows
        let x = values([rows / 3, 3, e]), dy = values([rows, e]).reshaped([rows / 3, 3, e])
        let w = Tensor(shape: [e], data: (0..<e).map { 0.5 + Float($0) / 17 })
        let b = Tensor(shape: [e], data: (0..<e).map { Float($0) / 5 - 3 })
        let (xHat, inv) = referenceLayerNorm(x.data, rows: rows, e: e, eps: 1e-6)
        for weight in [nil, w] {
            let (y, saved) = LayerNorm.forward(x, weight: weight, bias: weight == nil ? nil : b, eps: 1e-6)
            XCTAssertEqual(saved.xHat.data, xHat)
            XCTAssertEqual(saved.invStd, inv)
            let expectedY = weight == nil ? xHat : (0..<x.count).map { xHat[$0] * w.data[$0 % e] + b.data[$0 % e] }
            XCTAssertEqual(y.data, expectedY)
            // ∂x, ∂γ, ∂β by the scalar loops.
            var dx = [Float](repeating: 0, count: x.count)
            var dGamma = [Double](repeating: 0, count: e), dBeta = [Double](repeating: 0, count: e)
            for r in 0..<rows {
                var meanG = 0.0, meanGH = 0.0
                for i in 0..<e {
                    let g = Double(dy.data[r * e + i]) * Double(weight?.data[i] ?? 1)
                    meanG += g
                    meanGH += g * Double(xHat[r * e + i])
                    dGamma[i] += Double(dy.data[r * e + i]) * Double(xHat[r * e + i])
                    dBeta[i] += Double(dy.data[r * e + i])
                }
                meanG /= Double(e)
                meanGH /= Double(e)
                for i in 0..<e {
                    let g = Double(dy.data[r * e + i]) * Double(weight?.data[i] ?? 1)
                    dx[r * e + i] = Float((g - meanG - Double(xHat[r * e + i]) * meanGH) * Double(inv[r]))
                }
            }
            let (gx, gw, gb) = LayerNorm.backward(saved, weight: weight, dy)
            XCTAssertEqual(gx.data, dx)
            if weight != nil {
                XCTAssertEqual(gw.data, dGamma.map { Float($0) })
                XCTAssertEqual(gb.data, dBeta.map { Float($0) })
            }
        }
    }
}
