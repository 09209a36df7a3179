import Foundation
import XCTest
@testable import Diffusion
import Formats
import Tensors

/// ε* = σ_t Σ_t⁻¹ x_t of ``GaussianLaw`` against two independent computations: the
/// finite-difference gradient of the dense log-density, and the least-squares regression of
/// ε on x_t over a finite sample of the forward process (the posterior mean of a Gaussian is
/// linear, so the sample regression converges to it).
final class GaussianScoreTests: XCTestCase {
    /// Two orthonormal directions in R⁶ (Gram–Schmidt of fixed vectors), variances 5 and 0.3.
    func law() throws -> GaussianLaw {
        let d = 6
        var a = (0..<d).map { sin(Double($0) + 1) }, b = (0..<d).map { cos(2 * Double($0)) }
        let na = a.map { $0 * $0 }.reduce(0, +).squareRoot()
        a = a.map { $0 / na }
        let dot = zip(a, b).map(*).reduce(0, +)
        b = zip(b, a).map { $0 - dot * $1 }
        let nb = b.map { $0 * $0 }.reduce(0, +).squareRoot()
        b = b.map { $0 / nb }
        return try GaussianLaw(dimension: d, directions: a + b, variances: [5, 0.3])
    }

    /// Solves A y = r (dense, partial pivoting).
    func solve(_ matrix: [Double], _ rhs: [Double]) -> [Double] {
        let n = rhs.count
        var a = matrix, r = rhs
        for c in 0..<n {
            let p = (c..<n).max { abs(a[$0 * n + c]) < abs(a[$1 * n + c]) }!
            for k in 0..<n { a.swapAt(c * n + k, p * n + k) }
            r.swapAt(c, p)
            for i in (c + 1)..<n {
                let f = a[i * n + c] / a[c * n + c]
                for k in c..<n { a[i * n + k] -= f * a[c * n + k] }
                r[i] -= f * r[c]
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = r[i]
            for k in (i + 1)..<n { s -= a[i * n + k] * y[k] }
            y[i] = s / a[i * n + i]
        }
        return y
    }

    func testOptimalEpsilonIsMinusSigmaTimesTheFiniteDifferenceScore() throws {
        let law = try law(), d = 6
        let x = (0..<d).map { 0.7 * cos(3 * Double($0)) - 0.2 }
        for alphaBar in [0.9999, 0.9, 0.5, 0.01] {
            let cov = law.marginalCovariance(alphaBar: alphaBar)
            // log p(x) = −½ xᵀ Σ_t⁻¹ x + const; central differences with h = 1e-5.
            func logDensity(_ y: [Double]) -> Double { -0.5 * zip(y, solve(cov, y)).map(*).reduce(0, +) }
            let h = 1e-5
            let sigma = (1 - alphaBar).squareRoot()
            let star = law.optimalEpsilon(x[...], alphaBar: alphaBar)
            for q in 0..<d {
                var up = x, down = x
                up[q] += h
                down[q] -= h
                let score = (logDensity(up) - logDensity(down)) / (2 * h)
                XCTAssertEqual(star[q], -sigma * score, accuracy: 1e-5 * max(1, abs(star[q])), "ᾱ \(alphaBar) q \(q)")
            }
        }
    }

    func testOptimalEpsilonIsTheRegressionOfTheNoiseOnAFiniteSample() throws {
        let law = try law(), d = 6, n = 200_000, alphaBar = 0.6
        let x0 = law.sample(count: n, seed: 3, stream: 0)
        let noise = RandomStream(seed: 3, purpose: .noise).normals(n * d)
        var xx = [Double](repeating: 0, count: d * d), ex = [Double](repeating: 0, count: d * d)
        for i in 0..<n {
            let xt = (0..<d).map {
                alphaBar.squareRoot() * x0[i * d + $0] + (1 - alphaBar).squareRoot() * Double(noise[i * d + $0])
            }
            for p in 0..<d {
                for q in 0..<d {
                    xx[p * d + q] += xt[p] * xt[q]
                    ex[p * d + q] += Double(noise[i * d + p]) * xt[q]
                }
            }
        }
        // B = E[ε x_tᵀ] E[x_t x_tᵀ]⁻¹, column by column of Bᵀ = E[x xᵀ]⁻¹ E[x εᵀ].
        let probe = (0..<d).map { 0.5 - 0.2 * Double($0) }
        var predicted = [Double](repeating: 0, count: d)
        let solved = solve(xx, probe)
        for p in 0..<d { for q in 0..<d { predicted[p] += ex[p * d + q] * solved[q] } }
        let star = law.optimalEpsilon(probe[...], alphaBar: alphaBar)
        for p in 0..<d { XCTAssertEqual(predicted[p], star[p], accuracy: 0.02, "component \(p)") }
        // And the sample's second moment is Σ_t (the law samples what it describes).
        let cov = law.marginalCovariance(alphaBar: alphaBar)
        for k in 0..<(d * d) { XCTAssertEqual(xx[k] / Double(n), cov[k], accuracy: 0.03) }
    }

    func testRankOneLawAndRefusals() throws {
        var v = Tensor(zeros: [1, 2, 2])
        v.data = [0.5, 0.5, 0.5, 0.5]
        let law = try GaussianLaw.rankOne(v)
        XCTAssertEqual(law.variances, [4])
        // Along v the variance is ᾱ·4 + σ²; off v it is σ²: ε* = σ x/σ² off v.
        let x: [Double] = [1, -1, 0, 0]
        let star = law.optimalEpsilon(x[...], alphaBar: 0.5)
        for q in 0..<4 { XCTAssertEqual(star[q], 0.5.squareRoot() * x[q] / 0.5, accuracy: 1e-12) }
        XCTAssertThrowsError(try GaussianLaw(dimension: 2, directions: [1, 0, 1, 0], variances: [1, 1]))
        XCTAssertThrowsError(try GaussianLaw(dimension: 2, directions: [2, 0], variances: [1]))
        XCTAssertThrowsError(try GaussianLaw(dimension: 2, directions: [1, 0], variances: [0]))
        XCTAssertThrowsError(try GaussianLaw(dimension: 2, directions: [.nan, 0], variances: [1]))
        XCTAssertThrowsError(try GaussianLaw(dimension: 2, directions: [1, 0, 0], variances: [1]))
    }
}
