import Foundation
import XCTest
@testable import Experiments
import Geometry
import Tensors

final class AlignmentTests: XCTestCase {
    func randomSPD(_ d: Int, seed: UInt64, decay: Double) throws -> [Double] {
        let q = try RandomOrthogonal.matrix(n: d, stream: RandomStream(seed: seed, purpose: .test, index: 0))
        var m = [Double](repeating: 0, count: d * d)
        for k in 0..<d {
            let lambda = pow(decay, Double(k));
            for i in 0..<d { for j in 0..<d { m[i * d + j] += lambda * q[i * d + k] * q[j * d + k] } }
        }
        return m
    }

    func testRandomOrthogonalIsOrthogonalAndDeterministic() throws {
        let d = 40
        let q = try RandomOrthogonal.matrix(n: d, stream: RandomStream(seed: 3, purpose: .test, index: 1))
        for i in 0..<d {
            for j in 0..<d {
                let dot = (0..<d).reduce(0.0) { $0 + q[i * d + $1] * q[j * d + $1] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-12)
            }
        }
        XCTAssertEqual(q, try RandomOrthogonal.matrix(n: d, stream: RandomStream(seed: 3, purpose: .test, index: 1)))
    }

    /// Theorem 2: α(W_min) ≤ α(W) ≤ α(W_max) for 1000 random orthogonal W, and the extremes
    /// equal Σλ_iν_{D+1−i} and Σλ_iν_i.
    func testTheorem2BoundsHoldForRandomOrthogonalW() throws {
        let d = 24
        let a = try Alignment(
            networkGeometry: try randomSPD(d, seed: 1, decay: 0.8),
            dataSecondMoment: try randomSPD(d, seed: 2, decay: 0.7), dimension: d)
        let (lo, hi) = a.alphaBounds
        XCTAssertEqual(a.alpha(a.wMin), lo, accuracy: 1e-10 * hi)
        XCTAssertEqual(a.alpha(a.wMax), hi, accuracy: 1e-10 * hi)
        XCTAssertLessThan(lo, a.alpha(nil))
        XCTAssertLessThan(a.alpha(nil), hi)
        for k in 0..<1000 {
            let w = try RandomOrthogonal.matrix(n: d, stream: RandomStream(seed: 9, purpose: .test, index: UInt64(k)))
            let alpha = a.alpha(w)
            XCTAssertGreaterThanOrEqual(alpha, lo * (1 - 1e-12), "W \(k)")
            XCTAssertLessThanOrEqual(alpha, hi * (1 + 1e-12), "W \(k)")
        }
        // W_max maps the data's top eigenvector onto the top SAD.
        let w = a.wMax
        let v0 = (0..<d).map { a.data.vectors[$0] }, u0 = (0..<d).map { a.network.vectors[$0] }
        let mapped = (0..<d).map { i in (0..<d).reduce(0.0) { $0 + w[i * d + $1] * v0[$1] } }
        XCTAssertEqual(abs(zip(mapped, u0).reduce(0.0) { $0 + $1.0 * $1.1 }), 1, accuracy: 1e-10)
    }

    func testWindowedProjectionEnergy() throws {
        let d = 16
        let e = try SymmetricEigen<Double>(symmetric: try randomSPD(d, seed: 4, decay: 0.8), n: d)
        XCTAssertEqual(windowedProjectionEnergy(e, e, halfWidth: 1), [Double](repeating: 1, count: d), accuracy: 1e-10)
        let f = try SymmetricEigen<Double>(symmetric: try randomSPD(d, seed: 5, decay: 0.8), n: d)
        let mean = windowedProjectionEnergy(e, f, halfWidth: 1).reduce(0, +) / Double(d)
        XCTAssertLessThan(mean, 0.5)  // unrelated bases: ≈ (2h+1)/D minus edge effects
    }

    func testStatistics() {
        XCTAssertEqual(Statistics.pearson([1, 2, 3, 4], [2, 4, 6, 8]), 1, accuracy: 1e-12)
        XCTAssertEqual(Statistics.spearman([1, 2, 3, 4], [1, 10, 100, 1000]), 1, accuracy: 1e-12)
        XCTAssertEqual(Statistics.standardError([1, 3]), 1, accuracy: 1e-12)
        XCTAssertTrue(Statistics.mean([]).isNaN)
    }
}

private func XCTAssertEqual(
    _ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
