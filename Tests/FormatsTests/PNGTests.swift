import Foundation
import XCTest
@testable import Formats
import Tensors

final class PNGTests: XCTestCase {
    /// Files written by Python's zlib with every row filter (row y uses filter y mod 5), split
    /// IDAT chunks and an ancillary tEXt chunk (Samples/png/make_pngs.py).
    func testDecodesIndependentlyWrittenFiles() throws {
        let cases: [(String, Int, Int)] = [
            ("grey8", 1, 255), ("rgb16", 3, 65535), ("palette4", 3, 255),
            ("grey1", 1, 1), ("rgba8", 4, 255), ("greyalpha16", 2, 65535),
        ]
        for (name, channels, maxValue) in cases {
            let image = try PNG.read("\(samplesDirectory)/png/\(name).png")
            let expected = try Npy.read("\(samplesDirectory)/png/\(name).npy")
            XCTAssertEqual(expected.shape, [11, 13, channels], name)
            XCTAssertEqual([image.height, image.width, image.channels], [11, 13, channels], name)
            XCTAssertEqual(image.maxValue, maxValue, name)
            XCTAssertEqual(image.samples.map(Int.init), expected.integers!, name)
        }
    }

    func testRoundTripAndPlanes() throws {
        let samples: [UInt8] = (0..<(5 * 7 * 3)).map { UInt8(($0 * 37) % 256) }
        let bytes = PNG.encode(width: 7, height: 5, channels: 3, samples: samples)
        let image = try PNG.decode(bytes, file: "mem")
        XCTAssertEqual(image.samples.map(UInt8.init), samples)
        let planes = image.planes()  // (C, H, W)
        XCTAssertEqual(planes[(2 * 5 + 1) * 7 + 4], Float(samples[(1 * 7 + 4) * 3 + 2]) / 255)
    }

    func testMalformedFilesAreNamedErrors() throws {
        let good = PNG.encode(width: 4, height: 3, channels: 1, samples: Array(repeating: 9, count: 12))
        func error(_ bytes: [UInt8]) -> FormatError? {
            do { _ = try PNG.decode(bytes, file: "x.png"); return nil } catch let e as FormatError { return e } catch {
                return nil
            }
        }
        XCTAssertEqual(error([1, 2, 3])?.field, "signature")
        for cut in stride(from: 8, to: good.count, by: 3) {
            XCTAssertNotNil(error(Array(good[0..<cut])), "truncated at \(cut)")
        }
        var corrupt = good
        corrupt[20] ^= 0xff  // inside IHDR → CRC mismatch
        XCTAssertEqual(error(corrupt)?.expected, "a matching CRC")
        // 2000 random corruptions: errors (or a decode), never a trap.
        var state: UInt64 = 1
        for _ in 0..<2000 {
            var b = good
            state = state &* 6364136223846793005 &+ 1442695040888963407
            b[8 + Int(state >> 33) % (b.count - 8)] = UInt8(truncatingIfNeeded: state >> 20)
            _ = error(b)
        }
    }
}
