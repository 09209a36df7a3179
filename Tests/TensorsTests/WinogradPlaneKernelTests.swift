import CKernels
import XCTest

@testable import Tensors

/// The Winograd tile transforms over one channel of several images at once
/// (`sad_winograd_input_planes`, `_output_planes`, `_output_adjoint_planes`, used for widths
/// 4, 8 and 16)
/// against the plane-by-plane kernels: bitwise the same, for odd heights (half tiles), image
/// counts that leave a partial group of tile rows, and one-row planes.
final class WinogradPlaneKernelTests: XCTestCase {
    /// (images, h, w) cases: the grouped widths 4, 8, 16 with even and odd heights and group
    /// remainders (w = 16 in pairs of tile rows, w = 8 in fours, then the rest row by row:
    /// 3×5×16 leaves one tile row, 3×5×8 one, 2×6×8 two); the padded ones (5…7 in 8 lanes,
    /// 9…15 in 16, 17…32 in 32).
    let cases = [
        (5, 16, 16), (3, 7, 16), (3, 5, 16), (3, 8, 8), (1, 5, 8), (3, 5, 8), (2, 6, 8),
        (7, 4, 4), (5, 3, 4), (3, 1, 4), (2, 1, 8),
        (3, 28, 28), (2, 14, 14), (3, 7, 7), (2, 32, 32), (3, 5, 5), (1, 1, 6), (2, 9, 9), (2, 3, 15),
        (2, 17, 17), (3, 6, 31), (1, 2, 20),
    ]

    /// A row kernel over the planes of one channel: (x, plane stride, images, h, w, out, out stride).
    typealias PlanesKernel =
        @convention(c) (
            UnsafePointer<Float>?, Int, Int32, Int32, Int32, UnsafeMutablePointer<Float>?, Int
        ) -> Int32
    /// Its plane-by-plane twin: (plane, h, w, out, out stride, scratch).
    typealias PlaneKernel =
        @convention(c) (
            UnsafePointer<Float>?, Int32, Int32, UnsafeMutablePointer<Float>?, Int, UnsafeMutablePointer<Float>?
        ) -> Void

    /// For every case and each channel of random (images, 3, h, w) planes: the 16 transformed
    /// blocks (tile row s = j·th + ty) from one `planes` call and from `perPlane` image by image
    /// (image j at column j·T), into NaN-filled buffers compared bit for bit (padding included).
    func assertPlanesMatchPerPlane(_ planes: PlanesKernel, _ perPlane: PlaneKernel, _ label: String, seed: UInt64) {
        for (images, h, w) in cases {
            let channels = 3, th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw
            let x = RandomStream(seed: seed, purpose: .test, index: 0).normalTensor([images, channels, h, w]).data
            let stride = images * tiles + 5
            for ch in 0..<channels {
                var fast = [Float](repeating: .nan, count: 16 * stride)
                var slow = fast
                // Enough scratch for either plane-by-plane kernel; zero, as the input transform needs.
                var scratch = [Float](repeating: 0, count: 4 * (2 * th + 2) * (tw + 8))
                let handled = x.withUnsafeBufferPointer { px in
                    planes(
                        px.baseAddress! + ch * h * w, channels * h * w, Int32(images), Int32(h), Int32(w), &fast, stride
                    )
                }
                XCTAssertEqual(handled, 1, label)
                for j in 0..<images {
                    x.withUnsafeBufferPointer { px in
                        slow.withUnsafeMutableBufferPointer { ps in
                            perPlane(
                                px.baseAddress! + (j * channels + ch) * h * w, Int32(h), Int32(w),
                                ps.baseAddress! + j * tiles, stride, &scratch)
                        }
                    }
                }
                XCTAssertEqual(fast.map(\.bitPattern), slow.map(\.bitPattern), "\(label) \(images)×\(h)×\(w)")
            }
        }
    }

    func testInputPlanesMatchPlaneByPlane() {
        assertPlanesMatchPerPlane(sad_winograd_input_planes, sad_winograd_input, "input", seed: 3)
    }

    func testOutputAdjointPlanesMatchPlaneByPlane() {
        assertPlanesMatchPerPlane(sad_winograd_output_adjoint_planes, sad_winograd_output_adjoint, "adjoint", seed: 6)
    }

    func testOutputPlanesMatchPlaneByPlane() {
        for (images, h, w) in cases {
            let th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw, outChannels = 2
            let mStride = images * tiles + 3
            let m = RandomStream(seed: 4, purpose: .test, index: 0).normalTensor([16 * mStride]).data
            for oc in 0..<outChannels {
                var fast = [Float](repeating: .nan, count: images * outChannels * h * w)
                var slow = fast
                var scratch = [Float](repeating: 0, count: 4 * tw)
                let handled = m.withUnsafeBufferPointer { pm in
                    fast.withUnsafeMutableBufferPointer { pf in
                        sad_winograd_output_planes(
                            pm.baseAddress!, mStride, Int32(images), Int32(h), Int32(w), 0.25,
                            pf.baseAddress! + oc * h * w, outChannels * h * w)
                    }
                }
                XCTAssertEqual(handled, 1)
                for j in 0..<images {
                    m.withUnsafeBufferPointer { pm in
                        slow.withUnsafeMutableBufferPointer { ps in
                            sad_winograd_output(
                                pm.baseAddress! + j * tiles, mStride, Int32(h), Int32(w), 0.25,
                                ps.baseAddress! + (j * outChannels + oc) * h * w, &scratch)
                        }
                    }
                }
                // Planes of other channels stay NaN in both: the bit patterns compare them too.
                XCTAssertEqual(fast.map(\.bitPattern), slow.map(\.bitPattern), "output \(images)×\(h)×\(w)")
            }
        }
    }

    func testPlaneSumsAreInOrderFloatSums() {
        for (planes, n) in [(19, 16), (8, 64), (3, 7)] {
            let x = RandomStream(seed: 8, purpose: .test, index: 0).normalTensor([planes * n + 5]).data
            var sums = [Float](repeating: .nan, count: planes)
            sad_plane_sums(x, n, n, planes, &sums)
            for q in 0..<planes {
                var s: Float = 0
                for i in 0..<n { s += x[q * n + i] }
                XCTAssertEqual(sums[q].bitPattern, s.bitPattern, "plane \(q) of \(planes)")
            }
        }
    }

    func testOtherWidthsAreDeclined() {
        for w in [1, 2, 3, 33, 40] {
            var v = [Float](repeating: .nan, count: 16 * 2 * 21)
            let x = [Float](repeating: 1, count: 2 * w)
            XCTAssertEqual(sad_winograd_input_planes(x, 2 * w, 1, 2, Int32(w), &v, 21), 0)
            XCTAssertEqual(sad_winograd_output_planes(x, 1, 1, 2, Int32(w), 0, &v, 2 * w), 0)
            XCTAssertEqual(sad_winograd_output_adjoint_planes(x, 2 * w, 1, 2, Int32(w), &v, 21), 0)
            XCTAssertTrue(v.allSatisfy(\.isNaN), "width \(w): nothing written")
            XCTAssertFalse(WinogradConv.hasRowKernels(width: w))
        }
    }
}
