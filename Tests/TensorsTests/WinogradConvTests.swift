import XCTest
@testable import Tensors

/// Winograd F(2×2, 3×3) against a Float64 direct convolution and against the im2col path,
/// on shapes that exercise odd sizes (half tiles), one-pixel images, chunk remainders and
/// the U-Net's channel counts.
final class WinogradConvTests: XCTestCase {
    func compare(n: Int, c: Int, h: Int, w: Int, o: Int, bias: Bool, file: StaticString = #filePath, line: UInt = #line)
    {
        let x = RandomStream(seed: 11, purpose: .test, index: 0).normalTensor([n, c, h, w])
        let bound = 1 / Float(9 * c).squareRoot()
        let k = RandomStream(seed: 11, purpose: .test, index: 1).uniformTensor([o, c, 3, 3], low: -bound, high: bound)
        let b =
            bias ? RandomStream(seed: 11, purpose: .test, index: 2).uniformTensor([o], low: -bound, high: bound) : nil
        let g = Conv2d.Geometry(input: x.shape, weight: k.shape, stride: 1, padding: 1)
        XCTAssertTrue(WinogradConv.applies(g), file: file, line: line)
        let dispatched = n * h * w >= WinogradConv.minimumPositions
        // Small convolutions dispatch to im2col; call the Winograd path directly so it is tested.
        let fast =
            dispatched
            ? Conv2d.forward(x, weight: k, bias: b, stride: 1, padding: 1)
            : WinogradConv.forward(x, weight: k, bias: b, g)
        let direct = Conv2d.forward(x, weight: k, bias: b, stride: 1, padding: 1, algorithm: .im2col)
        XCTAssertEqual(fast.shape, [n, o, h, w], file: file, line: line)
        // Float64 direct convolution.
        var maxError = 0.0, maxDirect = 0.0, scale = 0.0
        for i in 0..<n {
            for oc in 0..<o {
                for y in 0..<h {
                    for xx in 0..<w {
                        var s = Double(b?.data[oc] ?? 0)
                        for ic in 0..<c {
                            for ki in 0..<3 {
                                for kj in 0..<3 {
                                    let iy = y + ki - 1, ix = xx + kj - 1
                                    if iy >= 0 && iy < h && ix >= 0 && ix < w {
                                        s +=
                                            Double(x.data[((i * c + ic) * h + iy) * w + ix])
                                            * Double(k.data[((oc * c + ic) * 3 + ki) * 3 + kj])
                                    }
                                }
                            }
                        }
                        let index = ((i * o + oc) * h + y) * w + xx
                        maxError = max(maxError, abs(Double(fast.data[index]) - s))
                        maxDirect = max(maxDirect, abs(Double(direct.data[index]) - s))
                        scale = max(scale, abs(s))
                    }
                }
            }
        }
        // Outputs are O(1); float32 rounding of a 9·C-term sum is ~1e-7·√(9C) per output.
        XCTAssertLessThan(maxError, 2e-6 * max(1, scale), "Winograd vs Float64 direct", file: file, line: line)
        XCTAssertLessThan(maxError, max(4 * maxDirect, 1e-6), "Winograd error vs im2col error", file: file, line: line)
    }

    func testUNetShapes() {
        compare(n: 9, c: 32, h: 16, w: 16, o: 32, bias: true)  // 9 images: two chunks of 4 and a remainder of 1
        compare(n: 3, c: 64, h: 8, w: 8, o: 32, bias: false)
        compare(n: 2, c: 1, h: 28, w: 28, o: 32, bias: true)
    }

    func testOddAndTinySizes() {
        compare(n: 2, c: 5, h: 7, w: 9, o: 4, bias: true)
        compare(n: 1, c: 3, h: 1, w: 1, o: 2, bias: true)
        compare(n: 2, c: 2, h: 1, w: 6, o: 3, bias: false)
        compare(n: 1, c: 4, h: 3, w: 2, o: 5, bias: true)
    }

    func testOtherShapesUseIm2col() {
        let g = Conv2d.Geometry(input: [1, 4, 8, 8], weight: [4, 4, 3, 3], stride: 2, padding: 1)
        XCTAssertFalse(WinogradConv.applies(g))
        XCTAssertFalse(
            WinogradConv.applies(Conv2d.Geometry(input: [1, 4, 8, 8], weight: [4, 4, 1, 1], stride: 1, padding: 0)))
        XCTAssertFalse(
            WinogradConv.applies(Conv2d.Geometry(input: [1, 4, 8, 8], weight: [4, 4, 3, 3], stride: 1, padding: 0)))
    }

    func testThreadCountDoesNotChangeBits() {
        let x = RandomStream(seed: 12, purpose: .test, index: 0).normalTensor([19, 8, 10, 10])
        let k = RandomStream(seed: 12, purpose: .test, index: 1).normalTensor([6, 8, 3, 3])
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        let one = Conv2d.forward(x, weight: k, bias: nil, padding: 1)
        Parallel.threadCount = 3
        let three = Conv2d.forward(x, weight: k, bias: nil, padding: 1)
        XCTAssertEqual(one.data, three.data)
    }
}
