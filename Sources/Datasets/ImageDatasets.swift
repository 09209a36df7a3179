import Foundation
import Formats
import Tensors

/// Real image datasets, scaled from [0, 255] to [−1, 1] by (x/255 − 0.5)/0.5 as the reference.
public enum ImageDatasets {
    /// The default real dataset: Fashion-MNIST from Debian's `dataset-fashion-mnist`.
    public static let fashionMNISTTrainImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

    /// MNIST-format IDX images (magic 0x00000803: unsigned bytes, 3 dimensions N, H, W),
    /// gzip-compressed or raw → (N, 1, H, W).
    public static func idxImages(_ path: String) throws -> Tensor {
        if path == fashionMNISTTrainImages && !FileManager.default.fileExists(atPath: path) {
            throw FormatError(
                file: path, field: "file",
                expected: "Fashion-MNIST (install it with: apt-get install dataset-fashion-mnist)",
                found: "no such file")
        }
        var bytes = try AtomicFile.read(path)
        if Gzip.isGzip(bytes) {
            // Inflate the 16-byte header first: it says how many bytes the images take, and
            // nothing beyond that (or beyond the memory budget) is ever inflated.
            let header = try Gzip.decompressPrefix(bytes, count: 16, file: path)
            let expected = try idxImageBytes(header, file: path)
            bytes = try Gzip.decompress(bytes, file: path, maxOutput: expected)
        }
        return try decodeIDXImages(bytes, file: path)
    }

    /// The total size (header + pixels) an IDX image header announces, checked against the
    /// memory budget (as bytes, and as the Float32 tensor they become).
    static func idxImageBytes(_ header: [UInt8], file: String) throws -> Int {
        guard header.count >= 16 else {
            throw FormatError(
                file: file, field: "header", expected: "16 header bytes", found: "\(header.count) (truncated)")
        }
        func u32(_ o: Int) -> Int {
            Int(header[o]) << 24 | Int(header[o + 1]) << 16 | Int(header[o + 2]) << 8 | Int(header[o + 3])
        }
        guard u32(0) == 0x0000_0803 else {
            throw FormatError(
                file: file, field: "magic", expected: "0x00000803 (IDX, unsigned bytes, 3 dimensions)",
                found: String(format: "0x%08x", u32(0)))
        }
        let n = u32(4), h = u32(8), w = u32(12)
        guard n >= 1, h >= 1, w >= 1, h <= 4096, w <= 4096 else {
            throw FormatError(
                file: file, field: "dimensions", expected: "N ≥ 1 and 1 ≤ H, W ≤ 4096", found: "\(n) × \(h) × \(w)")
        }
        try MemoryBudget.require(
            [n, h, w, 5], for: "\(n) images of \(h)×\(w) (bytes and Float32)", file: file, field: "dimensions")
        return 16 + n * h * w
    }

    static func decodeIDXImages(_ bytes: [UInt8], file: String) throws -> Tensor {
        _ = try idxImageBytes(Array(bytes.prefix(16)), file: file)
        func u32(_ o: Int) -> Int {
            Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        }
        guard bytes.count >= 16 else {
            throw FormatError(
                file: file, field: "header", expected: "16 header bytes", found: "\(bytes.count) (truncated)")
        }
        let magic = u32(0)
        guard magic == 0x0000_0803 else {
            throw FormatError(
                file: file, field: "magic", expected: "0x00000803 (IDX, unsigned bytes, 3 dimensions)",
                found: String(format: "0x%08x", magic))
        }
        let n = u32(4), h = u32(8), w = u32(12)
        guard n >= 1, h >= 1, w >= 1, h <= 4096, w <= 4096 else {
            throw FormatError(
                file: file, field: "dimensions", expected: "N ≥ 1 and 1 ≤ H, W ≤ 4096", found: "\(n) × \(h) × \(w)")
        }
        let (size, overflow) = n.multipliedReportingOverflow(by: h * w)
        guard !overflow, bytes.count - 16 == size else {
            throw FormatError(
                file: file, field: "data",
                expected: "\(n)·\(h)·\(w) = \(overflow ? "too many" : String(size)) pixel bytes",
                found: "\(bytes.count - 16)" + (bytes.count - 16 < size ? " (truncated)" : " (trailing bytes)"))
        }
        return Tensor(shape: [n, 1, h, w], data: bytes[16...].map { (Float($0) / 255 - 0.5) / 0.5 })
    }

    /// CIFAR-10 binary batches: records of 1 label byte + 3072 bytes (R, G, B planes of 32×32)
    /// → (N, 3, 32, 32). Several files are concatenated in order.
    public static func cifar10(_ paths: [String]) throws -> Tensor {
        var data: [Float] = []
        var count = 0
        for path in paths {
            let bytes = try AtomicFile.read(path)
            guard !bytes.isEmpty, bytes.count % 3073 == 0 else {
                throw FormatError(
                    file: path, field: "records", expected: "a whole number of 3073-byte CIFAR-10 records",
                    found: "\(bytes.count) bytes")
            }
            let records = bytes.count / 3073
            for r in 0..<records {
                guard bytes[r * 3073] <= 9 else {
                    throw FormatError(
                        file: path, field: "label of record \(r)", expected: "0…9", found: "\(bytes[r * 3073])")
                }
                data += bytes[(r * 3073 + 1)..<((r + 1) * 3073)].map { (Float($0) / 255 - 0.5) / 0.5 }
            }
            count += records
        }
        guard count > 0 else { throw SettingError(setting: "data", expected: "at least one batch file", found: "none") }
        return Tensor(shape: [count, 3, 32, 32], data: data)
    }

    /// File extensions torchvision's ImageFolder accepts; only PNG is decoded here.
    static let imageExtensions = ["png", "jpg", "jpeg", "ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    /// A folder of PNG images laid out as the reference's ImageFolder: one or more class
    /// subfolders, read in sorted folder order, then sorted file names; files that are not
    /// images are ignored, other image formats are refused. Every image must have the same
    /// size and channel count → (N, C, H, W) in [−1, 1].
    public static func pngFolder(_ directory: String) throws -> Tensor {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw FormatError(
                file: directory, field: "folder", expected: "a directory with class subfolders of PNG images",
                found: "no such directory")
        }
        let classes = try fm.contentsOfDirectory(atPath: directory).sorted().filter { name in
            var sub: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: "\(directory)/\(name)", isDirectory: &sub)
                && sub.boolValue
        }
        guard !classes.isEmpty else {
            throw FormatError(
                file: directory, field: "folder",
                expected: "at least one class subfolder (ImageFolder layout DIR/CLASS/IMAGE.png)", found: "none")
        }
        var data: [Float] = []
        var shape: [Int]? = nil
        var first = ""
        var count = 0
        for cls in classes {
            for name in try fm.contentsOfDirectory(atPath: "\(directory)/\(cls)").sorted() {
                let ext = (name as NSString).pathExtension.lowercased()
                guard imageExtensions.contains(ext) else { continue }
                let path = "\(directory)/\(cls)/\(name)"
                guard ext == "png" else {
                    throw FormatError(
                        file: path, field: "format", expected: "PNG (convert other formats first)", found: ext)
                }
                let image = try PNG.read(path)
                let s = [image.channels, image.height, image.width]
                if let shape, shape != s {
                    throw FormatError(
                        file: path, field: "size", expected: "\(shape) like \(first) (every image the same size)",
                        found: "\(s)")
                }
                if shape == nil { shape = s; first = path }
                data += image.planes().map { ($0 - 0.5) / 0.5 }
                count += 1
            }
        }
        guard let shape else {
            throw FormatError(file: directory, field: "images", expected: "at least one PNG image", found: "none")
        }
        return Tensor(shape: [count] + shape, data: data)
    }
}
