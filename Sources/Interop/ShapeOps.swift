import Tensors

/// Shape and data-movement ops. Float tensors move through differentiable primitives
/// (reshape, permute, slice, concat or a ``Gather`` map); integer tensors (the shape
/// arithmetic of dynamic-batch exports) are computed directly.
enum ShapeOps {
    static func register(_ t: inout [String: ONNXOpDefinition]) {
        t["Shape"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["start", "end"]) { c in
            let shape = try c.input(0).shape.map { Int64($0) }
            let r = shape.count
            func clamp(_ v: Int64) -> Int { Int(max(0, min(Int64(r), v < 0 ? v + Int64(r) : v))) }
            let start = clamp(try c.int("start", default: 0))
            let end = clamp(try c.int("end", default: Int64(r)))
            return [.int(IntTensor(vector: start < end ? Array(shape[start..<end]) : []))]
        }
        t["Reshape"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: ["allowzero"]) { c in
            let x = try c.input(0)
            let allowZero = try c.int("allowzero", default: 0) != 0
            return [try reshape(x, to: try resolveReshape(x.shape, try c.int(1).values, allowZero: allowZero))]
        }
        t["Flatten"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["axis"]) { c in
            let x = try c.input(0)
            let a = try Indexing.axis(try c.int("axis", default: 1), rank: x.shape.count + 1)
            let outer = x.shape[..<a].reduce(1, *)
            return [try reshape(x, to: [outer, x.count / max(outer, 1)])]
        }
        t["Unsqueeze"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in
            let x = try c.input(0)
            let axes = try c.int(1).values
            let r = x.shape.count + axes.count
            let normalized = try axes.map { try Indexing.axis($0, rank: r) }.sorted()
            guard Set(normalized).count == normalized.count else { throw OpFailure("repeated axes \(axes)") }
            var shape = x.shape
            for a in normalized { shape.insert(1, at: a) }
            return [try reshape(x, to: shape)]
        }
        t["Squeeze"] = ONNXOpDefinition(inputs: 1...2, outputs: 1...1, attributes: []) { c in
            let x = try c.input(0)
            var shape = x.shape
            if let axes = try c.optionalInt(1) {
                let normalized = try axes.values.map { try Indexing.axis($0, rank: shape.count) }
                for a in normalized where shape[a] != 1 { throw OpFailure("axis \(a) has extent \(shape[a]), not 1") }
                shape = shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element)
            } else {
                shape = shape.filter { $0 != 1 }
            }
            return [try reshape(x, to: shape)]
        }
        t["Concat"] = ONNXOpDefinition(inputs: 1...Int(Int16.max), outputs: 1...1, attributes: ["axis"]) { c in
            [try concat(c)]
        }
        t["Split"] = ONNXOpDefinition(inputs: 1...2, outputs: 1...Int(Int16.max), attributes: ["axis", "num_outputs"]) {
            c in try split(c)
        }
        t["Slice"] = ONNXOpDefinition(inputs: 3...5, outputs: 1...1, attributes: []) { c in [try slice(c)] }
        t["Transpose"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["perm"]) { c in
            let x = try c.input(0)
            let r = x.shape.count
            let perm = try c.ints("perm")?.map { Int($0) } ?? Array((0..<r).reversed())
            guard perm.sorted() == Array(0..<r) else {
                throw OpFailure("perm \(perm) is not a permutation of 0…\(r - 1)")
            }
            switch x {
            case let .float(v): return [.float(v.permuted(perm))]
            case let .int(i):
                let s = Indexing.strides(i.shape)
                let shape = perm.map { i.shape[$0] }
                var out = [Int64](repeating: 0, count: i.values.count)
                Indexing.forEach(shape) { flat, idx in
                    var src = 0
                    for (k, p) in perm.enumerated() { src += idx[k] * s[p] }
                    out[flat] = i.values[src]
                }
                return [.int(IntTensor(shape: shape, values: out, isBool: i.isBool))]
            }
        }
        t["Expand"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in
            let x = try c.input(0)
            let target = try c.int(1).values
            guard target.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else { throw OpFailure("shape \(target)") }
            let shape = try Indexing.broadcast([x.shape, target.map { Int($0) }])
            try Indexing.checkSize(shape)
            return [move(x, c.memo("expand") { Indexing.broadcastMap(from: x.shape, to: shape) }, shape)]
        }
        t["Gather"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: ["axis"]) { c in [try gather(c)] }
        t["GatherND"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: ["batch_dims"]) { c in
            [try gatherND(c)]
        }
        t["Constant"] = ONNXOpDefinition(
            inputs: 0...0, outputs: 1...1,
            attributes: ["value", "value_float", "value_floats", "value_int", "value_ints"]
        ) { c in [try constant(c)] }
        t["ConstantOfShape"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["value"]) { c in
            let dims = try c.int(0).values
            guard dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else { throw OpFailure("shape \(dims)") }
            let shape = dims.map { Int($0) }
            try Indexing.checkSize(shape)
            guard let a = c.attribute("value") else { return [.float(Variable(Tensor(zeros: shape)))] }
            guard case let .tensor(v) = a, v.count == 1 else { throw OpFailure("value must be a one-element tensor") }
            switch v.values {
            case let .float(f): return [.float(Variable(Tensor(repeating: f[0], shape: shape)))]
            case let .int(i):
                return [
                    .int(
                        IntTensor(
                            shape: shape, values: .init(repeating: i[0], count: shape.reduce(1, *)),
                            isBool: v.dataType == TensorValue.DataType.bool))
                ]
            }
        }
        t["Range"] = ONNXOpDefinition(inputs: 3...3, outputs: 1...1, attributes: []) { c in [try range(c)] }
    }

    // MARK: - Helpers

    static func reshape(_ x: ONNXValue, to shape: [Int]) throws -> ONNXValue {
        guard shape.reduce(1, *) == x.count else { throw OpFailure("cannot reshape \(x.shape) to \(shape)") }
        switch x {
        case let .float(v): return .float(v.shape == shape ? v : v.reshaped(shape))
        case var .int(i):
            i.shape = shape
            return .int(i)
        }
    }

    /// ONNX Reshape semantics: 0 copies the input extent (unless allowzero), −1 is inferred.
    static func resolveReshape(_ input: [Int], _ target: [Int64], allowZero: Bool) throws -> [Int] {
        let count = input.reduce(1, *)
        var shape = [Int]()
        var inferred: Int?
        for (i, d) in target.enumerated() {
            switch d {
            case -1:
                guard inferred == nil else { throw OpFailure("more than one −1 in shape \(target)") }
                inferred = i
                shape.append(1)
            case 0 where !allowZero:
                guard i < input.count else {
                    throw OpFailure("0 at axis \(i) of \(target) for input rank \(input.count)")
                }
                shape.append(input[i])
            default:
                guard d >= 0 && d <= Int64(Int32.max) else { throw OpFailure("extent \(d) in shape \(target)") }
                shape.append(Int(d))
            }
        }
        if let inferred {
            let rest = shape.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            guard rest > 0, count % rest == 0 else { throw OpFailure("cannot reshape \(input) to \(target)") }
            shape[inferred] = count / rest
        }
        guard shape.reduce(1, *) == count else {
            throw OpFailure("cannot reshape \(input) (\(count) elements) to \(target)")
        }
        return shape
    }

    /// Moves elements through a gather map (−1 = zero; integer tensors never use −1).
    static func move(_ x: ONNXValue, _ map: [Int32], _ shape: [Int]) -> ONNXValue {
        switch x {
        case let .float(v):
            if shape == v.shape && map.elementsEqual(0..<Int32(map.count)) { return x }
            return .float(v.gathered(map, shape: shape))
        case let .int(i):
            return .int(IntTensor(shape: shape, values: map.map { $0 < 0 ? 0 : i.values[Int($0)] }, isBool: i.isBool))
        }
    }

    static func concat(_ c: OpContext) throws -> ONNXValue {
        let xs = try (0..<c.inputs.count).map { try c.input($0) }
        let rank = xs[0].shape.count
        let axis = try Indexing.axis(try c.int("axis", default: 0), rank: rank)
        for x in xs {
            guard x.shape.count == rank,
                (0..<rank).allSatisfy({ $0 == axis || x.shape[$0] == xs[0].shape[$0] })
            else { throw OpFailure("shapes \(xs.map(\.shape)) do not concatenate along axis \(axis)") }
        }
        if case .float = xs[0] {
            let vs = try xs.map { x -> Variable in
                guard case let .float(v) = x else { throw OpFailure("mixed float and integer inputs") }
                return v
            }.filter { $0.value.count > 0 || xs.count == 1 }
            return .float(vs.count == 1 ? vs[0] : Tensors.concat(vs, axis: axis))
        }
        let ints = try xs.map { x -> IntTensor in
            guard case let .int(i) = x else { throw OpFailure("mixed float and integer inputs") }
            return i
        }
        let outer = xs[0].shape[..<axis].reduce(1, *)
        var values = [Int64]()
        for o in 0..<outer {
            for i in ints {
                let row = i.shape[axis...].reduce(1, *)
                values += i.values[(o * row)..<((o + 1) * row)]
            }
        }
        var shape = xs[0].shape
        shape[axis] = ints.map { $0.shape[axis] }.reduce(0, +)
        return .int(IntTensor(shape: shape, values: values, isBool: ints.allSatisfy(\.isBool)))
    }

    static func split(_ c: OpContext) throws -> [ONNXValue] {
        let x = try c.input(0)
        let axis = try Indexing.axis(try c.int("axis", default: 0), rank: x.shape.count)
        let extent = x.shape[axis]
        var sizes: [Int]
        if let s = try c.optionalInt(1) {
            sizes = s.values.map { Int(clamping: $0) }
            guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == extent, sizes.count == c.outputCount else {
                throw OpFailure("split sizes \(s.values) for extent \(extent) and \(c.outputCount) outputs")
            }
        } else {
            let n = Int(try c.int("num_outputs", default: Int64(c.outputCount)))
            guard n == c.outputCount, n >= 1 else { throw OpFailure("num_outputs \(n) with \(c.outputCount) outputs") }
            // ONNX: equal parts, the last one smaller when it does not divide.
            let part = (extent + n - 1) / n
            sizes = (0..<n).map { max(0, min(part, extent - $0 * part)) }
        }
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return sliceAxis(x, axis: axis, start..<(start + n))
        }
    }

    static func sliceAxis(_ x: ONNXValue, axis: Int, _ r: Range<Int>) -> ONNXValue {
        switch x {
        case let .float(v): return .float(r.count == v.shape[axis] ? v : v.slice(axis: axis, r))
        case let .int(i):
            var shape = i.shape
            shape[axis] = r.count
            let s = Indexing.strides(i.shape)
            var map = [Int32](repeating: 0, count: shape.reduce(1, *))
            Indexing.forEach(shape) { flat, idx in
                var src = 0
                for a in 0..<shape.count { src += (a == axis ? idx[a] + r.lowerBound : idx[a]) * s[a] }
                map[flat] = Int32(src)
            }
            return move(x, map, shape)
        }
    }

    /// ONNX Slice: per-axis start/end/step with negative indices counted from the end and
    /// out-of-range values clamped (the NumPy rules).
    static func slice(_ c: OpContext) throws -> ONNXValue {
        let x = try c.input(0)
        let rank = x.shape.count
        let starts = try c.int(1).values, ends = try c.int(2).values
        let axes = try c.optionalInt(3)?.values ?? (0..<Int64(starts.count)).map { $0 }
        let steps = try c.optionalInt(4)?.values ?? [Int64](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw OpFailure("starts, ends, axes and steps of different lengths")
        }
        var begin = [Int](repeating: 0, count: rank), step = [Int](repeating: 1, count: rank)
        var shape = x.shape
        var touched = Set<Int>()
        for k in 0..<starts.count {
            let a = try Indexing.axis(axes[k], rank: rank)
            guard touched.insert(a).inserted else { throw OpFailure("axis \(a) sliced twice") }
            let n = Int64(x.shape[a])
            let s = steps[k]
            guard s != 0 else { throw OpFailure("step 0 on axis \(a)") }
            func norm(_ v: Int64) -> Int64 { v < 0 ? v &+ n : v }
            var lo = norm(starts[k]), hi = norm(ends[k])
            if s > 0 {
                lo = max(0, min(n, lo)); hi = max(0, min(n, hi))
                shape[a] = hi > lo ? Int((hi - lo + s - 1) / s) : 0
            } else {
                lo = max(-1, min(n - 1, lo)); hi = max(-1, min(n - 1, hi))
                shape[a] = lo > hi ? Int((lo - hi + (-s) - 1) / (-s)) : 0
            }
            begin[a] = Int(lo)
            step[a] = Int(clamping: s)
        }
        // One axis, unit step: a plain slice (the common case, and cheaper to differentiate).
        let moved = (0..<rank).filter { shape[$0] != x.shape[$0] || step[$0] != 1 }
        if moved.isEmpty { return x }
        if moved.count == 1, step[moved[0]] == 1 {
            return sliceAxis(x, axis: moved[0], begin[moved[0]]..<(begin[moved[0]] + shape[moved[0]]))
        }
        let s = Indexing.strides(x.shape)
        let map = c.memo("slice") {
            var map = [Int32](repeating: 0, count: shape.reduce(1, *))
            Indexing.forEach(shape) { flat, idx in
                var src = 0
                for a in 0..<rank { src += (begin[a] + idx[a] * step[a]) * s[a] }
                map[flat] = Int32(src)
            }
            return map
        }
        return move(x, map, shape)
    }

    static func gather(_ c: OpContext) throws -> ONNXValue {
        let x = try c.input(0)
        let indices = try c.int(1)
        let axis = try Indexing.axis(try c.int("axis", default: 0), rank: x.shape.count)
        let n = x.shape[axis]
        let idx = try indices.values.map { i -> Int in
            guard i >= Int64(-n) && i < Int64(n) else {
                throw OpFailure("index \(i) outside 0…\(n - 1) on axis \(axis)")
            }
            return Int(i < 0 ? i + Int64(n) : i)
        }
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        let shape = Array(x.shape[..<axis]) + indices.shape + Array(x.shape[(axis + 1)...])
        try Indexing.checkSize(shape)
        let map = c.memo("gather") {
            var map = [Int32]()
            map.reserveCapacity(shape.reduce(1, *))
            for o in 0..<outer {
                for i in idx {
                    let base = (o * n + i) * inner
                    for j in 0..<inner { map.append(Int32(base + j)) }
                }
            }
            return map
        }
        return move(x, map, shape)
    }

    static func gatherND(_ c: OpContext) throws -> ONNXValue {
        let x = try c.input(0)
        let indices = try c.int(1)
        try c.require(
            try c.int("batch_dims", default: 0) == 0, attribute: "batch_dims",
            try c.int("batch_dims", default: 0), supported: "0")
        guard let k = indices.shape.last, k >= 1, k <= x.shape.count else {
            throw OpFailure("indices \(indices.shape) for data \(x.shape)")
        }
        let lead = Array(indices.shape.dropLast())
        let slice = Array(x.shape[k...])
        let inner = slice.reduce(1, *)
        let shape = lead + slice
        try Indexing.checkSize(shape)
        let s = Indexing.strides(x.shape)
        let map = try c.memo("gathernd") {
            var map = [Int32]()
            map.reserveCapacity(shape.reduce(1, *))
            for row in 0..<lead.reduce(1, *) {
                var base = 0
                for a in 0..<k {
                    let i = indices.values[row * k + a], n = Int64(x.shape[a])
                    guard i >= -n && i < n else { throw OpFailure("index \(i) outside axis \(a) of extent \(n)") }
                    base += Int(i < 0 ? i + n : i) * s[a]
                }
                for j in 0..<inner { map.append(Int32(base + j)) }
            }
            return map
        }
        return move(x, map, shape)
    }

    static func constant(_ c: OpContext) throws -> ONNXValue {
        guard c.attributes.count == 1, let (name, value) = c.attributes.first else {
            throw OpFailure("exactly one value attribute expected")
        }
        switch (name, value) {
        case let ("value", .tensor(t)): return ONNXGraph.value(of: t)
        case let ("value_float", .float(f)): return .float(Variable(Tensor(scalar: f)))
        case let ("value_floats", .floats(f)): return .float(Variable(Tensor(shape: [f.count], data: f)))
        case let ("value_int", .int(i)): return .int(IntTensor(shape: [], values: [i]))
        case let ("value_ints", .ints(i)): return .int(IntTensor(vector: i))
        default: throw OpFailure("attribute \(name) of an unexpected type")
        }
    }

    static func range(_ c: OpContext) throws -> ONNXValue {
        switch (try c.input(0), try c.input(1), try c.input(2)) {
        case let (.int(s), .int(l), .int(d)):
            guard s.count == 1, l.count == 1, d.count == 1, d.values[0] != 0 else {
                throw OpFailure("scalar inputs, delta ≠ 0")
            }
            let (a, b, step) = (s.values[0], l.values[0], d.values[0])
            let n = max(0, (b - a + step + (step > 0 ? -1 : 1)) / step)
            guard n <= Int64(Int32.max) else { throw OpFailure("\(n) elements") }
            return .int(IntTensor(vector: (0..<n).map { a + $0 * step }))
        case let (.float(s), .float(l), .float(d)):
            guard s.value.count == 1, l.value.count == 1, d.value.count == 1, d.value.data[0] != 0 else {
                throw OpFailure("scalar inputs, delta ≠ 0")
            }
            let (a, b, step) = (s.value.data[0], l.value.data[0], d.value.data[0])
            let n = max(0, Int(((b - a) / step).rounded(.up)))
            guard n <= Int(Int32.max) else { throw OpFailure("\(n) elements") }
            return .float(Variable(Tensor(shape: [n], data: (0..<n).map { a + Float($0) * step })))
        default: throw OpFailure("start, limit and delta of one type")
        }
    }
}

/// Pad (constant, reflect, edge, wrap; negative pads crop) and Tile, by gather maps.
enum PadOps {
    static func register(_ t: inout [String: ONNXOpDefinition]) {
        t["Pad"] = ONNXOpDefinition(inputs: 2...4, outputs: 1...1, attributes: ["mode"]) { c in [try pad(c)] }
        t["Tile"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in
            let x = try c.input(0)
            let repeats = try c.int(1).values
            guard repeats.count == x.shape.count, repeats.allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else {
                throw OpFailure("repeats \(repeats) for rank \(x.shape.count)")
            }
            let shape = zip(x.shape, repeats).map { $0 * Int($1) }
            try Indexing.checkSize(shape)
            let s = Indexing.strides(x.shape)
            let map = c.memo("tile") {
                var map = [Int32](repeating: 0, count: shape.reduce(1, *))
                Indexing.forEach(shape) { flat, idx in
                    var src = 0
                    for a in 0..<shape.count { src += (idx[a] % x.shape[a]) * s[a] }
                    map[flat] = Int32(src)
                }
                return map
            }
            return [ShapeOps.move(x, map, shape)]
        }
    }

    static func pad(_ c: OpContext) throws -> ONNXValue {
        let x = try c.input(0)
        let rank = x.shape.count
        let mode = try c.string("mode", default: "constant")
        try c.require(
            ["constant", "reflect", "edge", "wrap"].contains(mode), attribute: "mode", mode,
            supported: "constant, reflect, edge, wrap")
        let pads = try c.int(1).values
        var axes = Array(0..<rank)
        if let a = try c.optionalInt(3) { axes = try a.values.map { try Indexing.axis($0, rank: rank) } }
        guard pads.count == 2 * axes.count, pads.allSatisfy({ abs($0) <= 1 << 20 }) else {
            throw OpFailure("pads \(pads) for \(axes.count) axes")
        }
        var begin = [Int](repeating: 0, count: rank), end = begin
        for (k, a) in axes.enumerated() {
            begin[a] = Int(pads[k])
            end[a] = Int(pads[k + axes.count])
        }
        let shape = (0..<rank).map { x.shape[$0] + begin[$0] + end[$0] }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw OpFailure("pads \(pads) crop more than \(x.shape)") }
        try Indexing.checkSize(shape)
        if mode == "reflect" {
            for a in 0..<rank where (begin[a] > 0 || end[a] > 0) && (begin[a] >= x.shape[a] || end[a] >= x.shape[a]) {
                throw OpFailure("reflect padding of \(max(begin[a], end[a])) on an axis of extent \(x.shape[a])")
            }
        }
        let s = Indexing.strides(x.shape)
        let map = c.memo("pad-" + mode) {
            var map = [Int32](repeating: 0, count: shape.reduce(1, *))
            Indexing.forEach(shape) { flat, idx in
                var src = 0
                for a in 0..<rank {
                    var i = idx[a] - begin[a]
                    let n = x.shape[a]
                    if i < 0 || i >= n {
                        switch mode {
                        case "edge": i = Swift.max(0, Swift.min(n - 1, i))
                        case "wrap": i = ((i % n) + n) % n
                        case "reflect": i = i < 0 ? -i : 2 * (n - 1) - i
                        default: src = -1
                        }
                    }
                    if src < 0 { break }
                    src += i * s[a]
                }
                map[flat] = Int32(src)
            }
            return map
        }
        switch x {
        case let .float(v):
            var y = v.gathered(map, shape: shape)
            if mode == "constant", let cv = c.optionalInput(2), case let .float(value) = cv, value.value.count == 1,
                value.value.data[0] != 0
            {
                let fill = map.map { $0 < 0 ? value.value.data[0] : 0 }
                y = y + Variable(Tensor(shape: shape, data: fill))
            }
            return .float(y)
        case let .int(i):
            let fillValue: Int64
            if case let .int(cv)? = c.optionalInput(2), cv.count == 1 {
                fillValue = cv.values[0]
            } else {
                fillValue = 0
            }
            return .int(
                IntTensor(shape: shape, values: map.map { $0 < 0 ? fillValue : i.values[Int($0)] }, isBool: i.isBool))
        }
    }
}
