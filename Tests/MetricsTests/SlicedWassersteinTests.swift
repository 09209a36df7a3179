import Foundation
import TestSupport
import XCTest
@testable import Metrics
import Formats
import Tensors

let fixtures = TestPaths.fixtures

final class SlicedWassersteinTests: XCTestCase {
    /// The reference's projections and values (checked there against POT): rel 1e-5.
    func testMatchesReferenceFixture() throws {
        let f = try SafeTensors.read("\(fixtures)/metrics/tensors.safetensors")
        let (result, perProjection) = try SlicedWasserstein.compute(
            try f.tensor("x"), try f.tensor("y"), projections: try f.tensor("proj.unit"))
        XCTAssertEqual(result.sw2, 0.3188666105270386, accuracy: 1e-5 * 0.3188666105270386)
        XCTAssertEqual(result.msw2, 0.691080629825592, accuracy: 1e-5 * 0.691080629825592)
        XCTAssertEqual(result.argmaxProjection, 2732)
        XCTAssertEqual(result.numProjections, 4096)
        let ref = try f.tensor("per_projection_w2sq").data
        for i in 0..<4096 { XCTAssertEqual(perProjection[i], Double(ref[i]), accuracy: 1e-5 * Double(ref[i]) + 1e-9) }
    }

    /// Same law, zeros, N(0, I) at the spec §6 scale (N = 10k, D = 256, L = 64·D): the
    /// baselines ≈ 0.017, ≈ 1.00 and ≈ 0.63 for rank-one data scaled to unit total variance per
    /// dimension (x = √D·z·e₃). Tolerances are a few times the spread over seeds.
    func testSanityBaselines() throws {
        let n = 10_000, d = 256
        func rankOne(_ seed: UInt64) -> Tensor {
            let z = RandomStream(seed: seed, purpose: .test).normals(n)
            var x = Tensor(zeros: [n, d])
            for i in 0..<n { x.data[i * d + 3] = z[i] * Float(d).squareRoot() }
            return x
        }
        let p = SlicedWasserstein.randomProjections(count: 64 * d, dimension: d, seed: 1)
        let same = try SlicedWasserstein.compute(rankOne(1), rankOne(2), projections: p).0
        let zeros = try SlicedWasserstein.compute(rankOne(1), Tensor(zeros: [n, d]), projections: p).0
        let gaussian = try SlicedWasserstein.compute(
            rankOne(1), RandomStream(seed: 9, purpose: .test).normalTensor([n, d]), projections: p
        ).0
        XCTAssertEqual(same.sw2, 0.017, accuracy: 0.01)
        XCTAssertEqual(zeros.sw2, 1, accuracy: 0.02)
        XCTAssertEqual(gaussian.sw2, 0.63, accuracy: 0.02)
    }

    func testThreadCountInvarianceAndErrors() throws {
        let a = RandomStream(seed: 1, purpose: .test).normalTensor([300, 16])
        let b = RandomStream(seed: 2, purpose: .test).normalTensor([300, 16])
        let p = SlicedWasserstein.randomProjections(count: 1000, dimension: 16, seed: 3)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        let one = try SlicedWasserstein.compute(a, b, projections: p).0
        Parallel.threadCount = 2
        XCTAssertEqual(try SlicedWasserstein.compute(a, b, projections: p).0, one)
        XCTAssertThrowsError(
            try SlicedWasserstein.compute(
                a, RandomStream(seed: 2, purpose: .test).normalTensor([299, 16]), projections: p)
        ) {
            XCTAssertTrue("\($0)".contains("300 samples"), "\($0)")
        }
        var nan = a
        nan.data[5] = .nan
        XCTAssertThrowsError(try SlicedWasserstein.compute(nan, b, projections: p))
        XCTAssertThrowsError(try SlicedWasserstein.compute(a, b, projections: Arithmetic.scale(p, 2))) {
            XCTAssertTrue("\($0)".contains("unit vector"), "\($0)")
        }
        // Unit rows.
        for i in 0..<5 {
            XCTAssertEqual(p.data[(i * 16)..<(i * 16 + 16)].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
    }
}
