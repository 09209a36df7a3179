import XCTest
@testable import Tensors

/// Forward values of the ops against hand-computed results.
final class OpsTests: XCTestCase {
    func testBroadcastShapes() {
        XCTAssertEqual(Broadcasting.shape([2, 3, 4], [3, 1]), [2, 3, 4])
        XCTAssertEqual(Broadcasting.shape([1], [5, 2]), [5, 2])
        XCTAssertNil(Broadcasting.shape([2, 3], [4, 3]))
        let a = Tensor(shape: [2, 2], data: [1, 2, 3, 4]), b = Tensor(shape: [2, 1], data: [10, 20])
        XCTAssertEqual(Arithmetic.forward(a, b, .add).data, [11, 12, 23, 24])
        XCTAssertEqual(Arithmetic.forward(b, a, .subtract).data, [9, 8, 17, 16])
        XCTAssertEqual(Broadcasting.reduce(Tensor(repeating: 1, shape: [2, 3, 2]), to: [3, 1]).data, [4, 4, 4])
    }

    func testPoolUpsampleValues() {
        let x = Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4])
        XCTAssertEqual(AvgPool2d.forward(x).data, [2.5])
        XCTAssertEqual(Upsample.forward(x).data, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    }

    func testPermuteConcatSlice() {
        let x = Tensor(shape: [2, 3], data: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(Permute.forward(x, [1, 0]).data, [0, 3, 1, 4, 2, 5])
        let c = Concat.forward([x, x], axis: 1)
        XCTAssertEqual(c.shape, [2, 6])
        XCTAssertEqual(Concat.slice(c, axis: 1, range: 2..<4).data, [2, 0, 5, 3])
    }

    func testNormsNormalise() {
        let x = RandomStream(seed: 1, purpose: .test).normalTensor([2, 4, 5], mean: 3, std: 2)
        let (y, _) = GroupNorm.forward(x, groups: 2, weight: nil, bias: nil)
        for g in 0..<4 {
            let slice = y.data[(g * 10)..<(g * 10 + 10)]
            let m = slice.reduce(0, +) / 10
            let v = slice.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 10
            XCTAssertEqual(m, 0, accuracy: 1e-5)
            XCTAssertEqual(v, 1, accuracy: 1e-3)
        }
        let (z, _) = LayerNorm.forward(x, weight: nil, bias: nil, eps: 0)
        XCTAssertEqual(z.data[0..<5].reduce(0, +), 0, accuracy: 1e-5)
    }

    func testGELUAndSiLUValues() {
        let x = Tensor(shape: [3], data: [-1, 0, 2])
        let g = GELU.forward(x).data
        XCTAssertEqual(g[0], -0.158808, accuracy: 1e-5)  // torch gelu(tanh) at −1
        XCTAssertEqual(g[2], 1.954598, accuracy: 1e-5)
        XCTAssertEqual(SiLU.forward(x).data[2], 2 / (1 + Foundation.exp(-2)), accuracy: 1e-6)
    }

    /// The vectorised GELU and its derivative against the tanh form in Float64, over the
    /// whole range (including |x| where e^(2u) overflows Float32) and a length with a tail.
    func testGELUMatchesTanhFormInFloat64() {
        var values: [Float] = [-1e6, -200, -50, -10, -5.5, -3, -1e-3, -1e-30, 0, 1e-30, 1e-3, 0.7, 3, 10, 50, 1e6]
        values += (0..<83).map { Float($0) * 0.17 - 7 }
        let x = Tensor(shape: [values.count], data: values)
        let y = GELU.forward(x).data
        let d = GELU.backward(x, Tensor(shape: [values.count], data: [Float](repeating: 1, count: values.count))).data
        let k = (2 / Double.pi).squareRoot(), c = 0.044715
        for (i, v) in values.enumerated() {
            let xv = Double(v), u = k * (xv + c * xv * xv * xv), t = Foundation.tanh(u)
            let ref = 0.5 * xv * (1 + t)
            let dref = 0.5 * (1 + t) + 0.5 * xv * (1 - t * t) * k * (1 + 3 * c * xv * xv)
            XCTAssertEqual(Double(y[i]), ref, accuracy: 1e-6 * max(1, abs(ref)), "GELU(\(v))")
            XCTAssertEqual(Double(d[i]), dref.isFinite ? dref : 0, accuracy: 1e-5 * max(1, abs(dref)), "GELU'(\(v))")
        }
    }

    /// The vectorised softmax row (used in place by attention) against Float64, for lengths
    /// below, at and above one vector.
    func testSoftmaxRowsMatchFloat64() {
        for n in [1, 3, 8, 9, 17, 64] {
            let x = RandomStream(seed: 9, purpose: .test, index: UInt64(n)).normalTensor([2, n], std: 5)
            let y = Softmax.forward(x).data
            var inPlace = x.data
            inPlace.withUnsafeMutableBufferPointer { p in Softmax.row(p.baseAddress!, p.baseAddress!, n) }
            for r in 0..<2 {
                let row = x.data[(r * n)..<((r + 1) * n)].map(Double.init)
                let m = row.max()!, e = row.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
                for j in 0..<n {
                    XCTAssertEqual(Double(y[r * n + j]), e[j] / s, accuracy: 1e-6, "softmax n = \(n)")
                }
            }
            XCTAssertEqual(Array(inPlace[0..<n]), Array(y[0..<n]), "in place, n = \(n)")
        }
    }

    func testAttentionMatchesComposite() {
        let q = RandomStream(seed: 1, purpose: .test, index: 0).normalTensor([2, 5, 4])
        let k = RandomStream(seed: 1, purpose: .test, index: 1).normalTensor([2, 6, 4])
        let v = RandomStream(seed: 1, purpose: .test, index: 2).normalTensor([2, 6, 3])
        let (y, _) = Attention.forward(q: q, k: k, v: v)
        let scores = Arithmetic.scale(Matmul.forward(q, Permute.forward(k, [0, 2, 1])), 0.5)
        let ref = Matmul.forward(Softmax.forward(scores), v)
        XCTAssertLessThan(y.maxAbsDifference(ref), 1e-5)
    }

    func testLinearMatchesMatmul() {
        let x = RandomStream(seed: 2, purpose: .test, index: 0).normalTensor([600, 7])
        let w = RandomStream(seed: 2, purpose: .test, index: 1).normalTensor([3, 7])
        let y = Linear.forward(x, weight: w, bias: Tensor(shape: [3], data: [1, 2, 3]))
        let ref = Arithmetic.forward(
            Matmul.forward(x, Permute.forward(w, [1, 0])), Tensor(shape: [3], data: [1, 2, 3]), .add)
        XCTAssertLessThan(y.maxAbsDifference(ref), 1e-5)
    }

    func testParallelSumIsThreadCountInvariant() {
        let values = RandomStream(seed: 8, purpose: .test).normals(10_001)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var results: [[Float]] = []
        for t in [1, 2, 5] {
            Parallel.threadCount = t
            results.append(
                Parallel.sumOverChunks(total: values.count, chunkSize: 97, resultCount: 2) { _, r, p in
                    for i in r { p[i % 2] += values[i] }
                })
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }
}
