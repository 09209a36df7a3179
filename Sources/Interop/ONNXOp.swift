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
    /// Constant inputs (initializers) by position, for ops that need a value at compile time.
    let outputCount: Int

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

/// Every op the importer runs, by ONNX op type (default domain).
enum ONNXOps {
    static let table: [String: ONNXOpDefinition] = {
        var t: [String: ONNXOpDefinition] = [:]
        ElementwiseOps.register(&t)
        ShapeOps.register(&t)
        LinearOps.register(&t)
        NormalizationOps.register(&t)
        PoolingOps.register(&t)
        return t
    }()

    static var supported: [String] { table.keys.sorted() }
}
