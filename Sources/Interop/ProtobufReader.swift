import Formats

/// A strict reader of the protocol-buffers wire format over a byte buffer, for the subset of
/// ONNX messages the importer needs (no generated code).
///
/// Every length and varint is checked against the bytes that remain before it is used, so
/// a truncated file, a wrong wire type or a lying length is a ``FormatError`` naming the
/// file, the message being read and the byte offset, never a trap or an over-read.
/// Unknown fields are skipped by their wire type, as protobuf requires; wire types 3 and 4
/// (deprecated groups) and 6–7 (undefined) are refused.
struct ProtobufReader {
    enum WireType: UInt8 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    let bytes: [UInt8]
    /// The part of `bytes` this reader covers (a nested message is a sub-range).
    private(set) var position: Int
    let end: Int
    let file: String
    /// The message being read, for errors (e.g. "graph.node[3].attribute[1]").
    let context: String
    /// Nesting depth: messages nest at most `maxDepth` deep (a hostile file cannot recurse
    /// the decoder into a stack overflow).
    let depth: Int
    static let maxDepth = 32

    init(bytes: [UInt8], file: String, context: String) {
        self.bytes = bytes
        self.position = 0
        self.end = bytes.count
        self.file = file
        self.context = context
        self.depth = 0
    }

    private init(parent: ProtobufReader, range: Range<Int>, context: String) {
        bytes = parent.bytes
        position = range.lowerBound
        end = range.upperBound
        file = parent.file
        self.context = context
        depth = parent.depth + 1
    }

    var isAtEnd: Bool { position >= end }

    func error(_ expected: String, _ found: String) -> FormatError {
        FormatError(file: file, field: context, expected: expected, found: "\(found) at byte \(position)")
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws -> (number: Int, wire: WireType)? {
        guard !isAtEnd else { return nil }
        let key = try varint()
        let number = Int(key >> 3)
        guard number >= 1 && number < (1 << 29) else { throw error("a field number in 1…2²⁹−1", "\(number)") }
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw error("wire type 0, 1, 2 or 5", "wire type \(key & 7) (field \(number))")
        }
        return (number, wire)
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("a complete varint", "end of message") }
            let byte = bytes[position]
            position += 1
            guard shift < 64, shift < 63 || byte <= 1 else {
                throw error("a varint of at most 64 bits", "a longer one")
            }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func fixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw error("4 bytes of a fixed32", "\(end - position) bytes left") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return v
    }

    mutating func fixed64() throws -> UInt64 {
        guard end - position >= 8 else { throw error("8 bytes of a fixed64", "\(end - position) bytes left") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return v
    }

    /// The byte range of a length-delimited field.
    mutating func lengthDelimited() throws -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw error("a length within the \(end - position) bytes left", "length \(length)")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// Checks that a field has the wire type its schema gives it.
    func require(_ wire: WireType, is expected: WireType, field: String) throws {
        guard wire == expected else {
            throw error("wire type \(expected.rawValue) for \(field)", "wire type \(wire.rawValue)")
        }
    }

    /// A nested message's reader.
    mutating func message(_ wire: WireType, field: String) throws -> ProtobufReader {
        try require(wire, is: .lengthDelimited, field: field)
        guard depth < Self.maxDepth else { throw error("messages nested at most \(Self.maxDepth) deep", "deeper") }
        let range = try lengthDelimited()
        return ProtobufReader(parent: self, range: range, context: context + "." + field)
    }

    mutating func string(_ wire: WireType, field: String) throws -> String {
        try require(wire, is: .lengthDelimited, field: field)
        let range = try lengthDelimited()
        guard let s = String(validating: bytes[range], as: UTF8.self) else {
            throw error("UTF-8 text in \(field)", "invalid UTF-8")
        }
        return s
    }

    mutating func data(_ wire: WireType, field: String) throws -> ArraySlice<UInt8> {
        try require(wire, is: .lengthDelimited, field: field)
        return bytes[try lengthDelimited()]
    }

    mutating func int64(_ wire: WireType, field: String) throws -> Int64 {
        try require(wire, is: .varint, field: field)
        return Int64(bitPattern: try varint())
    }

    mutating func int32(_ wire: WireType, field: String) throws -> Int32 {
        try require(wire, is: .varint, field: field)
        let v = Int64(bitPattern: try varint())
        guard let i = Int32(exactly: v) else { throw error("a 32-bit integer in \(field)", "\(v)") }
        return i
    }

    mutating func float(_ wire: WireType, field: String) throws -> Float {
        try require(wire, is: .fixed32, field: field)
        return Float(bitPattern: try fixed32())
    }

    /// A repeated int64 field, packed or not (both are valid encodings), appended to `out`.
    /// At most `limit` values in all.
    mutating func appendInt64s(_ wire: WireType, field: String, to out: inout [Int64], limit: Int) throws {
        if wire == .varint {
            out.append(Int64(bitPattern: try varint()))
        } else {
            try require(wire, is: .lengthDelimited, field: field)
            var sub = ProtobufReader(parent: self, range: try lengthDelimited(), context: context + "." + field)
            while !sub.isAtEnd {
                out.append(Int64(bitPattern: try sub.varint()))
                guard out.count <= limit else { throw sub.error("at most \(limit) values in \(field)", "more") }
            }
        }
        guard out.count <= limit else { throw error("at most \(limit) values in \(field)", "more") }
    }

    /// A repeated float field, packed or not, appended to `out`.
    mutating func appendFloats(_ wire: WireType, field: String, to out: inout [Float], limit: Int) throws {
        if wire == .fixed32 {
            out.append(Float(bitPattern: try fixed32()))
        } else {
            try require(wire, is: .lengthDelimited, field: field)
            let range = try lengthDelimited()
            guard range.count % 4 == 0 else { throw error("a multiple of 4 bytes of packed floats", "\(range.count)") }
            guard out.count + range.count / 4 <= limit else {
                throw error("at most \(limit) values in \(field)", "more")
            }
            var i = range.lowerBound
            while i < range.upperBound {
                var v: UInt32 = 0
                for k in 0..<4 { v |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
                out.append(Float(bitPattern: v))
                i += 4
            }
        }
        guard out.count <= limit else { throw error("at most \(limit) values in \(field)", "more") }
    }

    /// A repeated double field, packed or not.
    mutating func appendDoubles(_ wire: WireType, field: String, to out: inout [Double], limit: Int) throws {
        if wire == .fixed64 {
            out.append(Double(bitPattern: try fixed64()))
        } else {
            try require(wire, is: .lengthDelimited, field: field)
            var sub = ProtobufReader(parent: self, range: try lengthDelimited(), context: context + "." + field)
            while !sub.isAtEnd {
                out.append(Double(bitPattern: try sub.fixed64()))
                guard out.count <= limit else { throw sub.error("at most \(limit) values in \(field)", "more") }
            }
        }
        guard out.count <= limit else { throw error("at most \(limit) values in \(field)", "more") }
    }

    /// Skips a field of any accepted wire type.
    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }
}
