import Formats
import Tensors

/// An imported graph compiled for execution: nodes in a checked topological order, each
/// op and attribute known, constants decoded, and for every value the last node that
/// reads it (so intermediate tensors are released as soon as they are dead).
///
/// Compilation refuses, with an ``ONNXError`` naming node, op and attribute: ops outside
/// ``ONNXOps/table`` (listing the supported ones), attributes an op does not understand,
/// non-default domains, opsets outside 13–21, undefined or doubly defined values, and cycles.
public struct ONNXGraph: Sendable {
    public let path: String
    public let opset: Int64
    /// A class: the interpreter visits every node of every run, and a reference costs one
    /// retain where a struct of arrays and dictionaries costs one per member.
    final class CompiledNode: @unchecked Sendable {
        let node: ONNXModel.Node
        let attributes: [String: ONNXModel.Attribute.Value]
        /// Values whose last reader is this node (freed after it runs).
        var releases: [String]
        /// Set when a peephole pass replaced the node by one engine kernel (see `fuse`).
        var fusion: Fusion? = nil

        init(node: ONNXModel.Node, attributes: [String: ONNXModel.Attribute.Value], releases: [String]) {
            self.node = node
            self.attributes = attributes
            self.releases = releases
        }
    }

    /// Node patterns run as one engine kernel: x·σ(x) (how PyTorch's SiLU exports) as SiLU,
    /// the vectorised kernel with its own VJP, instead of a scalar σ and a multiply.
    enum Fusion: Sendable { case silu(input: String) }
    let nodes: [CompiledNode]
    /// Index maps of data-movement ops, kept between runs (they depend on shapes only).
    let cache = MapCache()
    /// Axes of every Squeeze without an axes input, fixed by ``freezeAxislessSqueezes(feeds:parameter:)``.
    private(set) var frozenSqueezeAxes: [Int: [Int64]] = [:]
    /// Initializers by name (float ones may be bound to parameters instead).
    let initializers: [String: TensorValue]
    /// The graph's runtime inputs (initializers excluded) and outputs.
    public let inputs: [ONNXModel.ValueInfo]
    public let outputs: [ONNXModel.ValueInfo]

    public static let supportedOpsets: ClosedRange<Int64> = 13...21

    public init(_ model: ONNXModel) throws {
        let file = model.path
        func fail(_ node: ONNXModel.Node?, _ message: String) -> ONNXError {
            ONNXError(file: file, node: node?.label ?? "(graph)", op: node?.opType ?? "-", message: message)
        }
        guard let opset = model.opsets[""], Self.supportedOpsets.contains(opset) else {
            throw fail(
                nil,
                "the default-domain opset must be in \(Self.supportedOpsets) (found "
                    + "\(model.opsets[""].map(String.init) ?? "none")); export with opset_version=18")
        }
        path = file
        self.opset = opset
        var inits: [String: TensorValue] = [:]
        for t in model.graph.initializers {
            guard !t.name.isEmpty, inits.updateValue(t, forKey: t.name) == nil else {
                throw fail(nil, "initializer name '\(t.name)' is empty or repeated")
            }
        }
        initializers = inits
        inputs = model.graph.inputs.filter { inits[$0.name] == nil }
        outputs = model.graph.outputs
        guard !outputs.isEmpty else { throw fail(nil, "the graph has no outputs") }

        // Kahn's algorithm over the node list (files are normally sorted already; a cycle or an
        // undefined value is an error).
        var producer: [String: Int] = [:]
        for (i, n) in model.graph.nodes.enumerated() {
            for o in n.outputs where !o.isEmpty {
                guard producer.updateValue(i, forKey: o) == nil, inits[o] == nil,
                    !inputs.contains(where: { $0.name == o })
                else { throw fail(n, "value '\(o)' is defined more than once") }
            }
        }
        let available = Set(inits.keys).union(inputs.map(\.name))
        var pending = [Int](repeating: 0, count: model.graph.nodes.count)
        var readers: [Int: [Int]] = [:]
        for (i, n) in model.graph.nodes.enumerated() {
            for input in Set(n.inputs) where !input.isEmpty && !available.contains(input) {
                guard let p = producer[input] else { throw fail(n, "input '\(input)' is not defined in the graph") }
                pending[i] += 1
                readers[p, default: []].append(i)
            }
        }
        var ready = (0..<pending.count).filter { pending[$0] == 0 }.reversed().map { $0 }
        var order: [Int] = []
        while let i = ready.popLast() {
            order.append(i)
            for r in (readers[i] ?? []).sorted().reversed() {
                pending[r] -= 1
                if pending[r] == 0 { ready.append(r) }
            }
        }
        guard order.count == model.graph.nodes.count else {
            let stuck = (0..<pending.count).first { pending[$0] > 0 }!
            throw fail(model.graph.nodes[stuck], "the graph has a cycle through this node")
        }
        for o in outputs where producer[o.name] == nil && !available.contains(o.name) {
            throw fail(nil, "graph output '\(o.name)' is not produced by any node")
        }

        var compiled: [CompiledNode] = []
        for i in order {
            let n = model.graph.nodes[i]
            guard n.domain.isEmpty || n.domain == "ai.onnx" else {
                throw fail(n, "domain '\(n.domain)' is not supported (default ONNX domain only)")
            }
            guard let def = ONNXOps.table[n.opType] else {
                throw fail(
                    n,
                    "op '\(n.opType)' is not supported; supported ops: "
                        + ONNXOps.supported.joined(separator: " "))
            }
            guard def.inputs.contains(n.inputs.count) else {
                throw fail(n, "\(n.inputs.count) inputs (expected \(def.inputs.lowerBound)…\(def.inputs.upperBound))")
            }
            guard def.outputs.contains(n.outputs.count) else {
                throw fail(
                    n, "\(n.outputs.count) outputs (expected \(def.outputs.lowerBound)…\(def.outputs.upperBound))")
            }
            var attrs: [String: ONNXModel.Attribute.Value] = [:]
            for a in n.attributes {
                guard def.attributes.contains(a.name) else {
                    throw fail(
                        n,
                        "attribute '\(a.name)' is not supported for \(n.opType) (supported: "
                            + (def.attributes.isEmpty ? "none" : def.attributes.sorted().joined(separator: ", ")) + ")")
                }
                if case let .unsupported(type) = a.value {
                    throw fail(
                        n,
                        "attribute '\(a.name)' has attribute type \(type) (graphs, sparse tensors and "
                            + "type protos are not supported)")
                }
                attrs[a.name] = a.value
            }
            compiled.append(CompiledNode(node: n, attributes: attrs, releases: []))
        }
        compiled = Self.fuse(compiled, keep: Set(outputs.map(\.name)))
        // Liveness: the last node reading each intermediate value releases it.
        var last: [String: Int] = [:]
        for (k, c) in compiled.enumerated() {
            for input in c.node.inputs where producer[input] != nil { last[input] = k }
        }
        let keep = Set(outputs.map(\.name))
        for (name, k) in last where !keep.contains(name) { compiled[k].releases.append(name) }
        nodes = compiled
    }

    /// Mul(x, Sigmoid(x)) with the sigmoid read by nothing else → SiLU(x).
    static func fuse(_ nodes: [CompiledNode], keep: Set<String>) -> [CompiledNode] {
        var readers: [String: Int] = [:]
        var producer: [String: Int] = [:]
        for (k, c) in nodes.enumerated() {
            for i in c.node.inputs { readers[i, default: 0] += 1 }
            for o in c.node.outputs { producer[o] = k }
        }
        var out = nodes
        var dropped = Set<Int>()
        for (k, c) in nodes.enumerated() where c.node.opType == "Mul" && c.node.inputs.count == 2 {
            for (a, s) in [(c.node.inputs[0], c.node.inputs[1]), (c.node.inputs[1], c.node.inputs[0])] {
                guard let p = producer[s], nodes[p].node.opType == "Sigmoid", nodes[p].node.inputs == [a],
                    readers[s] == 1, !keep.contains(s), !dropped.contains(p)
                else { continue }
                out[k].fusion = .silu(input: a)
                dropped.insert(p)
                break
            }
        }
        return out.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
    }

    /// PyTorch's `x.squeeze()` exports as a Squeeze without axes, which removes *every* unit
    /// axis: at batch 1 also the batch axis, so a graph exported with a dynamic batch fails
    /// at batch 1 (onnxruntime too) although PyTorch's module ran at the export batch. The
    /// geometry evaluates one network at batch 1, so the axes such a Squeeze removes are fixed
    /// once from a run at batch 2, the batch the export was traced with in spirit: results at
    /// batches ≥ 2 are unchanged, and batch 1 behaves like them (docs/DIVERGENCES.md).
    mutating func freezeAxislessSqueezes(feeds: [String: ONNXValue], parameter: (String) -> Variable?) throws {
        let targets = nodes.enumerated().filter {
            $0.element.node.opType == "Squeeze" && $0.element.node.inputs.count == 1
        }
        guard !targets.isEmpty else { return }
        var observed: [Int: [Int64]] = [:]
        _ = try run(
            feeds: feeds, parameter: parameter,
            observe: { k, shape in
                if targets.contains(where: { $0.offset == k }) {
                    observed[k] = shape.enumerated().filter { $0.element == 1 }.map { Int64($0.offset) }
                }
            })
        frozenSqueezeAxes = observed
    }

    /// A decoded tensor as an interpreter value.
    static func value(of t: TensorValue) -> ONNXValue {
        switch t.values {
        case let .float(f): return .float(Variable(Tensor(shape: t.dims, data: f)))
        case let .int(i):
            return .int(IntTensor(shape: t.dims, values: i, isBool: t.dataType == TensorValue.DataType.bool))
        }
    }

    /// Runs the graph. `feeds` are the runtime inputs; `parameter` binds float initializers
    /// to the caller's (possibly differentiable) parameters, nil leaving the file's value.
    /// - Parameters:
    ///   - replacing: values substituted for node outputs of the same name (as if computed).
    ///   - stopAt: return `[stopAt: value]` as soon as that value is computed.
    func run(
        feeds: [String: ONNXValue], parameter: (String) -> Variable?,
        replacing: [String: ONNXValue] = [:], stopAt: String? = nil,
        observe: ((Int, [Int]) -> Void)? = nil
    ) throws -> [String: ONNXValue] {
        var env: [String: ONNXValue] = feeds
        func lookup(_ name: String) -> ONNXValue? {
            if let v = env[name] { return v }
            guard let t = initializers[name] else { return nil }
            if t.isFloat, let p = parameter(name) { return .float(p) }
            return Self.value(of: t)
        }
        for (k, c) in nodes.enumerated() {
            var inputs = c.node.inputs.map { $0.isEmpty ? nil : lookup($0) }
            if let axes = frozenSqueezeAxes[k], inputs.count == 1 { inputs.append(.int(IntTensor(vector: axes))) }
            if let observe, let first = inputs.first, let v = first { observe(k, v.shape) }
            var context = OpContext(
                node: c.node, attributes: c.attributes, inputs: inputs,
                outputCount: c.node.outputs.count)
            context.cache = cache
            context.nodeIndex = k
            let results: [ONNXValue]
            do {
                if case let .silu(input)? = c.fusion {
                    guard case let .float(x)? = lookup(input) else { throw OpFailure("SiLU of a non-float input") }
                    results = [.float(x.silu())]
                } else {
                    results = try ONNXOps.table[c.node.opType]!.run(&context)
                }
            } catch let e as OpFailure {
                throw ONNXError(
                    file: path, node: c.node.label, op: c.node.opType,
                    message: e.message + " (input shapes \(inputs.map { $0?.shape ?? [] }))")
            }
            for (name, v) in zip(c.node.outputs, results) where !name.isEmpty { env[name] = replacing[name] ?? v }
            if let stopAt, let v = env[stopAt] { return [stopAt: v] }
            for name in c.releases { env[name] = nil }
        }
        var out: [String: ONNXValue] = [:]
        for o in outputs {
            guard let v = lookup(o.name) else {
                throw ONNXError(file: path, node: "(graph)", op: "-", message: "output '\(o.name)' was not computed")
            }
            out[o.name] = v
        }
        return out
    }
}
