import Foundation
import Tensors

/// `.safetensors` files: an 8-byte little-endian header length N, a JSON header of N
/// bytes, then the raw little-endian tensor bytes.
///
/// Reading enforces the format's rules and more: the header size is bounded (100 MB, as
/// the reference implementation) and must fit in the file; every entry has exactly
/// `dtype`, `shape`, `data_offsets`; dtypes are known; offsets are ordered, inside the
/// byte buffer, match shape × item size exactly, do not overlap and cover the buffer with
/// no holes. Every size is computed with overflow checks, so a malicious header can
/// neither crash the reader nor make it allocate more than the file's size.
public enum SafeTensors {
    /// Header size limit of the reference implementation.
    public static let maxHeaderSize = 100_000_000

    /// A parsed file: tensors by name, in file order, plus free-form string metadata.
    public struct File: Equatable, Sendable {
        public var arrays: [String: NDArray]
        /// Names in the order their data appears in the file.
        public var names: [String]
        public var metadata: [String: String]
        /// Where the file came from (for error messages).
        public var path: String

        public init(arrays: [(String, NDArray)], metadata: [String: String] = [:], path: String = "<memory>") {
            self.arrays = Dictionary(arrays, uniquingKeysWith: { _, new in new })
            self.names = arrays.map(\.0)
            self.metadata = metadata
            self.path = path
        }

        public subscript(name: String) -> NDArray? { arrays[name] }

        /// The named array, or an error naming the file and the missing key.
        public func array(_ name: String) throws -> NDArray {
            guard let a = arrays[name] else {
                throw FormatError(file: path, field: name, expected: "a tensor named '\(name)'", found: "no such key")
            }
            return a
        }

        /// The named Float32 tensor, checking its shape when `shape` is given.
        public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
            let a = try array(name)
            if let shape, a.shape != shape {
                throw FormatError(file: path, field: name, expected: "shape \(shape)", found: "shape \(a.shape)")
            }
            return try a.tensor(file: path, field: name)
        }
    }

    static func dtypeName(_ d: DType) -> String {
        switch d {
        case .float32: return "F32"
        case .float64: return "F64"
        case .int32: return "I32"
        case .int64: return "I64"
        case .uint8: return "U8"
        }
    }

    static func dtype(named name: String) -> DType? {
        switch name {
        case "F32": return .float32
        case "F64": return .float64
        case "I32": return .int32
        case "I64": return .int64
        case "U8": return .uint8
        default: return nil
        }
    }

    public static func read(_ path: String) throws -> File {
        try decode(try AtomicFile.read(path), file: path)
    }

    public static func write(_ arrays: [(String, NDArray)], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(encode(arrays, metadata: metadata), to: path)
    }

    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> File {
        func fail(_ field: String, _ expected: String, _ found: String) -> FormatError {
            FormatError(file: file, field: field, expected: expected, found: found)
        }
        guard bytes.count >= 8 else {
            throw fail("header size", "an 8-byte header length", "\(bytes.count) bytes (truncated)")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeaderSize) else { throw fail("header size", "≤ \(maxHeaderSize) bytes", "\(n)") }
        let headerSize = Int(n)
        guard 8 + headerSize <= bytes.count else {
            throw fail(
                "header size", "a header of \(headerSize) bytes inside the file",
                "a file of \(bytes.count) bytes (truncated)")
        }
        let headerBytes = bytes[8..<(8 + headerSize)]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail(
                "header", "a JSON object starting with '{'", headerBytes.first.map { "byte \($0)" } ?? "an empty header"
            )
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw fail("header", "valid JSON", "unparseable JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header", "a JSON object", "\(type(of: json))") }

        let bufferStart = 8 + headerSize
        let bufferSize = bytes.count - bufferStart
        var metadata: [String: String] = [:]
        struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw fail("__metadata__", "an object of strings", "\(value)")
                }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__.\(k)", "a string", "\(v)") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else {
                throw fail(name, "an object with dtype, shape, data_offsets", "\(value)")
            }
            let unknown = Set(info.keys).subtracting(["dtype", "shape", "data_offsets"])
            guard unknown.isEmpty else {
                throw fail(name, "only dtype, shape, data_offsets", "extra key(s) \(unknown.sorted())")
            }
            guard let dtypeText = info["dtype"] as? String else {
                throw fail("\(name).dtype", "a dtype string", "\(info["dtype"] ?? "nothing")")
            }
            guard let dtype = dtype(named: dtypeText) else {
                throw fail("\(name).dtype", "one of F32, F64, I32, I64, U8", "'\(dtypeText)'")
            }
            let shape = try integers(info["shape"], file: file, field: "\(name).shape")
            let offsets = try integers(info["data_offsets"], file: file, field: "\(name).data_offsets")
            guard offsets.count == 2 else { throw fail("\(name).data_offsets", "[begin, end]", "\(offsets)") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin <= end, end <= bufferSize else {
                throw fail(
                    "\(name).data_offsets", "0 ≤ begin ≤ end ≤ \(bufferSize) (the data size)", "[\(begin), \(end)]")
            }
            let byteCount = try checkedByteCount(
                shape: shape, itemSize: dtype.itemSize, file: file, field: "\(name).shape")
            guard byteCount == end - begin else {
                throw fail(
                    "\(name).data_offsets", "\(byteCount) bytes for shape \(shape) of \(dtypeText)",
                    "\(end - begin) bytes")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        for e in entries {
            guard e.begin == cursor else {
                throw fail(
                    "\(e.name).data_offsets", "to start at byte \(cursor) (tensors contiguous, no overlap)",
                    "begin \(e.begin)")
            }
            cursor = e.end
        }
        guard cursor == bufferSize else {
            throw fail("data", "\(cursor) data bytes as the header describes", "\(bufferSize) bytes")
        }
        let arrays = entries.map { e in
            (
                e.name,
                NDArray.decode(bytes[(bufferStart + e.begin)..<(bufferStart + e.end)], dtype: e.dtype, shape: e.shape)
            )
        }
        return File(arrays: arrays, metadata: metadata, path: file)
    }

    static func integers(_ value: Any?, file: String, field: String) throws -> [Int] {
        guard let list = value as? [Any] else {
            throw FormatError(
                file: file, field: field, expected: "a list of non-negative integers", found: "\(value ?? "nothing")")
        }
        return try list.map { item in
            // JSONSerialization yields NSNumber; reject booleans, fractions and out-of-range values.
            guard let number = item as? NSNumber, !JSONValues.isBoolean(number),
                let v = Int(exactly: number.doubleValue), v >= 0, number.stringValue == String(v)
            else {
                throw FormatError(file: file, field: field, expected: "non-negative integers", found: "\(item)")
            }
            return v
        }
    }

    /// Serialises named arrays in the given order. The header is padded with spaces to a
    /// multiple of 8 bytes, as the reference writer does, so the data is aligned.
    public static func encode(_ arrays: [(String, NDArray)], metadata: [String: String] = [:]) -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        var payload: [UInt8] = []
        for (name, array) in arrays {
            let bytes = array.littleEndianBytes()
            parts.append(
                "\(jsonString(name)):{\"dtype\":\"\(dtypeName(array.dtype))\","
                    + "\"shape\":[\(array.shape.map(String.init).joined(separator: ","))],"
                    + "\"data_offsets\":[\(offset),\(offset + bytes.count)]}"
            )
            offset += bytes.count
            payload += bytes
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        var out: [UInt8] = []
        let n = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8((n >> (8 * UInt64(i))) & 0xff)) }
        return out + header + payload
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// JSONSerialization returns JSON numbers and `true`/`false` alike as NSNumber; a boolean
/// reports objCType "c" (Darwin) or "B". Readers that need an integer must tell them apart.
public enum JSONValues {
    public static func isBoolean(_ n: NSNumber) -> Bool {
        let t = String(cString: n.objCType)
        return t == "c" || t == "B"
    }
}
