import Foundation
import XCTest
@testable import Datasets
import Formats
import Tensors

final class ImageDatasetTests: XCTestCase {
    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-data-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func idx(n: Int, h: Int, w: Int, magic: UInt32 = 0x0803, pixels: [UInt8]? = nil) -> [UInt8] {
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        return be(Int(magic)) + be(n) + be(h) + be(w) + (pixels ?? (0..<(n * h * w)).map { UInt8($0 % 256) })
    }

    func testIDXRawAndGzipScaledToMinusOneOne() throws {
        let dir = try scratch()
        let raw = idx(n: 3, h: 4, w: 5)
        try AtomicFile.write(raw, to: "\(dir)/a-idx3-ubyte")
        try AtomicFile.write(Gzip.compress(raw), to: "\(dir)/a-idx3-ubyte.gz")
        let a = try ImageDatasets.idxImages("\(dir)/a-idx3-ubyte"), b = try ImageDatasets.idxImages("\(dir)/a-idx3-ubyte.gz")
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.shape, [3, 1, 4, 5])
        XCTAssertEqual(a.data[0], -1)
        XCTAssertEqual(try DataSource.parse("idx:\(dir)/a-idx3-ubyte.gz").load(shape: [1, 4, 5], count: 0, seed: 0), a)
    }

    func testMalformedDatasetsAreNamedErrors() throws {
        let dir = try scratch()
        func expect(_ bytes: [UInt8], _ words: [String], line: UInt = #line) throws {
            try AtomicFile.write(bytes, to: "\(dir)/bad")
            XCTAssertThrowsError(try ImageDatasets.idxImages("\(dir)/bad"), line: line) { e in
                for w in words { XCTAssertTrue("\(e)".contains(w), "'\(e)' lacks '\(w)'", line: line) }
            }
        }
        try expect(Array(idx(n: 3, h: 4, w: 5).dropLast(7)), ["data", "truncated"])
        try expect(idx(n: 3, h: 4, w: 5, magic: 0x0801), ["magic", "0x00000801"])
        try expect([1, 2, 3], ["header", "truncated"])
        try expect(idx(n: 100_000_000, h: 4000, w: 4000, pixels: []), ["data"])
        try expect(Array(Gzip.compress(idx(n: 3, h: 4, w: 5)).dropLast(12)), ["gzip"])
        try AtomicFile.write([UInt8](repeating: 0, count: 3072), to: "\(dir)/cifar.bin")
        XCTAssertThrowsError(try ImageDatasets.cifar10(["\(dir)/cifar.bin"])) { XCTAssertTrue("\($0)".contains("3073")) }
        var record = [UInt8](repeating: 128, count: 3073)
        record[0] = 3
        try AtomicFile.write(record + record, to: "\(dir)/cifar.bin")
        XCTAssertEqual(try ImageDatasets.cifar10(["\(dir)/cifar.bin"]).shape, [2, 3, 32, 32])
        record[0] = 200
        try AtomicFile.write(record, to: "\(dir)/cifar.bin")
        XCTAssertThrowsError(try ImageDatasets.cifar10(["\(dir)/cifar.bin"]))
        // A NaN in an .npy dataset, and images of the wrong size for the config.
        try Npy.write(NDArray(shape: [1, 1, 2, 2], float32: [0, .nan, 0, 0]), to: "\(dir)/nan.npy")
        XCTAssertThrowsError(try DataSource.parse("\(dir)/nan.npy").load(shape: [1, 2, 2], count: 0, seed: 0)) {
            XCTAssertTrue("\($0)".contains("NaN"))
        }
        try AtomicFile.write(idx(n: 2, h: 4, w: 4), to: "\(dir)/small")
        XCTAssertThrowsError(try DataSource.parse("idx:\(dir)/small").load(shape: [1, 28, 28], count: 0, seed: 0))
    }

    /// The real default dataset when its Debian package is installed (skipped otherwise).
    func testFashionMNISTWhenInstalled() throws {
        guard FileManager.default.fileExists(atPath: ImageDatasets.fashionMNISTTrainImages) else {
            XCTAssertThrowsError(try ImageDatasets.idxImages(ImageDatasets.fashionMNISTTrainImages)) {
                XCTAssertTrue("\($0)".contains("apt-get install dataset-fashion-mnist"))
            }
            throw XCTSkip("dataset-fashion-mnist not installed")
        }
        let x = try DataSource.parse("fashion-mnist").load(shape: [1, 28, 28], count: 0, seed: 0)
        XCTAssertEqual(x.shape, [60_000, 1, 28, 28])
        XCTAssertTrue(x.data.allSatisfy { $0 >= -1 && $0 <= 1 })
    }
}
