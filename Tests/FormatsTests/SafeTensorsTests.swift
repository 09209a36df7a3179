import Foundation
import XCTest
@testable import Formats
import Tensors

final class SafeTensorsTests: XCTestCase {
    func testRoundTripWithMetadata() throws {
        let dir = try temporaryDirectory()
        let arrays: [(String, NDArray)] = [
            ("model.weight", NDArray(shape: [2, 3], float32: [1, 2, 3, 4, 5, 6])),
            ("input.t", NDArray(shape: [3], int64: [0, 500, 999])),
            ("betas", NDArray(shape: [2], float64: [1e-4, 0.02])),
            ("image", NDArray(shape: [1, 2, 2], uint8: [0, 1, 2, 255])),
            ("weird \"name\"\n", NDArray(shape: [], int32: [-7])),
            ("empty", NDArray(shape: [0], float32: [])),
        ]
        let path = "\(dir)/x.safetensors"
        try SafeTensors.write(arrays, metadata: ["format": "pt", "note": "ünïcode"], to: path)
        let file = try SafeTensors.read(path)
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "ünïcode"])
        for (name, a) in arrays { XCTAssertEqual(file[name], a, name) }
        XCTAssertEqual(Set(file.names), Set(arrays.map(\.0)))
        XCTAssertEqual(try file.tensor("model.weight", shape: [2, 3]).data, [1, 2, 3, 4, 5, 6])
        assertFormatError(try file.tensor("model.weight", shape: [3, 2]), mentions: ["model.weight", "[3, 2]"])
        assertFormatError(try file.tensor("missing"), mentions: ["missing", "no such key"])
        assertFormatError(try file.tensor("input.t"), mentions: ["float32", "int64"])
    }

    /// A file written by the reference's Python tooling (safetensors + torch).
    func testReadsReferenceFixture() throws {
        let file = try SafeTensors.read("\(fixturesDirectory)/schedule/tensors.safetensors")
        let betas = try file.tensor("linear.betas", shape: [1000])
        XCTAssertEqual(betas.data[0], 1e-4, accuracy: 1e-9)
        XCTAssertEqual(betas.data[999], 0.02, accuracy: 1e-8)
        let dtypes = Set(file.arrays.values.map(\.dtype))
        XCTAssertTrue(dtypes.contains(.float32))
        XCTAssertTrue(dtypes.contains(.float64) || dtypes.contains(.int64), "\(dtypes)")
    }

    func make(_ header: String, data: [UInt8]) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        for i in 0..<8 { out.append(UInt8((UInt64(h.count) >> (8 * UInt64(i))) & 0xff)) }
        return out + h + data
    }

    func testMalformedFilesThrowNamedErrors() {
        let four = [UInt8](repeating: 0, count: 4)
        assertFormatError(
            try SafeTensors.decode([1, 2, 3], file: "m.safetensors"), mentions: ["m.safetensors", "truncated"])
        // Header length beyond the file / beyond the limit.
        assertFormatError(
            try SafeTensors.decode(make("{}", data: []).enumerated().map { $0.offset == 0 ? 200 : $0.element }),
            mentions: ["header size", "truncated"])
        assertFormatError(
            try SafeTensors.decode([0, 0, 0, 0, 0, 0, 0, 0x7f] + four), mentions: ["header size", "100000000"])
        assertFormatError(try SafeTensors.decode(make("[1]", data: [])), mentions: ["'{'"])
        assertFormatError(try SafeTensors.decode(make("{\"a\": ", data: [])), mentions: ["valid JSON"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: four)),
            mentions: ["a.dtype", "F16"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: four)),
            mentions: ["a.data_offsets", "8 bytes"])
        // Lying offsets: past the end, reversed, overlapping, holes.
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: four)),
            mentions: ["a.data_offsets", "≤ 4"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, data: four)),
            mentions: ["a.data_offsets"])
        assertFormatError(
            try SafeTensors.decode(
                make(
                    #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"#
                        + #""data_offsets":[2,4]}}"#,
                    data: four)),
            mentions: ["b.data_offsets", "no overlap"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, data: four)),
            mentions: ["data", "2 data bytes"])
        // Huge shapes overflow or mismatch; never allocate.
        assertFormatError(
            try SafeTensors.decode(
                make(
                    #"{"a":{"dtype":"F64","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
                    data: four)),
            mentions: ["a.shape"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}"#, data: four)),
            mentions: ["a.shape", "non-negative integers"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four)),
            mentions: ["a.shape"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: four)),
            mentions: ["a.shape"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: four)),
            mentions: ["a.shape"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}"#, data: four)),
            mentions: ["extra key"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"a":{"dtype":"F32","shape":[1]}}"#, data: four)),
            mentions: ["a.data_offsets"])
        assertFormatError(
            try SafeTensors.decode(make(#"{"__metadata__":{"k":1}}"#, data: [])), mentions: ["__metadata__.k"])
    }

    /// Every truncation of a valid file fails cleanly (never traps).
    func testEveryTruncationThrows() {
        let good = SafeTensors.encode([
            ("w", NDArray(shape: [3], float32: [1, 2, 3])), ("t", NDArray(shape: [1], int64: [5])),
        ])
        XCTAssertNoThrow(try SafeTensors.decode(good))
        for cut in 0..<good.count {
            XCTAssertThrowsError(try SafeTensors.decode(Array(good.prefix(cut))), "prefix \(cut)")
        }
        let npy = Npy.encode(NDArray(shape: [3], float32: [1, 2, 3]))
        for cut in 0..<npy.count { XCTAssertThrowsError(try Npy.decode(Array(npy.prefix(cut))), "prefix \(cut)") }
    }

    /// Random byte corruption must never trap: it either decodes or throws.
    func testRandomCorruptionNeverTraps() {
        let good = SafeTensors.encode([("w", NDArray(shape: [2, 2], float32: [1, 2, 3, 4]))])
        let stream = RandomStream(seed: 11, purpose: .test)
        for trial in 0..<2000 {
            var bytes = good
            let i = stream.integer(below: bytes.count, at: 2 * trial)
            bytes[i] = UInt8(truncatingIfNeeded: stream.integer(below: 256, at: 2 * trial + 1))
            _ = try? SafeTensors.decode(bytes)
            var npy = Npy.encode(NDArray(shape: [2, 2], float32: [1, 2, 3, 4]))
            npy[i % npy.count] = bytes[i]
            _ = try? Npy.decode(npy)
        }
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaries() throws {
        let dir = try temporaryDirectory()
        let path = "\(dir)/out.json"
        try AtomicFile.write(text: "one", to: path)
        try AtomicFile.write(text: "two", to: path)
        XCTAssertEqual(String(decoding: try AtomicFile.read(path), as: UTF8.self), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.json"])
        XCTAssertThrowsError(try AtomicFile.write(text: "x", to: "/nonexistent-dir/out.json"))
    }
}
