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
        func be(_ v: Int) -> [UInt8] {
            [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
        }
        return be(Int(magic)) + be(n) + be(h) + be(w) + (pixels ?? (0..<(n * h * w)).map { UInt8($0 % 256) })
    }

    func testIDXRawAndGzipScaledToMinusOneOne() throws {
        let dir = try scratch()
        let raw = idx(n: 3, h: 4, w: 5)
        try AtomicFile.write(raw, to: "\(dir)/a-idx3-ubyte")
        try AtomicFile.write(Gzip.compress(raw), to: "\(dir)/a-idx3-ubyte.gz")
        let a = try ImageDatasets.idxImages("\(dir)/a-idx3-ubyte"),
            b = try ImageDatasets.idxImages("\(dir)/a-idx3-ubyte.gz")
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
        XCTAssertThrowsError(try ImageDatasets.cifar10(["\(dir)/cifar.bin"])) {
            XCTAssertTrue("\($0)".contains("3073"))
        }
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

final class PNGFolderTests: XCTestCase {
    func testFolderOrderScalingAndErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-png-\(UUID().uuidString)").path
        let fm = FileManager.default
        for cls in ["b", "a"] { try fm.createDirectory(atPath: "\(dir)/\(cls)", withIntermediateDirectories: true) }
        // Sorted classes, then sorted names: a/1, a/2, b/0.
        try PNG.write("\(dir)/b/0.png", width: 2, height: 2, channels: 1, samples: [0, 0, 0, 0])
        try PNG.write("\(dir)/a/2.png", width: 2, height: 2, channels: 1, samples: [255, 255, 255, 255])
        try PNG.write("\(dir)/a/1.png", width: 2, height: 2, channels: 1, samples: [0, 51, 102, 255])
        try Data("notes".utf8).write(to: URL(fileURLWithPath: "\(dir)/a/readme.txt"))
        let t = try ImageDatasets.pngFolder(dir)
        XCTAssertEqual(t.shape, [3, 1, 2, 2])
        XCTAssertEqual(Array(t.data[0..<4]), [-1, -0.6, -0.2, 1].map { Float($0) }, accuracy: 1e-6)
        XCTAssertEqual(Array(t.data[4..<8]), [1, 1, 1, 1])
        XCTAssertEqual(Array(t.data[8..<12]), [-1, -1, -1, -1])
        XCTAssertEqual(
            try DataSource.parse("png:\(dir)").load(shape: [1, 2, 2], count: 0, seed: 0).shape, [3, 1, 2, 2])

        // Mixed sizes, another image format, no class folder, wrong size for the config.
        try PNG.write("\(dir)/b/9.png", width: 3, height: 2, channels: 1, samples: Array(repeating: 1, count: 6))
        XCTAssertThrowsError(try ImageDatasets.pngFolder(dir)) { XCTAssertEqual(($0 as? FormatError)?.field, "size") }
        try fm.removeItem(atPath: "\(dir)/b/9.png")
        XCTAssertThrowsError(try DataSource.parse("png:\(dir)").load(shape: [1, 4, 4], count: 0, seed: 0)) {
            XCTAssertEqual(($0 as? FormatError)?.field, "shape")
        }
        try Data([1, 2]).write(to: URL(fileURLWithPath: "\(dir)/b/x.jpg"))
        XCTAssertThrowsError(try ImageDatasets.pngFolder(dir)) { XCTAssertEqual(($0 as? FormatError)?.field, "format") }
        let flat = dir + "-flat"
        try fm.createDirectory(atPath: flat, withIntermediateDirectories: true)
        try PNG.write("\(flat)/0.png", width: 2, height: 2, channels: 1, samples: [0, 0, 0, 0])
        XCTAssertThrowsError(try ImageDatasets.pngFolder(flat)) {
            XCTAssertEqual(($0 as? FormatError)?.field, "folder")
        }
    }
}

private func XCTAssertEqual(
    _ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
