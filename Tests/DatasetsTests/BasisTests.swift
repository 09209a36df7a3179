import Foundation
import TestSupport
import XCTest
@testable import Datasets
import Formats
import Tensors

let fixtures = TestPaths.fixtures

final class BasisTests: XCTestCase {
    /// Every basis, exact ordering, abs 1e-6 (manifest tolerance).
    func testMatchesReferenceBases() throws {
        let f = try SafeTensors.read("\(fixtures)/bases-16x16/tensors.safetensors")
        for family in ["canonical", "dct", "dst", "hadamard", "haar"] {
            let (ours, _) = try Basis.all(family, shape: [1, 16, 16])
            let ref = try f.tensor(family)
            XCTAssertEqual(ours.shape, ref.shape, family)
            XCTAssertLessThanOrEqual(ours.maxAbsDifference(ref), 1e-6, family)
        }
        // Index arrays: the Haar order is given by them.
        let scale = try f.array("haar.scale").integers!, channel = try f.array("haar.channel").integers!
        let x = try f.array("haar.x").integers!, y = try f.array("haar.y").integers!
        let (_, indices) = try Basis.all("haar", shape: [1, 16, 16])
        for k in 0..<256 {
            XCTAssertEqual(indices[k], .haar(scale: scale[k], channel: channel[k], x: x[k], y: y[k]), "haar row \(k)")
        }
        let sx = try f.array("hadamard.sx").integers!, sy = try f.array("hadamard.sy").integers!
        let (_, h) = try Basis.all("hadamard", shape: [1, 16, 16])
        for k in 0..<256 { XCTAssertEqual(h[k], .hadamard(sx: sx[k], sy: sy[k])) }
    }

    func testSequencyAndOrthonormality() throws {
        for k in 0..<16 {
            let row = Basis.walsh(k, size: 16)
            XCTAssertEqual(zip(row, row.dropFirst()).filter { $0 != $1 }.count, k, "row \(k) sign changes")
        }
        for family in ["dct", "dst", "hadamard", "haar"] {
            let (v, _) = try Basis.all(family, shape: [1, 8, 8])
            for i in 0..<64 {
                for j in [i, (i + 5) % 64] {
                    var dot = 0.0
                    for k in 0..<64 { dot += Double(v.data[i * 64 + k]) * Double(v.data[j * 64 + k]) }
                    XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-6, "\(family) \(i)·\(j)")
                }
            }
        }
        // DCT works for 28×28; Haar and Hadamard refuse it.
        XCTAssertNoThrow(try Basis.dct(fx: 27, fy: 3).vector(shape: [1, 28, 28]))
        XCTAssertThrowsError(try Basis.hadamard(sx: 1, sy: 1).vector(shape: [1, 28, 28]))
        XCTAssertThrowsError(try Basis.all("haar", shape: [1, 28, 28]))
        XCTAssertThrowsError(try Basis.dct(fx: 16, fy: 0).vector(shape: [1, 16, 16])) {
            XCTAssertTrue("\($0)".contains("fx"))
        }
        XCTAssertThrowsError(try Basis.all("wavelet", shape: [1, 16, 16]))
    }

    /// NormalVVTDataset sample: 16·v·z given the reference's draws, abs 1e-6.
    func testRankOneSampleMatchesReference() throws {
        let f = try SafeTensors.read("\(fixtures)/bases-16x16/tensors.safetensors")
        let v = try Basis.hadamard(sx: 3, sy: 5).vector(shape: [1, 16, 16])
        XCTAssertLessThanOrEqual(v.maxAbsDifference(try f.tensor("sample.v")), 1e-7)
        let data = SyntheticData.rankOne(direction: v, z: try f.tensor("sample.z").data)
        XCTAssertLessThanOrEqual(data.maxAbsDifference(try f.tensor("sample.data")), 1e-6)
        let ours = try SyntheticData.rankOne(direction: v, count: 20_000, seed: 3)
        let energy = ours.data.reduce(0.0) { $0 + Double($1) * Double($1) } / 20_000
        XCTAssertEqual(energy, 256, accuracy: 8)
        XCTAssertThrowsError(
            try SyntheticData.rankOne(direction: Tensor(repeating: 1, shape: [1, 4, 4]), count: 2, seed: 1))
        let s = try SyntheticData.sphere(
            directions: [
                try Basis.dct(fx: 0, fy: 0).vector(shape: [1, 4, 4]),
                try Basis.dct(fx: 1, fy: 0).vector(shape: [1, 4, 4]),
                try Basis.dct(fx: 0, fy: 1).vector(shape: [1, 4, 4]),
            ], count: 10, seed: 2)
        for j in 0..<10 {
            XCTAssertEqual(s.data[(j * 16)..<(j * 16 + 16)].reduce(0) { $0 + $1 * $1 }, 16, accuracy: 1e-3)
        }
    }
}
