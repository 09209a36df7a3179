import CKernels
import XCTest

@testable import Tensors

/// The group-norm C kernels against the Swift loops they replace, bit for bit, and the fused
/// SiLU(GroupNorm(x)) against the two ops apart (values and gradients).
final class GroupNormKernelTests: XCTestCase {
    func testMomentsMatchTheSwiftLoop() {
        // Group sizes with and without a tail of n mod 4, group counts with and without a
        // remainder of four-group blocks; an offset mean so that the two passes matter.
        for (count, groups) in [(256, 8), (16, 5), (7, 3), (1, 6), (13, 4)] {
            let x = RandomStream(seed: 9, purpose: .test, index: UInt64(count)).normalTensor(
                [groups * count], mean: 3, std: 2
            ).data
            var means = [Double](repeating: 0, count: groups), variances = means
            sad_group_moments(x, count, groups, &means, &variances)
            x.withUnsafeBufferPointer { px in
                for g in 0..<groups {
                    let (mean, variance) = GroupNorm.moments(px.baseAddress! + g * count, count)
                    XCTAssertEqual(means[g].bitPattern, mean.bitPattern, "mean \(count)×\(groups) group \(g)")
                    XCTAssertEqual(variances[g].bitPattern, variance.bitPattern, "variance \(count)×\(groups)")
                }
            }
        }
    }

    func testGradientSumsAndDxMatchTheSwiftLoops() {
        for (n, planes) in [(256, 9), (6, 4), (3, 2), (17, 5)] {
            let g = RandomStream(seed: 10, purpose: .test, index: 0).normalTensor([planes * n]).data
            let h = RandomStream(seed: 10, purpose: .test, index: 1).normalTensor([planes * n]).data
            var sumG = [Double](repeating: 0, count: planes), sumGH = sumG
            sad_group_gradient_sums(g, h, n, planes, &sumG, &sumGH)
            g.withUnsafeBufferPointer { pg in
                h.withUnsafeBufferPointer { ph in
                    for q in 0..<planes {
                        let (a, b) = GroupNorm.gradientSums(pg.baseAddress! + q * n, ph.baseAddress! + q * n, n)
                        XCTAssertEqual(sumG[q].bitPattern, a.bitPattern, "Σg \(n)×\(planes) plane \(q)")
                        XCTAssertEqual(sumGH[q].bitPattern, b.bitPattern, "Σgh \(n)×\(planes) plane \(q)")
                    }
                }
            }
            let (gamma, meanG, meanGH, inv) = (0.7, 0.01, -0.3, 1.9)
            var dx = [Float](repeating: .nan, count: planes * n)
            sad_group_norm_dx(g, h, planes * n, gamma, meanG, meanGH, inv, &dx)
            for i in 0..<(planes * n) {
                let expected = Float((Double(g[i]) * gamma - meanG - Double(h[i]) * meanGH) * inv)
                XCTAssertEqual(dx[i].bitPattern, expected.bitPattern)
            }
        }
    }

    func testFusedSiLUIsBitwiseTheTwoOpsApart() {
        // One channel per group with a spatial size off the 8-lane grid, and several channels per group.
        for (shape, groups) in [([3, 4, 5, 3], 4), ([2, 6, 9], 2)] {
            let c = shape[1]
            let x = RandomStream(seed: 5, purpose: .test, index: 0).normalTensor(shape, mean: 0.5, std: 2)
            let w = RandomStream(seed: 5, purpose: .test, index: 1).normalTensor([c])
            let b = RandomStream(seed: 5, purpose: .test, index: 2).normalTensor([c])
            let dy = RandomStream(seed: 5, purpose: .test, index: 3).normalTensor(shape)
            func run(_ fused: Bool) -> [[UInt32]] {
                let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
                let bv = Variable(b, requiresGradient: true)
                let y =
                    fused
                    ? groupNormSiLU(xv, groups: groups, weight: wv, bias: bv)
                    : groupNorm(xv, groups: groups, weight: wv, bias: bv).silu()
                (y * Variable(dy)).sum().backward()
                return [y.value, xv.gradient!, wv.gradient!, bv.gradient!].map { $0.data.map(\.bitPattern) }
            }
            XCTAssertEqual(run(true), run(false), "\(shape)")
            // Inference (nothing saved) gives the same values.
            let inference = GroupNorm.forward(x, groups: groups, weight: w, bias: b, saving: false, fusedSiLU: true).0
            XCTAssertEqual(inference.data.map(\.bitPattern), run(false)[0], "\(shape) inference")
        }
    }
}
