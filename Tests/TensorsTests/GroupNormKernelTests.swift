import CKernels
import XCTest

@testable import Tensors

/// The group-norm C kernels against the Swift loops they replaced, bit for bit, and the fused
/// SiLU(GroupNorm(x)) against the two ops apart (values and gradients).
final class GroupNormKernelTests: XCTestCase {
    func testMomentsMatchTheSwiftLoop() {
        // Group sizes with and without a tail of n mod 4, group counts with and without a
        // remainder of eight- and four-group blocks (eight go in pairs); an offset mean so that
        // the two passes matter.
        let cases = [(256, 8), (256, 32), (16, 5), (64, 13), (7, 3), (1, 6), (13, 4), (4, 21), (7, 9), (6, 17)]
        for (count, groups) in cases {
            let x = RandomStream(seed: 9, purpose: .test, index: UInt64(count)).normalTensor(
                [groups * count], mean: 3, std: 2
            ).data
            var means = [Double](repeating: 0, count: groups), variances = means
            sad_group_moments(x, count, groups, &means, &variances)
            x.withUnsafeBufferPointer { px in
                for g in 0..<groups {
                    let (mean, variance) = ReferenceGroupSums.moments(px.baseAddress! + g * count, count)
                    XCTAssertEqual(means[g].bitPattern, mean.bitPattern, "mean \(count)×\(groups) group \(g)")
                    XCTAssertEqual(variances[g].bitPattern, variance.bitPattern, "variance \(count)×\(groups)")
                }
            }
        }
    }

    func testGradientSumsAndDxMatchTheSwiftLoops() {
        for (n, planes) in [(256, 9), (6, 4), (3, 2), (17, 5), (6, 8), (17, 13), (1, 16)] {
            let g = RandomStream(seed: 10, purpose: .test, index: 0).normalTensor([planes * n]).data
            let h = RandomStream(seed: 10, purpose: .test, index: 1).normalTensor([planes * n]).data
            var sumG = [Double](repeating: 0, count: planes), sumGH = sumG
            sad_group_gradient_sums(g, h, n, planes, &sumG, &sumGH)
            g.withUnsafeBufferPointer { pg in
                h.withUnsafeBufferPointer { ph in
                    for q in 0..<planes {
                        let (a, b) = ReferenceGroupSums.gradientSums(
                            pg.baseAddress! + q * n, ph.baseAddress! + q * n, n)
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

    func testNormalizeIsTheScalarFormula() {
        // Lengths on and off the 8-lane grid.
        for n in [1, 7, 8, 23, 256] {
            let x = RandomStream(seed: 11, purpose: .test, index: UInt64(n)).normalTensor([n], mean: 2, std: 3).data
            let (mean, inv) = (1.75, 0.37)
            var xHat = [Float](repeating: .nan, count: n)
            sad_group_normalize(x, n, mean, inv, &xHat)
            for i in 0..<n {
                XCTAssertEqual(xHat[i].bitPattern, Float((Double(x[i]) - mean) * inv).bitPattern, "\(n) element \(i)")
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

/// The Swift loops the C kernels replaced (until 0.4.0 in GroupNorm.swift), kept here as the
/// specification of their summation order.
enum ReferenceGroupSums {
    /// Mean and biased variance in Float64, two passes, four accumulators (element i to i mod 4,
    /// the tail to accumulator 0), combined as (a0 + a1) + (a2 + a3).
    static func moments(_ x: UnsafePointer<Float>, _ count: Int) -> (mean: Double, variance: Double) {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= count {
            s0 += Double(x[i]); s1 += Double(x[i + 1]); s2 += Double(x[i + 2]); s3 += Double(x[i + 3])
            i += 4
        }
        while i < count { s0 += Double(x[i]); i += 1 }
        let mean = ((s0 + s1) + (s2 + s3)) / Double(count)
        var v0 = 0.0, v1 = 0.0, v2 = 0.0, v3 = 0.0
        i = 0
        while i + 4 <= count {
            let d0 = Double(x[i]) - mean, d1 = Double(x[i + 1]) - mean
            let d2 = Double(x[i + 2]) - mean, d3 = Double(x[i + 3]) - mean
            v0 += d0 * d0; v1 += d1 * d1; v2 += d2 * d2; v3 += d3 * d3
            i += 4
        }
        while i < count { let d = Double(x[i]) - mean; v0 += d * d; i += 1 }
        return (mean, ((v0 + v1) + (v2 + v3)) / Double(count))
    }

    /// (Σ g, Σ g·h) in Float64, element i to accumulator i mod 4 (the tail too), combined as
    /// (a0 + a1) + (a2 + a3).
    static func gradientSums(_ g: UnsafePointer<Float>, _ h: UnsafePointer<Float>, _ n: Int) -> (Double, Double) {
        var sg = SIMD4<Double>(), sgh = SIMD4<Double>()
        var i = 0
        while i + 4 <= n {
            let gv = SIMD4<Double>(Double(g[i]), Double(g[i + 1]), Double(g[i + 2]), Double(g[i + 3]))
            let hv = SIMD4<Double>(Double(h[i]), Double(h[i + 1]), Double(h[i + 2]), Double(h[i + 3]))
            sg += gv
            sgh += gv * hv
            i += 4
        }
        while i < n {
            sg[i % 4] += Double(g[i])
            sgh[i % 4] += Double(g[i]) * Double(h[i])
            i += 1
        }
        return ((sg[0] + sg[1]) + (sg[2] + sg[3]), (sgh[0] + sgh[1]) + (sgh[2] + sgh[3]))
    }
}
