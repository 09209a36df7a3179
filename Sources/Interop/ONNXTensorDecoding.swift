import Formats
import Foundation

/// External tensor data (`data_location = EXTERNAL`): files beside the model, each read
/// once. A location must be a relative path inside the model's directory (the ONNX
/// ExternalData rules); `offset` and `length` must lie inside the file.
final class ExternalData {
    let directory: String
    let modelPath: String
    private var files: [String: [UInt8]] = [:]

    init(modelPath: String) {
        self.modelPath = modelPath
        directory = URL(fileURLWithPath: modelPath).deletingLastPathComponent().path
    }

    func bytes(location: String, offset: Int, length: Int?, tensor: String) throws -> ArraySlice<UInt8> {
        let field = "initializer '\(tensor)'.external_data"
        guard !location.isEmpty, !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
            throw FormatError(
                file: modelPath, field: field + ".location",
                expected: "a relative path inside the model's directory", found: "'\(location)'")
        }
        let path = directory + "/" + location
        if files[location] == nil {
            guard FileManager.default.fileExists(atPath: path) else {
                throw FormatError(
                    file: modelPath, field: field + ".location",
                    expected: "the external data file \(path) (keep it beside the .onnx file)",
                    found: "no such file")
            }
            files[location] = try AtomicFile.read(path)
        }
        let data = files[location]!
        let n = length ?? (data.count - offset)
        guard offset >= 0, n >= 0, offset <= data.count, n <= data.count - offset else {
            throw FormatError(
                file: path, field: "offset/length of '\(tensor)'",
                expected: "a range inside the file's \(data.count) bytes",
                found: "offset \(offset), length \(length.map(String.init) ?? "(rest)")")
        }
        return data[offset..<(offset + n)]
    }
}

extension ONNXModel {
    /// Decodes a TensorProto into values, resolving raw, typed or external data. `external`
    /// is nil inside attributes (which cannot refer to external files).
    static func decodeTensor(_ r: inout ProtobufReader, external: ExternalData?) throws -> TensorValue {
        var dims: [Int64] = []
        var dataType: Int32 = 0
        var name = ""
        var raw: ArraySlice<UInt8>?
        var floatData: [Float] = [], int32Data: [Int64] = [], int64Data: [Int64] = []
        var doubleData: [Double] = [], uint64Data: [Int64] = []
        var externalEntries: [String: String] = [:]
        var location: Int64 = 0
        let limit = maxElements
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1: try r.appendInt64s(wire, field: "dims", to: &dims, limit: 64)
            case 2: dataType = try r.int32(wire, field: "data_type")
            case 3: throw r.error("an unsegmented tensor", "a segment")
            case 4: try r.appendFloats(wire, field: "float_data", to: &floatData, limit: limit)
            case 5: try r.appendInt64s(wire, field: "int32_data", to: &int32Data, limit: limit)
            case 7: try r.appendInt64s(wire, field: "int64_data", to: &int64Data, limit: limit)
            case 8: name = try r.string(wire, field: "name")
            case 9: raw = try r.data(wire, field: "raw_data")
            case 10: try r.appendDoubles(wire, field: "double_data", to: &doubleData, limit: limit)
            case 11: try r.appendInt64s(wire, field: "uint64_data", to: &uint64Data, limit: limit)
            case 13:
                var e = try r.message(wire, field: "external_data")
                var key = "", value = ""
                while let (n, w) = try e.nextField() {
                    switch n {
                    case 1: key = try e.string(w, field: "key")
                    case 2: value = try e.string(w, field: "value")
                    default: try e.skip(w)
                    }
                }
                externalEntries[key] = value
                guard externalEntries.count <= 16 else { throw r.error("at most 16 external_data entries", "more") }
            case 14: location = try r.int64(wire, field: "data_location")
            default: try r.skip(wire)
            }
        }
        let label = "tensor '\(name)'"
        func fail(_ expected: String, _ found: String) -> FormatError {
            FormatError(file: r.file, field: r.context + " (" + label + ")", expected: expected, found: found)
        }
        guard dims.allSatisfy({ $0 >= 0 && $0 <= Int64(limit) }) else {
            throw fail("dimensions in 0…\(limit)", "\(dims)")
        }
        let shape = dims.map { Int($0) }
        guard let count = MemoryBudget.product(shape), count <= limit else {
            throw fail("at most \(limit) elements", "shape \(shape)")
        }
        guard let itemSize = TensorValue.DataType.byteSize(dataType) else {
            throw fail(
                "a numeric data type (FLOAT, DOUBLE, FLOAT16, INT64, INT32, INT8, UINT8, BOOL …)",
                TensorValue.DataType.name(dataType))
        }
        if location == 1 {
            guard let external else { throw fail("inline data in an attribute tensor", "external data") }
            guard let loc = externalEntries["location"] else { throw fail("an external_data 'location'", "none") }
            func integer(_ key: String) throws -> Int? {
                guard let text = externalEntries[key] else { return nil }
                guard let v = Int(text), v >= 0 else { throw fail("a non-negative integer \(key)", "'\(text)'") }
                return v
            }
            raw = try external.bytes(
                location: loc, offset: try integer("offset") ?? 0, length: try integer("length"),
                tensor: name)
        } else if location != 0 {
            throw fail("data_location DEFAULT (0) or EXTERNAL (1)", "\(location)")
        }
        let values: TensorValue.Values
        if let raw {
            guard raw.count == count * itemSize else {
                throw fail("\(count) × \(itemSize) = \(count * itemSize) bytes of raw data", "\(raw.count) bytes")
            }
            values = decodeRaw(raw, type: dataType, count: count)
        } else {
            // Typed fields: which one holds the data depends on the type (onnx.proto comments).
            let found: Int
            switch dataType {
            case TensorValue.DataType.float:
                found = floatData.count; values = .float(floatData)
            case TensorValue.DataType.double:
                found = doubleData.count; values = .float(doubleData.map { Float($0) })
            case TensorValue.DataType.float16:
                found = int32Data.count;
                values = .float(int32Data.map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) })
            case TensorValue.DataType.int64:
                found = int64Data.count; values = .int(int64Data)
            case TensorValue.DataType.uint32, TensorValue.DataType.uint64:
                found = uint64Data.count; values = .int(uint64Data)
            default:
                found = int32Data.count; values = .int(int32Data)
            }
            guard found == count else {
                throw fail("\(count) values for shape \(shape)", "\(found)")
            }
        }
        if case let .float(v) = values {
            try FormatError.requireFinite(v, file: r.file, field: label)
        }
        return TensorValue(name: name, dims: shape, dataType: dataType, values: values)
    }

    /// Little-endian raw bytes (length already checked) to values.
    static func decodeRaw(_ raw: ArraySlice<UInt8>, type: Int32, count: Int) -> TensorValue.Values {
        let base = raw.startIndex
        func word<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            var v: T = 0
            for k in 0..<MemoryLayout<T>.size {
                v |= T(truncatingIfNeeded: raw[base + i * MemoryLayout<T>.size + k]) << (8 * k)
            }
            return v
        }
        switch type {
        case TensorValue.DataType.float:
            return .float((0..<count).map { Float(bitPattern: word($0, UInt32.self)) })
        case TensorValue.DataType.double:
            return .float((0..<count).map { Float(Double(bitPattern: word($0, UInt64.self))) })
        case TensorValue.DataType.float16:
            return .float((0..<count).map { Float(Float16(bitPattern: word($0, UInt16.self))) })
        case TensorValue.DataType.int64, TensorValue.DataType.uint64:
            return .int((0..<count).map { Int64(bitPattern: word($0, UInt64.self)) })
        case TensorValue.DataType.int32:
            return .int((0..<count).map { Int64(Int32(bitPattern: word($0, UInt32.self))) })
        case TensorValue.DataType.uint32:
            return .int((0..<count).map { Int64(word($0, UInt32.self)) })
        case TensorValue.DataType.int16:
            return .int((0..<count).map { Int64(Int16(bitPattern: word($0, UInt16.self))) })
        case TensorValue.DataType.uint16:
            return .int((0..<count).map { Int64(word($0, UInt16.self)) })
        case TensorValue.DataType.int8:
            return .int((0..<count).map { Int64(Int8(bitPattern: raw[base + $0])) })
        default:  // UINT8, BOOL
            return .int((0..<count).map { Int64(raw[base + $0]) })
        }
    }
}
