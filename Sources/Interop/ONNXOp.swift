import Foundation
import Tensors

/// One supported op: how many inputs and outputs it takes, which attributes it
/// understands, and its implementation. An attribute outside the set is refused when the
/// graph is compiled, so an unknown option can never be silently ignored.
struct ONNXOpDefinition {
    let inputs: ClosedRange<Int>
    let outputs: ClosedRange<Int>
    let attributes: Set<String>
    let run: (inout OpContext) throws -> [ONNXValue]
}

/// The inputs and attributes of one node while it runs.
struct OpContext {
    let node: ONNXModel.Node
    let attributes: [String: ONNXModel.Attribute.Value]
    /// nil where an optional input is omitted ("").
    let inputs: [ONNXValue?]
    let outputCount: Int
    /// Where this node's index maps are kept between runs (nil: build every time).
    var cache: MapCache? = nil
    var nodeIndex = 0

    /// A gather map that depends only on this node's input shapes and integer inputs, built
    /// once per distinct signature and reused by every later run (and thread) of the graph.
    func memo(_ tag: String, _ build: () throws -> [Int32]) rethrows -> [Int32] {
        guard let cache, let key = signature(tag) else { return try build() }
        if let m = cache.get(key) { return m }
        let m = try build()
        cache.put(key, m)
        return m
    }

    /// Node, tag, input shapes and the values of small integer inputs; nil when an integer
    /// input is too large to key on.
    func signature(_ tag: String) -> String? {
        var key = "\(nodeIndex)|\(tag)"
        for v in inputs {
            switch v {
            case nil: key += "|-"
            case let .float(f)?: key += "|f\(f.shape)"
            case let .int(i)?:
                guard i.count <= 4096 else { return nil }
                key += "|i\(i.shape)\(i.values)"
            }
        }
        return key
    }

    func input(_ i: Int) throws -> ONNXValue {
        guard i < inputs.count, let v = inputs[i] else { throw OpFailure("input \(i) is required") }
        return v
    }

    func optionalInput(_ i: Int) -> ONNXValue? { i < inputs.count ? inputs[i] : nil }

    func float(_ i: Int) throws -> Variable {
        guard case let .float(v) = try input(i) else {
            throw OpFailure("input \(i) must be a float tensor, not integer")
        }
        return v
    }

    func int(_ i: Int) throws -> IntTensor {
        guard case let .int(v) = try input(i) else {
            throw OpFailure("input \(i) must be an integer tensor (shape, axes, indices), not float")
        }
        return v
    }

    func optionalInt(_ i: Int) throws -> IntTensor? {
        guard let v = optionalInput(i) else { return nil }
        guard case let .int(t) = v else { throw OpFailure("input \(i) must be an integer tensor, not float") }
        return t
    }

    func attribute(_ name: String) -> ONNXModel.Attribute.Value? { attributes[name] }

    func int(_ name: String, default d: Int64) throws -> Int64 {
        guard let a = attributes[name] else { return d }
        guard case let .int(v) = a else { throw OpFailure("attribute \(name) must be an INT") }
        return v
    }

    func float(_ name: String, default d: Float) throws -> Float {
        guard let a = attributes[name] else { return d }
        switch a {
        case let .float(v): return v
        case let .int(v): return Float(v)
        default: throw OpFailure("attribute \(name) must be a FLOAT")
        }
    }

    func string(_ name: String, default d: String) throws -> String {
        guard let a = attributes[name] else { return d }
        guard case let .string(v) = a else { throw OpFailure("attribute \(name) must be a STRING") }
        return v
    }

    func ints(_ name: String) throws -> [Int64]? {
        guard let a = attributes[name] else { return nil }
        guard case let .ints(v) = a else { throw OpFailure("attribute \(name) must be INTS") }
        return v
    }

    /// Refuses an attribute value the importer does not implement, naming the ones it does.
    func require(_ ok: Bool, attribute: String, _ found: Any, supported: String) throws {
        guard ok else {
            throw OpFailure("attribute \(attribute) = \(found) is not supported (supported: \(supported))")
        }
    }
}

/// Index maps by node signature, shared by every run of one graph (thread-safe). Bounded:
/// beyond `limit` elements in all, new maps are built and not kept.
final class MapCache: @unchecked Sendable {
    private var maps: [String: [Int32]] = [:]
    private var elements = 0
    private let lock = NSLock()
    let limit = 1 << 24

    func get(_ key: String) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return maps[key]
    }

    func put(_ key: String, _ map: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        guard elements + map.count <= limit, maps[key] == nil else { return }
        maps[key] = map
        elements += map.count
    }
}

/// Every op the importer runs, by ONNX op type (default domain).
enum ONNXOps {
    static let table: [String: ONNXOpDefinition] = {
        var t: [String: ONNXOpDefinition] = [:]
        ElementwiseOps.register(&t)
        ExtraElementwiseOps.register(&t)
        ShapeOps.register(&t)
        PadOps.register(&t)
        LinearOps.register(&t)
        NormalizationOps.register(&t)
        PoolingOps.register(&t)
        return t
    }()

    static var supported: [String] { table.keys.sorted() }
}
