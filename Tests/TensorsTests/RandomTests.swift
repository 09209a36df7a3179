import XCTest
@testable import Tensors
import CKernels

final class RandomTests: XCTestCase {
    /// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
    func testPhiloxKnownAnswers() {
        XCTAssertEqual(
            Philox.block(counter: SIMD4(0, 0, 0, 0), key: SIMD2(0, 0)),
            SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        XCTAssertEqual(
            Philox.block(counter: SIMD4(repeating: 0xffff_ffff), key: SIMD2(repeating: 0xffff_ffff)),
            SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        XCTAssertEqual(
            Philox.block(
                counter: SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                key: SIMD2(0xa409_3822, 0x299f_31d0)),
            SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    func testVectorisedBlocksMatchScalar() {
        let key = SIMD2<UInt32>(0xdead_beef, 12)
        var words = [UInt32](repeating: 0, count: 32)
        sad_philox8(0xffff_fffc, 3, 9, 1, key[0], key[1], &words)
        for lane in 0..<8 {
            let expected = Philox.block(counter: SIMD4(0xffff_fffc &+ UInt32(lane), 3, 9, 1), key: key)
            XCTAssertEqual(SIMD4(words[lane], words[8 + lane], words[16 + lane], words[24 + lane]), expected)
        }
    }

    func testAnyOffsetAndSplitGivesTheSameNumbers() {
        let stream = RandomStream(seed: 0x1234_5678_9abc, purpose: .probe, index: 77)
        let whole = stream.normals(1000)
        for (offset, count) in [(0, 1), (1, 7), (3, 64), (33, 500), (999, 1), (250, 750)] {
            XCTAssertEqual(stream.normals(count, offset: offset), Array(whole[offset..<(offset + count)]))
        }
        let u = stream.uniforms(300)
        XCTAssertEqual(stream.uniforms(17, offset: 101), Array(u[101..<118]))
        // Uniform i is built from word i of the stream.
        var bits = [UInt32](repeating: 0, count: 40)
        bits.withUnsafeMutableBufferPointer { stream.fillBits($0) }
        for i in 0..<40 { XCTAssertEqual(u[i], (Float(bits[i] >> 9) + 0.5) / 8_388_608) }
    }

    func testStreamsAreDistinctByKey() {
        let a = RandomStream(seed: 1, purpose: .initialization, index: 0).normals(8)
        XCTAssertNotEqual(a, RandomStream(seed: 2, purpose: .initialization, index: 0).normals(8))
        XCTAssertNotEqual(a, RandomStream(seed: 1, purpose: .noise, index: 0).normals(8))
        XCTAssertNotEqual(a, RandomStream(seed: 1, purpose: .initialization, index: 1).normals(8))
        XCTAssertNotEqual(a, RandomStream(seed: 1, purpose: .initialization, index: 1 << 32).normals(8))
    }

    func testNormalMomentsAndTails() {
        let n = 2_000_000
        let z = RandomStream(seed: 9, purpose: .test).normals(n)
        var m1 = 0.0, m2 = 0.0, m3 = 0.0, m4 = 0.0, beyond3 = 0
        for v in z {
            let d = Double(v)
            m1 += d; m2 += d * d; m3 += d * d * d; m4 += d * d * d * d
            if abs(d) > 3 { beyond3 += 1 }
            XCTAssertTrue(v.isFinite)
        }
        m1 /= Double(n); m2 /= Double(n); m3 /= Double(n); m4 /= Double(n)
        // Standard errors at n = 2e6: mean 7e-4, var 1e-3, skew 1.7e-3, kurtosis 7e-3.
        XCTAssertEqual(m1, 0, accuracy: 4e-3)
        XCTAssertEqual(m2, 1, accuracy: 5e-3)
        XCTAssertEqual(m3, 0, accuracy: 1e-2)
        XCTAssertEqual(m4, 3, accuracy: 4e-2)
        // P(|Z| > 3) = 0.0026998.
        XCTAssertEqual(Double(beyond3) / Double(n), 0.0026998, accuracy: 2e-4)
    }

    func testFastMathAccuracy() {
        var u = (0..<4096).map { (Float($0) + 0.5) / 4096 }
        u += [Float](repeating: 0.5 / 8_388_608, count: 8)  // the smallest uniform
        var l = [Float](repeating: 0, count: u.count), c = l, s = l
        sad_fastmath_eval(u, u.count, &l, &c, &s)
        var maxLogErr: Float = 0, maxTrigErr: Float = 0
        for i in 0..<4096 {
            maxLogErr = max(maxLogErr, abs(l[i] - Foundation.log(u[i])))
            maxTrigErr = max(
                maxTrigErr, abs(c[i] - Foundation.cos(2 * .pi * u[i])), abs(s[i] - Foundation.sin(2 * .pi * u[i])))
        }
        XCTAssertEqual(l[4096], Foundation.log(u[4096]), accuracy: 1e-5)
        XCTAssertLessThan(maxLogErr, 1e-6)
        XCTAssertLessThan(maxTrigErr, 1e-6)
    }

    func testUniformsInOpenInterval() {
        let u = RandomStream(seed: 4, purpose: .test).uniforms(100_000)
        XCTAssertTrue(u.allSatisfy { $0 > 0 && $0 < 1 })
        let mean = u.reduce(0.0) { $0 + Double($1) } / Double(u.count)
        XCTAssertEqual(mean, 0.5, accuracy: 3e-3)
    }
}
