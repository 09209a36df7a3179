import Formats
import XCTest

/// FIPS 180-4 test vectors, plus lengths around the padding boundary and split updates.
final class SHA256Tests: XCTestCase {
    func testKnownDigests() {
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSplitUpdatesEqualOneUpdate() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 31) }
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300] {
            let whole = SHA256.hex(bytes.prefix(n))
            for cut in [0, 1, n / 3, n / 2, max(0, n - 1)] where cut <= n {
                var s = SHA256()
                s.update(bytes.prefix(cut))
                s.update(bytes[cut..<n])
                XCTAssertEqual(s.finalize().map { String(format: "%02x", $0) }.joined(), whole, "n \(n), cut \(cut)")
            }
        }
        XCTAssertEqual(SHA256.hex(raw: [Float(1), 2]), SHA256.hex([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]))
    }
}
