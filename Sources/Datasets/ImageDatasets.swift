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
            throw FormatError(file: path, field: "file", expected: "Fashion-MNIST (install it with: apt-get install dataset-fashion-mnist)",
                              found: "no such file")
        }
        var bytes = try AtomicFile.read(path)
        if Gzip.isGzip(bytes) {
            // The largest sane IDX image file (70k 28×28 MNIST is 55 MB); refuse bigger.
            bytes = try Gzip.decompress(bytes, file: path, maxOutput: 1 << 31)
        }
        return try decodeIDXImages(bytes, file: path)
    }

    static func decodeIDXImages(_ bytes: [UInt8], file: String) throws -> Tensor {
        func u32(_ o: Int) -> Int { Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]) }
        guard bytes.count >= 16 else { throw FormatError(file: file, field: "header", expected: "16 header bytes", found: "\(bytes.count) (truncated)") }
        let magic = u32(0)
        guard magic == 0x0000_0803 else {
            throw FormatError(file: file, field: "magic", expected: "0x00000803 (IDX, unsigned bytes, 3 dimensions)",
                              found: String(format: "0x%08x", magic))
        }
        let n = u32(4), h = u32(8), w = u32(12)
        guard n >= 1, h >= 1, w >= 1, h <= 4096, w <= 4096 else {
            throw FormatError(file: file, field: "dimensions", expected: "N ≥ 1 and 1 ≤ H, W ≤ 4096", found: "\(n) × \(h) × \(w)")
        }
        let (size, overflow) = n.multipliedReportingOverflow(by: h * w)
        guard !overflow, bytes.count - 16 == size else {
            throw FormatError(file: file, field: "data", expected: "\(n)·\(h)·\(w) = \(overflow ? "too many" : String(size)) pixel bytes",
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
                throw FormatError(file: path, field: "records", expected: "a whole number of 3073-byte CIFAR-10 records",
                                  found: "\(bytes.count) bytes")
            }
            let records = bytes.count / 3073
            for r in 0..<records {
                guard bytes[r * 3073] <= 9 else {
                    throw FormatError(file: path, field: "label of record \(r)", expected: "0…9", found: "\(bytes[r * 3073])")
                }
                data += bytes[(r * 3073 + 1)..<((r + 1) * 3073)].map { (Float($0) / 255 - 0.5) / 0.5 }
            }
            count += records
        }
        guard count > 0 else { throw FormatError(file: "--data", field: "cifar", expected: "at least one batch file", found: "none") }
        return Tensor(shape: [count, 3, 32, 32], data: data)
    }
}
