import Tensors

/// Element-wise ops: arithmetic with broadcasting (float and integer), comparisons,
/// unary functions, Cast, Identity and Where.
enum ElementwiseOps {
    static func register(_ t: inout [String: ONNXOpDefinition]) {
        for (name, op) in [("Add", Arithmetic.Operation.add), ("Sub", .subtract), ("Mul", .multiply), ("Div", .divide)]
        {
            t[name] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in
                [try binary(try c.input(0), try c.input(1), op)]
            }
        }
        t["Pow"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in [try pow(c)] }
        t["Equal"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in [try equal(c)] }
        let unary: [(String, UnaryFunction)] = [
            ("Sin", .sin), ("Cos", .cos), ("Exp", .exp), ("Log", .log), ("Sqrt", .sqrt), ("Tanh", .tanh),
            ("Sigmoid", .sigmoid), ("Erf", .erf), ("Relu", .relu), ("Abs", .abs), ("Reciprocal", .reciprocal),
        ]
        for (name, f) in unary {
            t[name] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: []) { c in
                [.float(try c.float(0).applying(f))]
            }
        }
        t["Neg"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: []) { c in
            switch try c.input(0) {
            case let .float(v): return [.float(v.applying(.negate))]
            case let .int(i): return [.int(IntTensor(shape: i.shape, values: i.values.map { 0 &- $0 }))]
            }
        }
        t["Gelu"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["approximate"]) { c in
            let mode = try c.string("approximate", default: "none")
            try c.require(mode == "none" || mode == "tanh", attribute: "approximate", mode, supported: "none, tanh")
            let x = try c.float(0)
            return [.float(mode == "tanh" ? x.gelu() : x.applying(.geluExact))]
        }
        t["Identity"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: []) { c in [try c.input(0)] }
        t["Cast"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["to", "saturate"]) { c in
            [try cast(c)]
        }
        t["Where"] = ONNXOpDefinition(inputs: 3...3, outputs: 1...1, attributes: []) { c in [try whereOp(c)] }
    }

    static func binary(_ a: ONNXValue, _ b: ONNXValue, _ op: Arithmetic.Operation) throws -> ONNXValue {
        switch (a, b) {
        case let (.float(x), .float(y)):
            _ = try Indexing.broadcast([x.shape, y.shape])
            switch op {
            case .add: return .float(x + y)
            case .subtract: return .float(x - y)
            case .multiply: return .float(x * y)
            case .divide: return .float(x / y)
            }
        case let (.int(x), .int(y)):
            return .int(
                try intBinary(x, y) { p, q in
                    switch op {
                    case .add: return p &+ q
                    case .subtract: return p &- q
                    case .multiply: return p &* q
                    case .divide:
                        guard q != 0 else { throw OpFailure("integer division by zero") }
                        return p / q  // truncation toward zero, as onnxruntime
                    }
                })
        default:
            throw OpFailure("operands of one type expected, found one float and one integer tensor")
        }
    }

    static func intBinary(_ a: IntTensor, _ b: IntTensor, _ f: (Int64, Int64) throws -> Int64) throws -> IntTensor {
        let shape = try Indexing.broadcast([a.shape, b.shape])
        try Indexing.checkSize(shape)
        let ma = Indexing.broadcastMap(from: a.shape, to: shape), mb = Indexing.broadcastMap(from: b.shape, to: shape)
        var out = [Int64](repeating: 0, count: ma.count)
        for i in 0..<ma.count { out[i] = try f(a.values[Int(ma[i])], b.values[Int(mb[i])]) }
        return IntTensor(shape: shape, values: out)
    }

    /// x^p for a constant exponent (PyTorch's `x ** 3` in the tanh-GELU): a tensor exponent
    /// that is not one repeated value is refused.
    static func pow(_ c: OpContext) throws -> ONNXValue {
        let x = try c.float(0)
        let p: Float
        switch try c.input(1) {
        case let .float(e):
            guard !e.requiresGradient, let first = e.value.data.first, e.value.data.allSatisfy({ $0 == first }) else {
                throw OpFailure("Pow with a varying or trainable exponent is not supported (constant exponents only)")
            }
            p = first
        case let .int(e):
            guard let first = e.values.first, e.values.allSatisfy({ $0 == first }) else {
                throw OpFailure("Pow with a varying exponent is not supported (constant exponents only)")
            }
            p = Float(first)
        }
        let y = x.applying(.power(p))
        let shape = try Indexing.broadcast([x.shape, try c.input(1).shape])
        return .float(Indexing.expand(y, to: shape))
    }

    static func equal(_ c: OpContext) throws -> ONNXValue {
        var r = try ExtraElementwiseOps.compare(try c.input(0), try c.input(1), float: ==, int: ==)
        r.isBool = true
        return .int(r)
    }

    static func cast(_ c: OpContext) throws -> ONNXValue {
        let to = Int32(truncatingIfNeeded: try c.int("to", default: -1))
        guard TensorValue.DataType.byteSize(to) != nil else {
            throw OpFailure("Cast to \(TensorValue.DataType.name(to)) is not supported (numeric types only)")
        }
        let toFloat = TensorValue.DataType.isFloat(to)
        switch try c.input(0) {
        case let .float(v):
            if toFloat { return .float(v) }
            var values = [Int64]()
            values.reserveCapacity(v.value.count)
            for x in v.value.data {
                guard x.isFinite, abs(x) < 9.2e18 else { throw OpFailure("Cast of \(x) to an integer type") }
                values.append(to == TensorValue.DataType.bool ? (x != 0 ? 1 : 0) : Int64(x))  // truncation
            }
            return .int(IntTensor(shape: v.shape, values: values, isBool: to == TensorValue.DataType.bool))
        case let .int(i):
            if toFloat { return .float(Variable(Tensor(shape: i.shape, data: i.values.map { Float($0) }))) }
            if to == TensorValue.DataType.bool {
                return .int(IntTensor(shape: i.shape, values: i.values.map { $0 != 0 ? 1 : 0 }, isBool: true))
            }
            return .int(IntTensor(shape: i.shape, values: i.values))
        }
    }

    static func whereOp(_ c: OpContext) throws -> ONNXValue {
        let cond = try c.int(0)
        let a = try c.input(1), b = try c.input(2)
        let shape = try Indexing.broadcast([cond.shape, a.shape, b.shape])
        try Indexing.checkSize(shape)
        let mc = Indexing.broadcastMap(from: cond.shape, to: shape)
        let mask = mc.map { cond.values[Int($0)] != 0 }
        switch (a, b) {
        case let (.float(x), .float(y)):
            return .float(select(mask, Indexing.expand(x, to: shape), Indexing.expand(y, to: shape)))
        case let (.int(x), .int(y)):
            let mx = Indexing.broadcastMap(from: x.shape, to: shape),
                my = Indexing.broadcastMap(from: y.shape, to: shape)
            return .int(
                IntTensor(
                    shape: shape,
                    values: (0..<mask.count).map {
                        mask[$0] ? x.values[Int(mx[$0])] : y.values[Int(my[$0])]
                    }, isBool: x.isBool && y.isBool))
        default: throw OpFailure("Where needs X and Y of one type")
        }
    }
}

/// Further element-wise ops common in exports: Clip, LeakyRelu, Softplus, Max, Min and the
/// comparisons Less, Greater, Not, And, Or.
enum ExtraElementwiseOps {
    static func register(_ t: inout [String: ONNXOpDefinition]) {
        t["Clip"] = ONNXOpDefinition(inputs: 1...3, outputs: 1...1, attributes: []) { c in
            func bound(_ i: Int, _ d: Float) throws -> Float {
                guard let v = c.optionalInput(i) else { return d }
                switch v {
                case let .float(f):
                    guard !f.requiresGradient, f.value.count == 1 else {
                        throw OpFailure("Clip bounds must be constant scalars")
                    }
                    return f.value.data[0]
                case let .int(i):
                    guard i.count == 1 else { throw OpFailure("Clip bounds must be scalars") }
                    return Float(i.values[0])
                }
            }
            let low = try bound(1, -.greatestFiniteMagnitude), high = try bound(2, .greatestFiniteMagnitude)
            switch try c.input(0) {
            case let .float(x): return [.float(x.applying(.clip(low, high)))]
            case let .int(i):
                return [
                    .int(
                        IntTensor(
                            shape: i.shape, values: i.values.map { Swift.min(Swift.max($0, Int64(low)), Int64(high)) }))
                ]
            }
        }
        t["LeakyRelu"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["alpha"]) { c in
            [.float(try c.float(0).applying(.leakyRelu(try c.float("alpha", default: 0.01))))]
        }
        t["Softplus"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: []) { c in
            [.float(try c.float(0).applying(.softplus))]
        }
        for (name, takeMax) in [("Max", true), ("Min", false)] {
            t[name] = ONNXOpDefinition(inputs: 1...Int(Int16.max), outputs: 1...1, attributes: []) { c in
                var acc = try c.input(0)
                for i in 1..<c.inputs.count { acc = try extremum(acc, try c.input(i), max: takeMax) }
                return [acc]
            }
        }
        for (name, op) in [("Less", 0), ("Greater", 1)] {
            t[name] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in
                var r = try compare(
                    try c.input(0), try c.input(1), float: { op == 0 ? $0 < $1 : $0 > $1 },
                    int: { op == 0 ? $0 < $1 : $0 > $1 })
                r.isBool = true
                return [.int(r)]
            }
        }
        t["Not"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: []) { c in
            let x = try c.int(0)
            return [.int(IntTensor(shape: x.shape, values: x.values.map { $0 == 0 ? 1 : 0 }, isBool: true))]
        }
        for (name, isAnd) in [("And", true), ("Or", false)] {
            t[name] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in
                var r = try ElementwiseOps.intBinary(try c.int(0), try c.int(1)) {
                    isAnd ? ($0 != 0 && $1 != 0 ? 1 : 0) : ($0 != 0 || $1 != 0 ? 1 : 0)
                }
                r.isBool = true
                return [.int(r)]
            }
        }
    }

    /// Element-wise comparison of two tensors of one kind, broadcast (integers compared exactly).
    static func compare(
        _ a: ONNXValue, _ b: ONNXValue, float: (Float, Float) -> Bool, int: (Int64, Int64) -> Bool
    ) throws -> IntTensor {
        switch (a, b) {
        case let (.int(x), .int(y)):
            return try ElementwiseOps.intBinary(x, y) { int($0, $1) ? 1 : 0 }
        case let (.float(x), .float(y)):
            let shape = try Indexing.broadcast([x.shape, y.shape])
            try Indexing.checkSize(shape)
            let fa = x.value.data, fb = y.value.data
            let ma = Indexing.broadcastMap(from: x.shape, to: shape),
                mb = Indexing.broadcastMap(from: y.shape, to: shape)
            return IntTensor(
                shape: shape, values: (0..<ma.count).map { float(fa[Int(ma[$0])], fb[Int(mb[$0])]) ? 1 : 0 })
        default:
            throw OpFailure("operands of one type expected, found one float and one integer tensor")
        }
    }

    /// Max or Min of two tensors, broadcast; the gradient goes to the chosen operand (the first on ties).
    static func extremum(_ a: ONNXValue, _ b: ONNXValue, max: Bool) throws -> ONNXValue {
        switch (a, b) {
        case let (.float(x), .float(y)):
            let shape = try Indexing.broadcast([x.shape, y.shape])
            try Indexing.checkSize(shape)
            let ex = Indexing.expand(x, to: shape), ey = Indexing.expand(y, to: shape)
            let mask = zip(ex.value.data, ey.value.data).map { max ? $0 >= $1 : $0 <= $1 }
            return .float(select(mask, ex, ey))
        case let (.int(x), .int(y)):
            return .int(try ElementwiseOps.intBinary(x, y) { max ? Swift.max($0, $1) : Swift.min($0, $1) })
        default:
            throw OpFailure("operands of one type expected")
        }
    }
}
