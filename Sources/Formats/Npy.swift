import Foundation
import Tensors

/// NumPy `.npy` files (format versions 1.0, 2.0, 3.0), C order.
///
/// Reading is strict: the magic, the version, the header length, the header dictionary
/// (exactly the keys `descr`, `fortran_order`, `shape`), the dtype and the data length are
/// all checked, and the shape's byte size must equal the bytes actually present, so a
/// lying header can never cause a large allocation. Supported dtypes: `<f4 <f8 <i4 <i8 |u1`
/// (and their big-endian forms, byte-swapped on read). Fortran order is rejected.
public enum Npy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// Larger headers are not produced by NumPy for any sane array; reject before parsing.
    static let maxHeaderLength = 1 << 20

    public static func read(_ path: String) throws -> NDArray {
        try decode(try AtomicFile.read(path), file: path)
    }

    public static func write(_ array: NDArray, to path: String) throws {
        try AtomicFile.write(encode(array), to: path)
    }

    public static func write(_ tensor: Tensor, to path: String) throws { try write(NDArray(tensor), to: path) }

    /// Parses the bytes of a `.npy` file. `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> NDArray {
        func fail(_ field: String, _ expected: String, _ found: String) -> FormatError {
            FormatError(file: file, field: field, expected: expected, found: found)
        }
        guard bytes.count >= 10 else { throw fail("header", "at least 10 bytes", "\(bytes.count) bytes (truncated)") }
        guard Array(bytes[0..<6]) == magic else {
            throw fail("magic", "\\x93NUMPY", "\(bytes[0..<6].map { String($0) })")
        }
        let major = bytes[6], minor = bytes[7]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else {
                throw fail("header", "at least 12 bytes", "\(bytes.count) bytes (truncated)")
            }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("version", "1.0, 2.0 or 3.0", "\(major).\(minor)")
        }
        guard minor == 0 else { throw fail("version", "1.0, 2.0 or 3.0", "\(major).\(minor)") }
        guard headerLength <= maxHeaderLength else {
            throw fail("header length", "≤ \(maxHeaderLength) bytes", "\(headerLength)")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw fail("header", "\(headerLength) header bytes", "\(bytes.count - headerStart) (truncated)")
        }
        guard
            let text = String(
                bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .ascii)
        else {
            throw fail("header", major == 3 ? "UTF-8 text" : "ASCII text", "undecodable bytes")
        }
        var parser = HeaderParser(text: text, file: file)
        let header = try parser.parse()
        let (dtype, bigEndian) = try parseDescr(header.descr, file: file)
        if header.fortranOrder { throw fail("fortran_order", "False (C order)", "True") }
        let dataStart = headerStart + headerLength
        let byteCount = try checkedByteCount(shape: header.shape, itemSize: dtype.itemSize, file: file, field: "shape")
        let available = bytes.count - dataStart
        guard byteCount == available else {
            throw fail(
                "data", "\(byteCount) bytes for shape \(header.shape) of \(dtype.rawValue)",
                "\(available) bytes" + (available < byteCount ? " (truncated)" : " (trailing bytes)"))
        }
        return NDArray.decode(bytes[dataStart...], dtype: dtype, shape: header.shape, bigEndian: bigEndian)
    }

    /// Serialises `array` (version 1.0, or 2.0 when the header needs it). The header is
    /// padded with spaces and a newline so that the data starts at a multiple of 64 bytes,
    /// as NumPy writes it.
    public static func encode(_ array: NDArray) -> [UInt8] {
        let descr: String
        switch array.dtype {
        case .float32: descr = "<f4"
        case .float64: descr = "<f8"
        case .int32: descr = "<i4"
        case .int64: descr = "<i8"
        case .uint8: descr = "|u1"
        }
        let shapeText =
            array.shape.count == 1
            ? "(\(array.shape[0]),)" : "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        var version: UInt8 = 1
        var prefix = 10
        if dict.utf8.count + 1 + prefix > 65535 { version = 2; prefix = 12 }
        let total = prefix + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        let length = dict.utf8.count
        var out = magic + [version, 0]
        if version == 1 {
            out += [UInt8(length & 0xff), UInt8(length >> 8)]
        } else {
            out += [
                UInt8(length & 0xff), UInt8((length >> 8) & 0xff), UInt8((length >> 16) & 0xff), UInt8(length >> 24),
            ]
        }
        out += Array(dict.utf8)
        out += array.littleEndianBytes()
        return out
    }

    static func parseDescr(_ descr: String, file: String) throws -> (DType, Bool) {
        let supported = "<f4, <f8, <i4, <i8, |u1 (or big-endian >f4 …)"
        guard descr.count == 3 else {
            throw FormatError(file: file, field: "descr", expected: supported, found: "'\(descr)'")
        }
        let order = descr.first!, code = String(descr.dropFirst())
        let dtype: DType
        switch code {
        case "f4": dtype = .float32
        case "f8": dtype = .float64
        case "i4": dtype = .int32
        case "i8": dtype = .int64
        case "u1": dtype = .uint8
        default: throw FormatError(file: file, field: "descr", expected: supported, found: "'\(descr)'")
        }
        switch order {
        case "<", "=": return (dtype, false)
        case "|" where dtype == .uint8: return (dtype, false)
        case ">": return (dtype, true)
        default: throw FormatError(file: file, field: "descr", expected: supported, found: "'\(descr)'")
        }
    }

    /// A strict parser for the Python dict literal NumPy writes, e.g.
    /// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    struct HeaderParser {
        struct Header { var descr: String; var fortranOrder: Bool; var shape: [Int] }
        let chars: [Character]
        let file: String
        var position = 0

        init(text: String, file: String) {
            self.chars = Array(text)
            self.file = file
        }

        func fail(_ expected: String) -> FormatError {
            let rest = String(chars[min(position, chars.count)...].prefix(24))
            return FormatError(
                file: file, field: "header", expected: expected, found: rest.isEmpty ? "end of header" : "'\(rest)'")
        }

        mutating func skipSpace() { while position < chars.count, chars[position].isWhitespace { position += 1 } }

        mutating func expect(_ c: Character) throws {
            skipSpace()
            guard position < chars.count, chars[position] == c else { throw fail("'\(c)'") }
            position += 1
        }

        mutating func peek() -> Character? { skipSpace(); return position < chars.count ? chars[position] : nil }

        mutating func string() throws -> String {
            skipSpace()
            guard position < chars.count, chars[position] == "'" || chars[position] == "\"" else {
                throw fail("a quoted string")
            }
            let quote = chars[position]
            position += 1
            var s = ""
            while position < chars.count, chars[position] != quote {
                s.append(chars[position]); position += 1
            }
            guard position < chars.count else { throw fail("a closing quote") }
            position += 1
            return s
        }

        mutating func boolean() throws -> Bool {
            skipSpace()
            for (word, value) in [("True", true), ("False", false)] {
                let w = Array(word)
                if position + w.count <= chars.count, Array(chars[position..<(position + w.count)]) == w {
                    position += w.count
                    return value
                }
            }
            throw fail("True or False")
        }

        mutating func integer() throws -> Int {
            skipSpace()
            var digits = ""
            while position < chars.count, chars[position].isASCII, chars[position].isNumber {
                digits.append(chars[position]); position += 1
            }
            // Python 2 era headers may write long integers as 3L.
            if position < chars.count, chars[position] == "L" { position += 1 }
            guard !digits.isEmpty else { throw fail("a non-negative integer") }
            guard digits.count <= 18, let v = Int(digits) else {
                throw FormatError(file: file, field: "shape", expected: "extents below 10¹⁸", found: digits)
            }
            return v
        }

        mutating func tuple() throws -> [Int] {
            try expect("(")
            var values: [Int] = []
            while true {
                if peek() == ")" { position += 1; return values }
                values.append(try integer())
                if peek() == "," { position += 1; continue }
                try expect(")")
                return values
            }
        }

        mutating func parse() throws -> Header {
            try expect("{")
            var descr: String?, fortran: Bool?, shape: [Int]?
            while true {
                if peek() == "}" { position += 1; break }
                let key = try string()
                try expect(":")
                switch key {
                case "descr" where descr == nil: descr = try string()
                case "fortran_order" where fortran == nil: fortran = try boolean()
                case "shape" where shape == nil: shape = try tuple()
                default:
                    throw FormatError(
                        file: file, field: "header", expected: "keys descr, fortran_order, shape once each",
                        found: "'\(key)'")
                }
                if peek() == "," { position += 1; continue }
                try expect("}")
                break
            }
            skipSpace()
            guard position == chars.count else { throw fail("only padding after the dictionary") }
            guard let descr, let fortran, let shape else {
                throw FormatError(
                    file: file, field: "header", expected: "keys descr, fortran_order and shape",
                    found:
                        "missing "
                        + [
                            descr == nil ? "descr" : nil, fortran == nil ? "fortran_order" : nil,
                            shape == nil ? "shape" : nil,
                        ]
                        .compactMap { $0 }.joined(separator: ", ")
                )
            }
            return Header(descr: descr, fortranOrder: fortran, shape: shape)
        }
    }
}
