import XCTest
@testable import Datasets
import Tensors

final class OrthogonalTransformTests: XCTestCase {
    func testRoundTripAndRefusal() throws {
        // A Householder reflection is orthogonal.
        let d = 16
        let v = RandomStream(seed: 1, purpose: .test).normals(d)
        let vv = v.reduce(0) { $0 + $1 * $1 }
        var w = Tensor(zeros: [d, d])
        for i in 0..<d { for j in 0..<d { w.data[i * d + j] = (i == j ? 1 : 0) - 2 * v[i] * v[j] / vv } }
        let t = try OrthogonalTransform(w)
        let x = RandomStream(seed: 2, purpose: .test).normalTensor([5, 1, 4, 4])
        let y = try t.apply(x)
        XCTAssertEqual(y.norm, x.norm, accuracy: 1e-4)
        XCTAssertLessThan(try t.apply(y, inverse: true).maxAbsDifference(x), 1e-5)
        var bad = w
        bad.data[0] += 0.1
        XCTAssertThrowsError(try OrthogonalTransform(bad)) { XCTAssertTrue("\($0)".contains("orthogonal")) }
        XCTAssertThrowsError(try t.apply(RandomStream(seed: 2, purpose: .test).normalTensor([5, 1, 4, 3])))
    }
}
