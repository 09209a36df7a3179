import Foundation
import XCTest
@testable import Experiments
import Metrics
import Tensors

/// The tests behind every claim verdict, against values computed independently.
final class ClaimStatisticsTests: XCTestCase {
    func testStudentTailMatchesClosedForms() {
        // ν = 1 is the Cauchy: P(T ≥ t) = 1/2 − atan(t)/π; ν = 2: P(T ≥ t) = (1 − t/√(t² + 2))/2.
        for t in [0.0, 0.3, 1, 2.5, 10] {
            XCTAssertEqual(Distributions.studentUpperTail(t, degrees: 1), 0.5 - atan(t) / .pi, accuracy: 1e-12)
            XCTAssertEqual(
                Distributions.studentUpperTail(t, degrees: 2), (1 - t / (t * t + 2).squareRoot()) / 2, accuracy: 1e-12)
            XCTAssertEqual(
                Distributions.studentUpperTail(-t, degrees: 5), 1 - Distributions.studentUpperTail(t, degrees: 5),
                accuracy: 1e-12)
        }
        // A table value: t = 2.015 is the one-sided 5 % point for ν = 5.
        XCTAssertEqual(Distributions.studentUpperTail(2.015, degrees: 5), 0.05, accuracy: 2e-4)
    }

    func testSignTestIsTheBinomialTail() {
        XCTAssertEqual(Distributions.binomialHalfUpperTail(3, of: 3), 0.125, accuracy: 1e-15)
        XCTAssertEqual(Distributions.binomialHalfUpperTail(4, of: 5), 6.0 / 32, accuracy: 1e-15)
        XCTAssertEqual(Distributions.binomialHalfUpperTail(0, of: 7), 1)
        XCTAssertEqual(Distributions.binomialHalfUpperTail(8, of: 7), 0)
    }

    func testPairedComparison() {
        let c = PairedComparison(smaller: [1, 2, 3], larger: [2, 4, 4])
        XCTAssertEqual(c.differences, [1, 2, 1])
        XCTAssertEqual(c.positive, 3)
        XCTAssertEqual(c.signTestP ?? .nan, 0.125, accuracy: 1e-15)
        // mean 4/3, sd 1/√3, se 1/3: t = 4 with 2 degrees of freedom.
        XCTAssertEqual(c.tTestP ?? .nan, (1 - 4 / 18.0.squareRoot()) / 2, accuracy: 1e-12)
        XCTAssertEqual(c.supports(), true)
        XCTAssertEqual(PairedComparison(smaller: [2, 4, 4], larger: [1, 2, 3]).supports(), false)
        // Failed units (NaN) drop out of the pairs; one pair is not testable.
        XCTAssertNil(PairedComparison(smaller: [1, .nan], larger: [2, 3]).supports())
    }

    func testRankCorrelationPValues() {
        // A perfect ordering of 5: only the identity is as extreme, p = 1/5!.
        let exact = RankCorrelation([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
        XCTAssertEqual(exact.rho ?? .nan, 1, accuracy: 1e-12)
        XCTAssertEqual(exact.pValue ?? .nan, 1.0 / 120, accuracy: 1e-15)
        XCTAssertEqual(RankCorrelation([1, 2, 3, 4, 5], [50, 40, 30, 20, 10]).pValue ?? .nan, 1, accuracy: 1e-15)
        // Beyond the exact limit: the permutation estimate, (k + 1)/(N + 1), is deterministic.
        let x = (0..<12).map(Double.init), y = x.map { $0 * $0 }
        let p = RankCorrelation(x, y)
        XCTAssertEqual(p.pValue ?? .nan, 1.0 / Double(RankCorrelation.permutations + 1), accuracy: 1e-12)
        XCTAssertEqual(p, RankCorrelation(x, y))
        // No association: a one-sided p near 1/2 (here exactly computable by symmetry to ± the null).
        let flat = RankCorrelation([1, 2, 3, 4, 5, 6], [3, 1, 5, 2, 6, 4])
        XCTAssertGreaterThan(flat.pValue ?? 0, 0.05)
        XCTAssertNil(RankCorrelation([1, 2], [1, 2]).pValue)
    }

    /// The Gaussian baseline draws from N(μ, Ĉ) of the training set: the sample moments of many
    /// draws approach the training set's.
    func testGaussianBaselineMatchesTheTrainingMoments() {
        let n = 50, d = 4
        var train = Tensor(zeros: [n, d])
        let z = RandomStream(seed: 1, purpose: .test).normals(n * d)
        for i in 0..<n {
            train.data[i * d + 0] = 3 + z[i * d]
            train.data[i * d + 1] = 2 * z[i * d] + 0.5 * z[i * d + 1]
            train.data[i * d + 2] = -1
            train.data[i * d + 3] = z[i * d + 3]
        }
        func moments(_ x: Tensor) -> (mean: [Double], cov: [Double]) {
            let m = x.shape[0]
            let mean = (0..<d).map { k in (0..<m).reduce(0.0) { $0 + Double(x.data[$1 * d + k]) } / Double(m) }
            var cov = [Double](repeating: 0, count: d * d)
            for i in 0..<m {
                for a in 0..<d {
                    for b in 0..<d {
                        cov[a * d + b] +=
                            (Double(x.data[i * d + a]) - mean[a]) * (Double(x.data[i * d + b]) - mean[b])
                            / Double(m - 1)
                    }
                }
            }
            return (mean, cov)
        }
        let (drawn, description) = FittedLaw.gaussian.draw(train: train, count: 40_000, seed: 3)
        XCTAssertTrue(description.contains("Gaussian"))
        let want = moments(train), got = moments(drawn)
        for k in 0..<d { XCTAssertEqual(got.mean[k], want.mean[k], accuracy: 0.05) }
        for k in 0..<(d * d) { XCTAssertEqual(got.cov[k], want.cov[k], accuracy: 0.08) }
        XCTAssertEqual(drawn.data, FittedLaw.gaussian.draw(train: train, count: 40_000, seed: 3).samples.data)
    }

    /// The zero sampler of rank-one data N(0, D v vᵀ) has SW₂ ≈ 1 (E(θ·x)² = D·E(θ·v)² = 1).
    func testZeroSamplerOfRankOneData() throws {
        let d = 64
        var v = Tensor(zeros: [1, 8, 8])
        v.data[9] = 1
        let z = RandomStream(seed: 4, purpose: .test).normals(2000)
        var x = Tensor(zeros: [2000, 1, 8, 8])
        for j in 0..<2000 { x.data[j * d + 9] = Float(d).squareRoot() * z[j] }
        let scores = try FittedLaw.rankOne(direction: v).scores(
            train: x, reference: x, directions: .random(count: 4096, seed: 1), seed: 0)
        XCTAssertEqual(scores.zeros.sw2, 1, accuracy: 0.1)
        XCTAssertLessThan(scores.fitted.sw2, 0.2)
    }

    /// A verdict tells "not significant" (right direction, p ≥ α) from "contradicted".
    func testVerdictsSeparateNotSignificantFromContradicted() {
        let evidence = Claim.Evidence(summary: "s", test: "t")
        func claim(_ holds: Bool?, _ direction: Bool?) -> String {
            Claim(id: "x", statement: "s", holds: holds, directionAgrees: direction, evidence: evidence).verdict
        }
        XCTAssertEqual(claim(true, true), "held")
        XCTAssertTrue(claim(false, true).contains("not significant"))
        XCTAssertEqual(claim(false, false), "did NOT hold")
        XCTAssertEqual(claim(false, nil), "did NOT hold")
        XCTAssertEqual(claim(nil, true), "not testable at this profile")
    }
}
