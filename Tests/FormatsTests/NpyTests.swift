import Foundation
import TestSupport
import XCTest
@testable import Formats
import Tensors

let samplesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Samples")
    .path
let fixturesDirectory = TestPaths.fixtures

func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func assertFormatError(
    _ body: @autoclosure () throws -> Any, mentions words: [String],
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected a FormatError mentioning \(words)", file: file, line: line)
    } catch let error as FormatError {
        let text = error.description
        for w in words { XCTAssertTrue(text.contains(w), "'\(text)' does not mention '\(w)'", file: file, line: line) }
    } catch {
        XCTFail("expected FormatError, got \(error)", file: file, line: line)
    }
}

final class NpyTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        let dir = try temporaryDirectory()
        let arrays: [NDArray] = [
            NDArray(shape: [2, 3], float32: [0, 1.5, -2, 3, .pi, -0]),
            NDArray(shape: [3], float64: [1e-300, -2, 3.25]),
            NDArray(shape: [2, 1, 2], int32: [1, -2, .max, .min]),
            NDArray(shape: [4], int64: [0, 7, 500, .max]),
            NDArray(shape: [2, 2], uint8: [0, 1, 254, 255]),
            NDArray(shape: [], float32: [42]),
            NDArray(shape: [0, 5], float32: []),
        ]
        for (i, a) in arrays.enumerated() {
            let path = "\(dir)/a\(i).npy"
            try Npy.write(a, to: path)
            XCTAssertEqual(try Npy.read(path), a)
            // NumPy aligns data to 64 bytes.
            let bytes = try AtomicFile.read(path)
            XCTAssertEqual((bytes.count - a.count * a.dtype.itemSize) % 64, 0)
        }
    }

    func testReadsNumPyWrittenSamples() throws {
        XCTAssertEqual(
            try Npy.read("\(samplesDirectory)/float32_2x3.npy"),
            NDArray(shape: [2, 3], float32: [0, 0.25, 0.5, 0.75, 1, 1.25]))
        XCTAssertEqual(try Npy.read("\(samplesDirectory)/int64_4.npy"), NDArray(shape: [4], int64: [0, 7, 500, 999]))
        XCTAssertEqual(
            try Npy.read("\(samplesDirectory)/float64_bigendian.npy"), NDArray(shape: [2], float64: [1.5, -2.25]))
        XCTAssertEqual(
            try Npy.read("\(samplesDirectory)/uint8_2x2x2.npy"), NDArray(shape: [2, 2, 2], uint8: Array(0..<8)))
        assertFormatError(try Npy.read("\(samplesDirectory)/fortran.npy"), mentions: ["fortran_order", "C order"])
    }

    /// Writes with our encoder and reads back with NumPy when python3 + numpy exist.
    func testNumPyReadsOurFiles() throws {
        let python = "/usr/bin/env"
        let dir = try temporaryDirectory()
        let path = "\(dir)/ours.npy"
        try Npy.write(NDArray(shape: [2, 2], float64: [1, 2, 3, 4.5]), to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            "python3", "-c",
            "import numpy as np; a = np.load('\(path)'); assert a.dtype == np.float64 and a.shape == (2, 2) and "
                + "a[1, 1] == 4.5; print('ok')",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        do { try process.run() } catch { throw XCTSkip("python3 not available") }
        process.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if process.terminationStatus != 0 && !out.contains("ok") { throw XCTSkip("python3 with numpy not available") }
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    func header(_ dict: String, version: UInt8 = 1) -> [UInt8] {
        var d = Array(dict.utf8) + [0x0a]
        while (10 + d.count) % 64 != 0 { d.insert(0x20, at: d.count - 1) }
        return [0x93] + Array("NUMPY".utf8) + [version, 0, UInt8(d.count & 0xff), UInt8(d.count >> 8)] + d
    }

    func testMalformedFilesThrowNamedErrors() {
        let good = Npy.encode(NDArray(shape: [2, 3], float32: [1, 2, 3, 4, 5, 6]))
        assertFormatError(try Npy.decode(Array(good.prefix(5)), file: "x.npy"), mentions: ["x.npy", "truncated"])
        assertFormatError(try Npy.decode(Array(good.dropLast(3)), file: "x.npy"), mentions: ["data", "truncated"])
        assertFormatError(try Npy.decode(good + [0], file: "x.npy"), mentions: ["trailing"])
        var badMagic = good; badMagic[1] = 0
        assertFormatError(try Npy.decode(badMagic), mentions: ["magic"])
        var badVersion = good; badVersion[6] = 9
        assertFormatError(try Npy.decode(badVersion), mentions: ["version", "9.0"])
        var lyingLength = good; lyingLength[8] = 0xff; lyingLength[9] = 0xff
        assertFormatError(try Npy.decode(lyingLength), mentions: ["header", "truncated"])
        assertFormatError(
            try Npy.decode(
                header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }") + [UInt8](repeating: 0, count: 8)),
            mentions: ["descr", "<c8"])
        assertFormatError(
            try Npy.decode(header("{'descr': '<f4', 'shape': (1,), }") + [0, 0, 0, 0]),
            mentions: ["missing fortran_order"])
        assertFormatError(
            try Npy.decode(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}")), mentions: ["'x'"]
        )
        assertFormatError(
            try Npy.decode(header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }")),
            mentions: ["True or False"])
        assertFormatError(
            try Npy.decode(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")), mentions: ["header"])
        assertFormatError(try Npy.decode(header("not a dict")), mentions: ["header", "'{'"])
        // Huge shapes: overflow or more bytes than present — an error, never an allocation.
        assertFormatError(
            try Npy.decode(
                header("{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 4000000000, 4000000000), }")),
            mentions: ["shape"])
        assertFormatError(
            try Npy.decode(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }")),
            mentions: ["data", "4000000000000 bytes"])
        assertFormatError(
            try Npy.decode(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }")),
            mentions: ["shape"])
        assertFormatError(try Npy.read("/nonexistent/file.npy"), mentions: ["/nonexistent/file.npy", "no such file"])
    }

    func testTensorConversionIsStrictAboutDType() throws {
        let a = NDArray(shape: [2], float64: [1, 2])
        assertFormatError(try a.tensor(file: "f.npy"), mentions: ["f.npy", "float32", "float64"])
        XCTAssertEqual(try a.tensor(converting: true).data, [1, 2])
    }
}
