import Formats
import Tensors

/// A value flowing through an imported graph: a float tensor (differentiable, a
/// ``Variable``) or an integer/boolean tensor (shapes, indices, masks; never differentiated).
/// ONNX's many element types collapse onto these two: floating types compute in Float32,
/// integer and boolean types in Int64.
enum ONNXValue {
    case float(Variable)
    case int(IntTensor)

    var shape: [Int] {
        switch self {
        case let .float(v): return v.shape
        case let .int(t): return t.shape
        }
    }
    var count: Int { shape.reduce(1, *) }
}

/// A row-major Int64 tensor.
struct IntTensor: Equatable, Sendable {
    var shape: [Int]
    var values: [Int64]
    /// Whether it came from a BOOL-typed op (Equal, a bool initializer), for Where's mask.
    var isBool = false

    init(shape: [Int], values: [Int64], isBool: Bool = false) {
        precondition(shape.reduce(1, *) == values.count, "int tensor \(shape) with \(values.count) values")
        self.shape = shape
        self.values = values
        self.isBool = isBool
    }

    init(vector: [Int64]) { self.init(shape: [vector.count], values: vector) }

    var count: Int { values.count }
}

/// An error in an imported graph, naming the node, its op and what was wrong.
public struct ONNXError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let node: String
    public let op: String
    public let message: String

    public init(file: String, node: String, op: String, message: String) {
        self.file = file
        self.node = node
        self.op = op
        self.message = message
    }

    public var description: String { "\(file): node \(node) (\(op)): \(message)" }
}

/// What an op implementation throws; the interpreter adds file, node and op.
struct OpFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Row-major index helpers shared by the data-movement ops.
enum Indexing {
    static func strides(_ shape: [Int]) -> [Int] { Tensor.rowMajorStrides(shape) }

    /// Normalises an axis in −rank…rank−1.
    static func axis(_ a: Int64, rank: Int, _ what: String = "axis") throws -> Int {
        guard a >= Int64(-rank) && a < Int64(max(rank, 1)) else {
            throw OpFailure("\(what) \(a) outside −\(rank)…\(rank - 1)")
        }
        return a < 0 ? Int(a) + rank : Int(a)
    }

    /// Calls `body(flatOutputIndex, multiIndex)` for every element of `shape` in row-major order.
    static func forEach(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<total {
            body(flat, index)
            var a = shape.count - 1
            while a >= 0 {
                index[a] += 1
                if index[a] < shape[a] { break }
                index[a] = 0
                a -= 1
            }
        }
    }

    /// The gather map that broadcasts `shape` to `target` (NumPy rules, checked by the caller).
    static func broadcastMap(from shape: [Int], to target: [Int]) -> [Int32] {
        let s = strides(shape)
        let lead = target.count - shape.count
        let eff = (0..<target.count).map { i in i < lead || shape[i - lead] == 1 ? 0 : s[i - lead] }
        var map = [Int32](repeating: 0, count: target.reduce(1, *))
        forEach(target) { flat, idx in
            var src = 0
            for a in 0..<target.count { src += idx[a] * eff[a] }
            map[flat] = Int32(src)
        }
        return map
    }

    /// `v` broadcast to `shape` (a differentiable gather; `v` itself when it already has it).
    static func expand(_ v: Variable, to shape: [Int]) -> Variable {
        v.shape == shape ? v : v.gathered(broadcastMap(from: v.shape, to: shape), shape: shape)
    }

    /// The broadcast shape of several shapes, or a failure naming them.
    static func broadcast(_ shapes: [[Int]]) throws -> [Int] {
        var out: [Int] = []
        for s in shapes {
            guard let b = Broadcasting.shape(out, s) else { throw OpFailure("shapes \(shapes) do not broadcast") }
            out = b
        }
        return out
    }

    /// Elements are addressed with Int32 maps: at most 2³¹ − 1 per tensor.
    static func checkSize(_ shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), let n = MemoryBudget.product(shape), n < Int(Int32.max) else {
            throw OpFailure("tensor shape \(shape) too large (at most 2³¹ − 1 elements)")
        }
    }
}
