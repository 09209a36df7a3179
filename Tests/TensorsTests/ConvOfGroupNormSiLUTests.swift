import XCTest

@testable import Tensors

/// `conv2dOfGroupNormSiLU` at inference against `conv2d(groupNormSiLU(x))` (+ addend), bit for
/// bit: through every input-transform path the fused prologue feeds (16-, 8- and 4-wide planes
/// in groups, the padded widths, the plane-by-plane kernel beyond 32), with and without an
/// addend, several channels per group, the im2col fallback, and while recording gradients
/// (where it must be the two ops apart, gradients included).
final class ConvOfGroupNormSiLUTests: XCTestCase {
    func stream(_ index: UInt64) -> RandomStream { RandomStream(seed: 8, purpose: .test, index: index) }

    func assertFusedIsUnfused(
        _ input: [Int], outChannels o: Int, groups: Int, addend: String?, recording: Bool = false,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let c = input[1]
        let x = stream(0).normalTensor(input, mean: 0.3, std: 1.5)
        let gamma = stream(1).normalTensor([c], mean: 1, std: 0.3), beta = stream(2).normalTensor([c], std: 0.3)
        let w = stream(3).normalTensor([o, c, 3, 3], std: 0.2), b = stream(4).normalTensor([o])
        let outShape = [input[0], o, input[2], input[3]]
        let a: Tensor? =
            switch addend {
            case "channel": stream(5).normalTensor([input[0], o, 1, 1])
            case "full": stream(5).normalTensor(outShape)
            default: nil
            }
        func run(_ fused: Bool) -> (Tensor, [Tensor?]) {
            let vs = [x, gamma, beta, w, b].map { Variable($0, requiresGradient: recording) }
            let av = a.map { Variable($0, requiresGradient: recording) }
            let y: Variable
            if fused {
                y = conv2dOfGroupNormSiLU(
                    vs[0], groups: groups, normWeight: vs[1], normBias: vs[2], weight: vs[3], bias: vs[4],
                    padding: 1, adding: av)
            } else {
                let h = groupNormSiLU(vs[0], groups: groups, weight: vs[1], bias: vs[2])
                y =
                    av.map { conv2d(h, weight: vs[3], bias: vs[4], padding: 1, adding: $0) }
                    ?? conv2d(h, weight: vs[3], bias: vs[4], padding: 1)
            }
            if recording { y.backward(seed: stream(6).normalTensor(outShape)) }
            return (y.value, vs.map(\.gradient))
        }
        let (fused, fusedGradients) = run(true)
        let (unfused, gradients) = run(false)
        XCTAssertEqual(fused.shape, outShape, file: file, line: line)
        XCTAssertEqual(fused.data.map(\.bitPattern), unfused.data.map(\.bitPattern), "\(input)", file: file, line: line)
        for (u, v) in zip(fusedGradients, gradients) {
            XCTAssertEqual(u?.data.map(\.bitPattern), v?.data.map(\.bitPattern), "∂ \(input)", file: file, line: line)
        }
    }

    func testWinogradPathsAreBitwiseTheTwoOpsApart() {
        // (input, output channels, groups, addend): grouped widths 16, 8, 4 (with a partial last
        // chunk), padded 28 / 14 / 7 and odd sizes, two channels per group, the plane-by-plane
        // kernel at width 34.
        let cases: [([Int], Int, Int, String?)] = [
            ([6, 8, 16, 16], 8, 8, "channel"), ([9, 8, 8, 8], 6, 4, "full"), ([33, 4, 4, 4], 4, 4, nil),
            ([2, 6, 28, 28], 5, 3, "full"), ([5, 4, 14, 14], 4, 2, "channel"), ([11, 4, 7, 7], 3, 4, nil),
            ([5, 4, 13, 9], 4, 4, "full"), ([1, 4, 34, 34], 4, 2, "channel"),
        ]
        for (input, o, groups, addend) in cases {
            XCTAssertTrue(
                WinogradConv.isChosen(
                    Conv2d.Geometry(input: input, weight: [o, input[1], 3, 3], stride: 1, padding: 1),
                    batch: input[0]),
                "\(input) should take the Winograd path")
            assertFusedIsUnfused(input, outChannels: o, groups: groups, addend: addend)
        }
    }

    func testIm2colFallbackAndRecordingAreTheTwoOpsApart() {
        // One 16×16 image is below Winograd's threshold; with gradients recorded, the fused op
        // must be the recorded pair (values and every gradient).
        assertFusedIsUnfused([1, 4, 16, 16], outChannels: 4, groups: 4, addend: "channel")
        assertFusedIsUnfused([6, 4, 16, 16], outChannels: 4, groups: 2, addend: "full", recording: true)
    }
}
