import XCTest
@testable import Tensors

/// `conv2d(…, adding:)` against `conv2d(…) + addend`: values and every gradient bitwise the
/// same, through the Winograd path (added per chunk), im2col (added after the convolution),
/// the stride-2 and pointwise paths, for per-channel and element-wise addends.
final class ConvAddendTests: XCTestCase {
    func assertFusedIsUnfused(
        input: [Int], outChannels o: Int, kernel k: Int, stride: Int, padding: Int, perChannel: Bool,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        func stream(_ index: UInt64) -> RandomStream { RandomStream(seed: 5, purpose: .test, index: index) }
        let x = stream(0).normalTensor(input)
        let w = stream(1).normalTensor([o, input[1], k, k], std: 0.2)
        let b = stream(2).normalTensor([o])
        let g = Conv2d.Geometry(input: input, weight: w.shape, stride: stride, padding: padding)
        let outShape = [input[0], o, g.outHeight, g.outWidth]
        let a = stream(3).normalTensor(perChannel ? [input[0], o, 1, 1] : outShape)
        let seed = stream(4).normalTensor(outShape)

        func run(_ fused: Bool) -> (Tensor, [Tensor]) {
            let vs = [x, w, b, a].map { Variable($0, requiresGradient: true) }
            let y =
                fused
                ? conv2d(vs[0], weight: vs[1], bias: vs[2], stride: stride, padding: padding, adding: vs[3])
                : conv2d(vs[0], weight: vs[1], bias: vs[2], stride: stride, padding: padding) + vs[3]
            y.backward(seed: seed)
            return (y.value, vs.map { $0.gradient! })
        }
        let (fusedValue, fusedGradients) = run(true)
        let (value, gradients) = run(false)
        XCTAssertEqual(fusedValue.shape, outShape, file: file, line: line)
        XCTAssertEqual(fusedValue.data, value.data, "values", file: file, line: line)
        for (name, (u, v)) in zip(["x", "weight", "bias", "addend"], zip(fusedGradients, gradients)) {
            XCTAssertEqual(u.shape, v.shape, name, file: file, line: line)
            XCTAssertEqual(u.data, v.data, "∂\(name)", file: file, line: line)
        }
    }

    /// (input, output channels, kernel, stride, padding) of each case.
    typealias Case = (input: [Int], outChannels: Int, kernel: Int, stride: Int, padding: Int)

    func assertCases(_ cases: [Case], file: StaticString = #filePath, line: UInt = #line) {
        for c in cases {
            for perChannel in [true, false] {
                assertFusedIsUnfused(
                    input: c.input, outChannels: c.outChannels, kernel: c.kernel, stride: c.stride,
                    padding: c.padding, perChannel: perChannel, file: file, line: line)
            }
        }
    }

    func testWinogradPath() {
        // 9 images of 16×16: Winograd, two chunks of 4 and a remainder of 1.
        XCTAssertTrue(
            WinogradConv.isChosen(
                Conv2d.Geometry(input: [9, 8, 16, 16], weight: [6, 8, 3, 3], stride: 1, padding: 1), batch: 9))
        // Then an odd plane width (no row kernels) and a 4×4 level.
        assertCases([([9, 8, 16, 16], 6, 3, 1, 1), ([12, 4, 7, 9], 5, 3, 1, 1), ([40, 4, 4, 4], 4, 3, 1, 1)])
    }

    func testOtherPaths() {
        // Below the Winograd threshold (im2col), stride 2, no padding, pointwise.
        assertCases([
            ([1, 3, 8, 8], 4, 3, 1, 1), ([10, 3, 9, 8], 4, 3, 2, 1), ([3, 2, 6, 6], 3, 3, 1, 0),
            ([17, 6, 5, 5], 3, 1, 1, 0),
        ])
    }
}
