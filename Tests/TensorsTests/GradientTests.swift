import XCTest
@testable import Tensors

/// Finite-difference checks for every op (see GradientCheck for the tolerance rationale).
final class GradientTests: XCTestCase {
    let tolerance = 1e-2

    func normal(_ shape: [Int], _ index: UInt64, std: Float = 1) -> Tensor {
        RandomStream(seed: 42, purpose: .test, index: index).normalTensor(shape, std: std)
    }

    func assertGradients(
        _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
        _ f: @escaping ([Variable]) -> Variable
    ) {
        let report = GradientCheck.check(inputs, f)
        XCTAssertLessThan(report.worst, tolerance, "\(report)", file: file, line: line)
        XCTAssertTrue(report.relativeErrors.allSatisfy { $0.isFinite }, file: file, line: line)
    }

    func testArithmeticWithBroadcasting() {
        let a = normal([2, 3, 4], 1), b = normal([3, 1], 2), c = normal([4], 3)
        assertGradients([a, b]) { $0[0] + $0[1] }
        assertGradients([a, b]) { $0[0] - $0[1] }
        assertGradients([a, b]) { $0[0] * $0[1] }
        assertGradients([a, c]) { $0[0] * $0[1] }
        assertGradients([a]) { $0[0] * 0.37 }
        assertGradients([b, a]) { $0[0] - $0[1] }
    }

    func testMatmulBatchedAndShared() {
        assertGradients([normal([2, 3, 4, 5], 1), normal([2, 3, 5, 6], 2)]) { matmul($0[0], $0[1]) }
        assertGradients([normal([3, 4, 5], 1), normal([5, 2], 2)]) { matmul($0[0], $0[1]) }
    }

    func testLinear() {
        assertGradients([normal([2, 3, 5], 1), normal([4, 5], 2), normal([4], 3)]) {
            linear($0[0], weight: $0[1], bias: $0[2])
        }
        assertGradients([normal([7, 5], 1), normal([4, 5], 2)]) { linear($0[0], weight: $0[1], bias: nil) }
    }

    func testConv2dStridesAndPadding() {
        for (stride, padding, k) in [(1, 1, 3), (2, 1, 3), (1, 0, 3), (2, 0, 2), (1, 0, 1)] {
            assertGradients([normal([2, 3, 7, 6], 1), normal([4, 3, k, k], 2, std: 0.3), normal([4], 3)]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], stride: stride, padding: padding)
            }
        }
        assertGradients([normal([2, 3, 5, 5], 1), normal([2, 3, 3, 3], 2)]) {
            conv2d($0[0], weight: $0[1], bias: nil, stride: 1, padding: 1)
        }
    }

    func testConv2dAddingAddend() {
        // Per (image, channel), as the ResBlock's embedding; element-wise, as its residual.
        assertGradients([
            normal([2, 3, 5, 4], 1), normal([4, 3, 3, 3], 2, std: 0.3), normal([4], 3), normal([2, 4, 1, 1], 4),
        ]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1, adding: $0[3])
        }
        assertGradients([normal([2, 3, 5, 5], 1), normal([2, 3, 3, 3], 2, std: 0.3), normal([2, 2, 3, 3], 3)]) {
            conv2d($0[0], weight: $0[1], bias: nil, stride: 2, padding: 1, adding: $0[2])
        }
    }

    func testConv1dPointwise() {
        assertGradients([normal([2, 6, 5], 1), normal([9, 6, 1], 2), normal([9], 3)]) {
            conv1d($0[0], weight: $0[1], bias: $0[2])
        }
    }

    func testPoolingAndUpsampling() {
        assertGradients([normal([2, 3, 6, 4], 1)]) { $0[0].avgPool2x2() }
        assertGradients([normal([2, 3, 5, 5], 1)]) { $0[0].avgPool2x2() }
        assertGradients([normal([2, 3, 3, 4], 1)]) { $0[0].upsampleNearest2x() }
    }

    func testGroupNorm() {
        // One channel per group (the U-Net case), several channels per group, and no affine.
        assertGradients([normal([2, 4, 3, 3], 1), normal([4], 2), normal([4], 3)]) {
            groupNorm($0[0], groups: 4, weight: $0[1], bias: $0[2])
        }
        assertGradients([normal([2, 6, 5], 1), normal([6], 2), normal([6], 3)]) {
            groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2])
        }
        assertGradients([normal([3, 4, 4], 1)]) { groupNorm($0[0], groups: 2, weight: nil, bias: nil) }
    }

    func testGroupNormSiLU() {
        assertGradients([normal([2, 4, 3, 3], 1), normal([4], 2), normal([4], 3)]) {
            groupNormSiLU($0[0], groups: 4, weight: $0[1], bias: $0[2])
        }
        assertGradients([normal([3, 4, 5], 1)]) { groupNormSiLU($0[0], groups: 2, weight: nil, bias: nil) }
    }

    func testLayerNorm() {
        assertGradients([normal([3, 4, 8], 1), normal([8], 2), normal([8], 3)]) {
            layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-6)
        }
        assertGradients([normal([5, 6], 1)]) { layerNorm($0[0], eps: 1e-6) }
    }

    func testActivations() {
        assertGradients([normal([4, 7], 1, std: 2)]) { $0[0].silu() }
        assertGradients([normal([4, 7], 1, std: 2)]) { $0[0].gelu() }
        assertGradients([normal([3, 5], 1)]) { $0[0].softmax() }
    }

    func testAttention() {
        assertGradients([normal([2, 2, 5, 4], 1), normal([2, 2, 6, 4], 2), normal([2, 2, 6, 3], 3)]) {
            scaledDotProductAttention(q: $0[0], k: $0[1], v: $0[2])
        }
        assertGradients([normal([3, 4, 4], 1), normal([3, 4, 4], 2), normal([3, 4, 4], 3)]) {
            scaledDotProductAttention(q: $0[0], k: $0[1], v: $0[2], scale: 0.3)
        }
        assertGradients([normal([3, 2, 2, 5, 4], 4)]) { scaledDotProductAttention(packed: $0[0]) }
    }

    /// Packed q, k, v give bitwise the separate operands' output and gradients.
    func testPackedAttentionMatchesSeparate() {
        let qkv = normal([3, 2, 3, 6, 4], 5), dy = normal([2, 3, 6, 4], 6)
        let parts = (0..<3).map { Concat.slice(qkv, axis: 0, range: $0..<($0 + 1)).reshaped([2, 3, 6, 4]) }
        let (y, p) = Attention.forward(q: parts[0], k: parts[1], v: parts[2])
        let (packedY, packedP) = Attention.forward(packed: qkv)
        XCTAssertEqual(packedY.data, y.data)
        XCTAssertEqual(packedY.shape, [2, 3, 6, 4])
        XCTAssertEqual(packedP.data, p.data)
        let (dq, dk, dv) = Attention.backward(q: parts[0], k: parts[1], v: parts[2], probabilities: p, dy)
        let packedGradient = Attention.backward(packed: qkv, probabilities: packedP, dy)
        XCTAssertEqual(packedGradient.shape, qkv.shape)
        XCTAssertEqual(packedGradient.data, dq.data + dk.data + dv.data)
    }

    func testShapeOps() {
        let a = normal([2, 3, 4], 1), b = normal([2, 2, 4], 2)
        assertGradients([a, b]) { concat([$0[0], $0[1]], axis: 1) }
        assertGradients([a]) { $0[0].permuted([2, 0, 1]) }
        assertGradients([a]) { $0[0].reshaped([6, 4]).permuted([1, 0]) }
        assertGradients([a]) { x in
            let parts = x[0].split([1, 3], axis: 2)
            return parts[0] * parts[1].slice(axis: 2, 0..<1)
        }
    }

    func testReductionsAndMSE() {
        let a = normal([3, 4], 1), b = normal([3, 4], 2)
        assertGradients([a]) { $0[0].sum() }
        assertGradients([a]) { $0[0].mean() }
        assertGradients([a]) { $0[0].sum(axis: 1) }
        assertGradients([a]) { $0[0].mean(axis: 0) }
        assertGradients([a, b]) { mse($0[0], $0[1]) }
    }

    /// A small composite network: gradients must flow through shared subexpressions.
    func testCompositeGraphWithReuse() {
        assertGradients([normal([2, 2, 4, 4], 1), normal([2, 2, 3, 3], 2, std: 0.5), normal([2], 3)]) { v in
            let h = conv2d(v[0], weight: v[1], bias: v[2], padding: 1).silu()
            let g = groupNorm(h, groups: 2, weight: nil, bias: nil)
            return (g + h * h).avgPool2x2().upsampleNearest2x() + v[0]
        }
    }

    func testBackwardAccumulatesIntoLeaves() {
        let x = Variable(Tensor(shape: [2], data: [1, 2]), requiresGradient: true)
        (x * x).sum().backward()
        (x * 3).sum().backward()
        XCTAssertEqual(x.gradient?.data, [2 + 3, 4 + 3])
    }

    func testNoGradientModeRecordsNothing() {
        let w = Variable(Tensor(shape: [2], data: [1, 2]), requiresGradient: true)
        let y = GradientMode.withoutGradients { (w * w).sum() }
        XCTAssertFalse(y.requiresGradient)
        XCTAssertTrue(y.parents.isEmpty)
        let z = (w * w).sum()
        XCTAssertTrue(z.requiresGradient)
    }

    func testGradientCheckerCatchesAWrongGradient() {
        // A deliberately wrong VJP (factor 2 missing) must fail the check.
        let report = GradientCheck.check([normal([5], 1)]) { v in
            Variable.record(Arithmetic.forward(v[0].value, v[0].value, .multiply), [v[0]]) {
                { dy in [Arithmetic.forward(dy, v[0].value, .multiply)] }
            }
        }
        XCTAssertGreaterThan(report.worst, 0.3)
    }
}
