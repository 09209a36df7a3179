import XCTest
@testable import Tensors

/// conv2d(32→32, 3×3, 16×16, batch 8) forward and backward against a naive Float64 loop.
final class Conv2dReferenceTests: XCTestCase {
    func naiveForward(
        _ x: [Double], _ w: [Double], _ b: [Double], n: Int, c: Int, h: Int, wd: Int,
        o: Int, k: Int, stride: Int, pad: Int
    ) -> [Double] {
        let ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1
        var y = [Double](repeating: 0, count: n * o * ho * wo)
        for i in 0..<n {
            for oc in 0..<o {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var s = b[oc]
                        for ic in 0..<c {
                            for ki in 0..<k {
                                for kj in 0..<k {
                                    let iy = oy * stride + ki - pad, ix = ox * stride + kj - pad
                                    if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                                        s += x[((i * c + ic) * h + iy) * wd + ix] * w[((oc * c + ic) * k + ki) * k + kj]
                                    }
                                }
                            }
                        }
                        y[((i * o + oc) * ho + oy) * wo + ox] = s
                    }
                }
            }
        }
        return y
    }

    func naiveBackward(
        _ x: [Double], _ w: [Double], _ gy: [Double], n: Int, c: Int, h: Int, wd: Int,
        o: Int, k: Int, stride: Int, pad: Int
    ) -> ([Double], [Double], [Double]) {
        let ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: o)
        for i in 0..<n {
            for oc in 0..<o {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let g = gy[((i * o + oc) * ho + oy) * wo + ox]
                        db[oc] += g
                        for ic in 0..<c {
                            for ki in 0..<k {
                                for kj in 0..<k {
                                    let iy = oy * stride + ki - pad, ix = ox * stride + kj - pad
                                    if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                                        let xi = ((i * c + ic) * h + iy) * wd + ix,
                                            wi = ((oc * c + ic) * k + ki) * k + kj
                                        dx[xi] += g * w[wi]
                                        dw[wi] += g * x[xi]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw, db)
    }

    func relativeError(_ a: [Float], _ b: [Double]) -> Double {
        var num = 0.0, den = 0.0
        for (x, y) in zip(a, b) { num += (Double(x) - y) * (Double(x) - y); den += y * y }
        return (num / den).squareRoot()
    }

    func check(
        stride: Int, pad: Int, tolerance: Double, n: Int = 8, c: Int = 32, o: Int = 32, h: Int = 16,
        wd: Int = 16
    ) {
        let k = 3
        let x = RandomStream(seed: 3, purpose: .test, index: 0).normalTensor([n, c, h, wd])
        let bound = 1 / Float(c * k * k).squareRoot()
        let w = RandomStream(seed: 3, purpose: .test, index: 1).uniformTensor([o, c, k, k], low: -bound, high: bound)
        let b = RandomStream(seed: 3, purpose: .test, index: 2).uniformTensor([o], low: -bound, high: bound)
        let y = Conv2d.forward(x, weight: w, bias: b, stride: stride, padding: pad)
        let yRef = naiveForward(
            x.data.map(Double.init), w.data.map(Double.init), b.data.map(Double.init),
            n: n, c: c, h: h, wd: wd, o: o, k: k, stride: stride, pad: pad)
        XCTAssertLessThan(relativeError(y.data, yRef), tolerance, "forward stride \(stride)")

        let gy = RandomStream(seed: 3, purpose: .test, index: 3).normalTensor(y.shape)
        let (dx, dw, db) = Conv2d.backward(x, weight: w, hasBias: true, stride: stride, padding: pad, gy)
        let (dxRef, dwRef, dbRef) = naiveBackward(
            x.data.map(Double.init), w.data.map(Double.init), gy.data.map(Double.init),
            n: n, c: c, h: h, wd: wd, o: o, k: k, stride: stride, pad: pad)
        XCTAssertLessThan(relativeError(dx.data, dxRef), tolerance, "∂x stride \(stride)")
        XCTAssertLessThan(relativeError(dw.data, dwRef), tolerance, "∂W stride \(stride)")
        XCTAssertLessThan(relativeError(db!.data, dbRef), tolerance, "∂b stride \(stride)")
    }

    /// Float32 GEMM over 288-term dot products: expected relative error ≈ 6e-8·√288 ≈ 1e-6.
    func testMatchesFloat64ReferenceTo1e5() {
        check(stride: 1, pad: 1, tolerance: 1e-5)
        check(stride: 2, pad: 1, tolerance: 1e-5)
        // Both ∂x paths: Winograd on the flipped, channel-swapped kernel (≥ 512 positions, odd
        // sides, C ≠ O) and im2col + col2im (fewer positions).
        check(stride: 1, pad: 1, tolerance: 1e-5, n: 16, c: 12, o: 20, h: 9, wd: 11)
        check(stride: 1, pad: 1, tolerance: 1e-5, n: 2, c: 12, o: 20, h: 9, wd: 11)
        // Winograd ∂W (the adjoint of the forward transforms): more images than one gradient
        // chunk (32) with a remainder, odd sides, and one-pixel images (one half-used tile).
        check(stride: 1, pad: 1, tolerance: 1e-5, n: 37, c: 3, o: 5, h: 7, wd: 5)
        check(stride: 1, pad: 1, tolerance: 1e-5, n: 1030, c: 2, o: 3, h: 1, wd: 1)
        check(stride: 1, pad: 1, tolerance: 1e-5, n: 70, c: 4, o: 2, h: 2, wd: 8)
        // ∂W sums long enough for the direct GEMM (``WinogradConv/usesDirectGradientGEMM``): 8 images
        // of 143 tiles (L = 1,144, a tail of 8 past the 16-float groups), O and C not multiples of 4,
        // and a remainder image through BLAS.
        XCTAssertTrue(WinogradConv.usesDirectGradientGEMM(m: 34, n: 30, k: 8 * 11 * 13))
        check(stride: 1, pad: 1, tolerance: 1e-5, n: 9, c: 30, o: 34, h: 22, wd: 26)
    }

    func testBitwiseIndependentOfThreadCount() {
        let x = RandomStream(seed: 5, purpose: .test, index: 0).normalTensor([37, 4, 8, 8])
        let w = RandomStream(seed: 5, purpose: .test, index: 1).normalTensor([5, 4, 3, 3])
        let gy = RandomStream(seed: 5, purpose: .test, index: 2).normalTensor([37, 5, 8, 8])
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            let y = Conv2d.forward(x, weight: w, bias: nil, padding: 1)
            let (dx, dw, _) = Conv2d.backward(x, weight: w, hasBias: false, padding: 1, gy)
            results.append(y.data + dx.data + dw.data)
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }
}
