import Formats
import Foundation

/// The parts of an ONNX `ModelProto` the importer uses (onnx/onnx.proto, IR version ≥ 7,
/// opsets 13–21 of the default domain). Field numbers are the schema's; anything else in a
/// file is skipped. Decoding is strict (``ProtobufReader``) and every tensor's data is
/// resolved and checked here, external data included, so later stages see only consistent
/// values.
public struct ONNXModel: Sendable {
    public var irVersion: Int64 = 0
    /// domain → opset version ("" is the default domain ai.onnx).
    public var opsets: [String: Int64] = [:]
    public var producer = ""
    public var graph = Graph()
    /// Where it was read from (for errors).
    public var path = ""

    public struct Graph: Sendable {
        public var name = ""
        public var nodes: [Node] = []
        public var initializers: [TensorValue] = []
        public var inputs: [ValueInfo] = []
        public var outputs: [ValueInfo] = []
    }

    public struct Node: Sendable {
        public var name = ""
        public var opType = ""
        public var domain = ""
        public var inputs: [String] = []
        public var outputs: [String] = []
        public var attributes: [Attribute] = []
        /// A readable label for errors: the node's name, or its op and position.
        public var label: String { name.isEmpty ? "(unnamed \(opType))" : name }
    }

    public struct Attribute: Sendable {
        public enum Value: Sendable {
            case float(Float), int(Int64), string(String), tensor(TensorValue)
            case floats([Float]), ints([Int64]), strings([String])
            /// A kind the importer does not use (graphs, sparse tensors, type protos).
            case unsupported(type: Int)
        }
        public var name = ""
        public var value: Value = .unsupported(type: 0)
    }

    /// A graph input or output: name, element type and dimensions (nil = symbolic).
    public struct ValueInfo: Sendable {
        public var name = ""
        public var elementType: Int32 = 0
        public var dims: [Int64?] = []
        public var hasShape = false
    }

    /// The most values one tensor may hold and the most entries any repeated field may
    /// have: bounds for allocations driven by file contents.
    static let maxElements = 1 << 30
    static let maxEntries = 1 << 20
}

/// A decoded tensor: float32 values (from FLOAT, DOUBLE or FLOAT16 data) or int64 values
/// (from INT64, INT32, INT8, UINT8, BOOL …), with its element type kept.
public struct TensorValue: Sendable {
    public var name: String
    public var dims: [Int]
    public var dataType: Int32
    public enum Values: Sendable, Equatable { case float([Float]), int([Int64]) }
    public var values: Values

    public var count: Int { dims.reduce(1, *) }
    public var isFloat: Bool { if case .float = values { return true } else { return false } }
    public var floats: [Float]? { if case let .float(v) = values { return v } else { return nil } }
    public var ints: [Int64]? { if case let .int(v) = values { return v } else { return nil } }

    /// ONNX TensorProto.DataType codes.
    public enum DataType {
        public static let float: Int32 = 1, uint8: Int32 = 2, int8: Int32 = 3, uint16: Int32 = 4, int16: Int32 = 5
        public static let int32: Int32 = 6, int64: Int32 = 7, bool: Int32 = 9, float16: Int32 = 10
        public static let double: Int32 = 11, uint32: Int32 = 12, uint64: Int32 = 13
        static func name(_ t: Int32) -> String {
            let names: [Int32: String] = [
                1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32",
                7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE",
                12: "UINT32", 13: "UINT64", 16: "BFLOAT16",
            ]
            return names[t] ?? "type \(t)"
        }
        static func isFloat(_ t: Int32) -> Bool { t == float || t == double || t == float16 }
        static func byteSize(_ t: Int32) -> Int? {
            switch t {
            case uint8, int8, bool: return 1
            case uint16, int16, float16: return 2
            case float, int32, uint32: return 4
            case int64, double, uint64: return 8
            default: return nil
            }
        }
    }
}

extension ONNXModel {
    /// Reads and decodes an .onnx file; external tensor data is read from files beside it.
    public static func load(_ path: String) throws -> ONNXModel {
        let bytes = try AtomicFile.read(path)
        var model = try decode(bytes, path: path)
        model.path = path
        return model
    }

    /// Decodes the bytes of a ModelProto; `path` locates external data and names errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> ONNXModel {
        var r = ProtobufReader(bytes: bytes, file: path, context: "model")
        var model = ONNXModel()
        model.path = path
        var sawGraph = false
        let external = ExternalData(modelPath: path)
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1: model.irVersion = try r.int64(wire, field: "ir_version")
            case 2: model.producer = try r.string(wire, field: "producer_name")
            case 7:
                var g = try r.message(wire, field: "graph")
                model.graph = try decodeGraph(&g, external: external)
                sawGraph = true
            case 8:
                var o = try r.message(wire, field: "opset_import")
                var domain = "", version: Int64 = 0
                while let (n, w) = try o.nextField() {
                    switch n {
                    case 1: domain = try o.string(w, field: "domain")
                    case 2: version = try o.int64(w, field: "version")
                    default: try o.skip(w)
                    }
                }
                model.opsets[domain == "ai.onnx" ? "" : domain] = version
            case 25:
                throw r.error("a model without local functions (inline them when exporting)", "a FunctionProto")
            default: try r.skip(wire)
            }
        }
        guard sawGraph else { throw r.error("a ModelProto with a graph (field 7)", "no graph") }
        guard model.irVersion >= 3 else {
            throw FormatError(
                file: path, field: "model.ir_version", expected: "≥ 3 (an ONNX model)",
                found: "\(model.irVersion)")
        }
        return model
    }

    static func decodeGraph(_ r: inout ProtobufReader, external: ExternalData) throws -> Graph {
        var g = Graph()
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1:
                var n = try r.message(wire, field: "node[\(g.nodes.count)]")
                g.nodes.append(try decodeNode(&n))
            case 2: g.name = try r.string(wire, field: "name")
            case 5:
                var t = try r.message(wire, field: "initializer[\(g.initializers.count)]")
                g.initializers.append(try decodeTensor(&t, external: external))
            case 11:
                var v = try r.message(wire, field: "input[\(g.inputs.count)]")
                g.inputs.append(try decodeValueInfo(&v))
            case 12:
                var v = try r.message(wire, field: "output[\(g.outputs.count)]")
                g.outputs.append(try decodeValueInfo(&v))
            case 15:
                throw r.error("dense initializers", "a sparse_initializer (convert it to dense when exporting)")
            default: try r.skip(wire)
            }
            guard g.nodes.count <= maxEntries, g.initializers.count <= maxEntries else {
                throw r.error("at most \(maxEntries) nodes and initializers", "more")
            }
        }
        return g
    }

    static func decodeNode(_ r: inout ProtobufReader) throws -> Node {
        var node = Node()
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1: node.inputs.append(try r.string(wire, field: "input"))
            case 2: node.outputs.append(try r.string(wire, field: "output"))
            case 3: node.name = try r.string(wire, field: "name")
            case 4: node.opType = try r.string(wire, field: "op_type")
            case 5:
                var a = try r.message(wire, field: "attribute[\(node.attributes.count)]")
                node.attributes.append(try decodeAttribute(&a))
            case 7: node.domain = try r.string(wire, field: "domain")
            default: try r.skip(wire)
            }
            guard node.inputs.count + node.outputs.count + node.attributes.count <= maxEntries else {
                throw r.error("at most \(maxEntries) inputs, outputs and attributes", "more")
            }
        }
        return node
    }

    static func decodeAttribute(_ r: inout ProtobufReader) throws -> Attribute {
        var a = Attribute()
        var type = 0
        var f: Float?, i: Int64?, s: String?, t: TensorValue?
        var floats: [Float] = [], ints: [Int64] = [], strings: [String] = []
        var other = false
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1: a.name = try r.string(wire, field: "name")
            case 2: f = try r.float(wire, field: "f")
            case 3: i = try r.int64(wire, field: "i")
            case 4:
                let bytes = try r.data(wire, field: "s")
                // Strings are bytes in the schema; the attributes the importer reads are ASCII.
                s = String(decoding: bytes, as: UTF8.self)
            case 5:
                var m = try r.message(wire, field: "t")
                t = try decodeTensor(&m, external: nil)
            case 7: try r.appendFloats(wire, field: "floats", to: &floats, limit: maxEntries)
            case 8: try r.appendInt64s(wire, field: "ints", to: &ints, limit: maxEntries)
            case 9:
                strings.append(String(decoding: try r.data(wire, field: "strings"), as: UTF8.self))
                guard strings.count <= maxEntries else { throw r.error("at most \(maxEntries) strings", "more") }
            case 20: type = Int(try r.int32(wire, field: "type"))
            case 6, 10, 11, 14, 15, 22, 23: other = true; try r.skip(wire)
            case 21: throw r.error("attributes with values", "a reference attribute (ref_attr_name) outside a function")
            default: try r.skip(wire)
            }
        }
        switch type {
        case 1: a.value = .float(f ?? 0)
        case 2: a.value = .int(i ?? 0)
        case 3: a.value = .string(s ?? "")
        case 4:
            guard let t else { throw r.error("a tensor in TENSOR attribute '\(a.name)'", "none") }
            a.value = .tensor(t)
        case 6: a.value = .floats(floats)
        case 7: a.value = .ints(ints)
        case 8: a.value = .strings(strings)
        case 0 where !other:
            // IR < 3 files may omit `type`: infer it from the one value present.
            if let f {
                a.value = .float(f)
            } else if let i {
                a.value = .int(i)
            } else if let s {
                a.value = .string(s)
            } else if let t {
                a.value = .tensor(t)
            } else if !floats.isEmpty {
                a.value = .floats(floats)
            } else if !ints.isEmpty {
                a.value = .ints(ints)
            } else {
                a.value = .strings(strings)
            }
        default: a.value = .unsupported(type: type)
        }
        return a
    }

    static func decodeValueInfo(_ r: inout ProtobufReader) throws -> ValueInfo {
        var v = ValueInfo()
        while let (number, wire) = try r.nextField() {
            switch number {
            case 1: v.name = try r.string(wire, field: "name")
            case 2:
                var type = try r.message(wire, field: "type")
                while let (n, w) = try type.nextField() {
                    guard n == 1 else { try type.skip(w); continue }
                    var tensor = try type.message(w, field: "tensor_type")
                    while let (tn, tw) = try tensor.nextField() {
                        switch tn {
                        case 1: v.elementType = try tensor.int32(tw, field: "elem_type")
                        case 2:
                            v.hasShape = true
                            var shape = try tensor.message(tw, field: "shape")
                            while let (sn, sw) = try shape.nextField() {
                                guard sn == 1 else { try shape.skip(sw); continue }
                                var dim = try shape.message(sw, field: "dim[\(v.dims.count)]")
                                var value: Int64?
                                while let (dn, dw) = try dim.nextField() {
                                    if dn == 1 {
                                        value = try dim.int64(dw, field: "dim_value")
                                    } else {
                                        try dim.skip(dw)
                                    }
                                }
                                v.dims.append(value)
                                guard v.dims.count <= 64 else { throw shape.error("at most 64 dimensions", "more") }
                            }
                        default: try tensor.skip(tw)
                        }
                    }
                }
            default: try r.skip(wire)
            }
        }
        return v
    }
}
