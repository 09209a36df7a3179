import Formats
import Networks
import Tensors

/// Which graph inputs and output carry x, t and ε̂, and the user's init overrides.
public struct ImportOptions: Sendable {
    /// Names of the image input (N, C, H, W), the timestep input (N) and the ε̂ output;
    /// nil: `x`/`t`/the first output, or for two inputs the rank-4 float one as x.
    public var xName: String?
    public var tName: String?
    public var outputName: String?
    public var overrides: InitOverrides?
    /// Whether to infer the initialisation distribution (geometry, inspect); without it every
    /// initializer keeps the file's value (forward passes of one exported instance).
    public var inferInitialisation: Bool

    public init(
        xName: String? = nil, tName: String? = nil, outputName: String? = nil, overrides: InitOverrides? = nil,
        inferInitialisation: Bool = true
    ) {
        self.xName = xName
        self.tName = tName
        self.outputName = outputName
        self.overrides = overrides
        self.inferInitialisation = inferInitialisation
    }
}

/// A score network imported from ONNX: the graph of the first file run over the engine's
/// ops, with an initialisation distribution inferred from every exported instance
/// (``InitInference``), so that fresh networks can be drawn for the geometry and the
/// network can be trained like a native one.
public struct ImportedNetwork: ScoreArchitecture {
    public let files: [String]
    public let graph: ONNXGraph
    /// (C, H, W) of the image input.
    public let inputShape: [Int]
    public let xName: String, tName: String, outputName: String
    /// Whether t is an integer input (cast from the engine's float timesteps, which are
    /// integers in 0…T−1 for every sampler here).
    public let timestepIsInteger: Bool
    /// One entry per float initializer, in file order.
    public let initialisation: [InitEntry]
    let specs: [ParameterSpec]
    /// Every instance's float initializer values, by name.
    let instanceValues: [[String: Tensor]]
    /// SHA-256 of the graph's structure (nodes, attributes, shapes, integer constants).
    public let graphSHA256: String
    /// SHA-256 of the inferred initialisation (families, scales, fixed values).
    public let initSHA256: String
    /// The output layer the marginal estimator integrates out, or why there is none.
    public internal(set) var marginalLayer: Result<MarginalLayer, MarginalUnavailable> = .failure(
        MarginalUnavailable(reason: "not yet detected"))
    /// Float values one sample's pass produces (measured at import, batch 1): what a training
    /// step keeps for the backward pass, per sample.
    public internal(set) var activationValuesPerSample = 0

    /// Refuses a batch whose activations would not fit the memory budget.
    public func checkBatch(_ batch: Int, training: Bool, setting: String) throws {
        try MemoryBudget.require(
            [max(activationValuesPerSample, 1), batch, training ? 4 : 2],
            for: "the activations of a batch of \(batch) (\(files[0]))", setting: setting)
    }

    public var dimension: Int { inputShape.reduce(1, *) }
    public var parameterCount: Int { specs.reduce(0) { $0 + $1.count } }

    public func parameterSpecs(scheme: InitScheme) -> [ParameterSpec] { specs }

    public func forward(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        do {
            return try evaluate(x, timesteps: timesteps) { p.variables[$0] }
        } catch {
            // Import ran the graph at batches 1 and 2 with these shapes; shapes are all that
            // can make it fail, so this is unreachable for inputs of `inputShape`.
            preconditionFailure("imported network failed after a successful import check: \(error)")
        }
    }

    /// ε̂(x, t) with parameters bound by `parameter` (nil: the first file's value).
    public func evaluate(_ x: Variable, timesteps: [Float], parameter: (String) -> Variable?) throws -> Variable {
        let out = try graph.run(feeds: feeds(x, timesteps), parameter: parameter)
        guard case let .float(y)? = out[outputName] else {
            throw ONNXError(file: graph.path, node: "(graph)", op: "-", message: "output '\(outputName)' is not float")
        }
        guard y.shape == x.shape else {
            throw ONNXError(
                file: graph.path, node: "(graph)", op: "-",
                message: "output '\(outputName)' has shape \(y.shape) for input \(x.shape); ε̂ must match x")
        }
        return y
    }

    func feeds(_ x: Variable, _ timesteps: [Float]) -> [String: ONNXValue] {
        let t: ONNXValue =
            timestepIsInteger
            ? .int(IntTensor(vector: timesteps.map { Int64($0.rounded()) }))
            : .float(Variable(Tensor(shape: [timesteps.count], data: timesteps)))
        return [xName: .float(x), tName: t]
    }

    /// Exported instance k with its own weights.
    public func instance(_ k: Int) -> ScoreNetwork {
        ScoreNetwork(self, parameters: ParameterSet(specs: specs, values: instanceValues[k]))
    }

    public var instanceCount: Int { instanceValues.count }

    /// The run-identity fields of the architecture.
    public var identityFields: [(String, String)] {
        [
            ("onnx.graph_sha256", graphSHA256), ("onnx.init_sha256", initSHA256), ("onnx.x", xName), ("onnx.t", tName),
            ("onnx.output", outputName), ("onnx.instances", "\(instanceCount)"),
        ]
    }

    // MARK: - Import

    /// Reads ≥ 1 exported instances of one architecture, checks that they share one graph,
    /// infers the initialisation and runs the graph once at batches 1 and 2.
    public static func load(_ paths: [String], options: ImportOptions = ImportOptions()) throws -> ImportedNetwork {
        guard let firstPath = paths.first else {
            throw SettingError(setting: "onnx", expected: "at least one .onnx file", found: "none")
        }
        guard paths.count <= 64 else {
            throw SettingError(setting: "onnx", expected: "at most 64 files", found: "\(paths.count)")
        }
        let models = try paths.map { try ONNXModel.load($0) }
        var graph = try ONNXGraph(models[0])
        let structure = Self.structure(models[0])
        for (k, m) in models.enumerated().dropFirst() {
            let other = Self.structure(m)
            if other != structure {
                let line = zip(structure, other).first { $0 != $1 } ?? (structure.last ?? "", other.last ?? "")
                throw FormatError(
                    file: paths[k], field: "graph",
                    expected: "the same architecture as \(firstPath) (\(line.0))", found: line.1)
            }
        }
        // Inputs: x (N, C, H, W) float with static C, H, W; t (N).
        func pick(_ wanted: String?, _ fallback: String, _ rank4: Bool) throws -> ONNXModel.ValueInfo {
            if let wanted {
                guard let v = graph.inputs.first(where: { $0.name == wanted }) else {
                    throw SettingError(
                        setting: rank4 ? "onnxX" : "onnxT",
                        expected: "one of the graph inputs \(graph.inputs.map(\.name))", found: wanted)
                }
                return v
            }
            if let v = graph.inputs.first(where: { $0.name == fallback }) { return v }
            guard graph.inputs.count == 2, let v = graph.inputs.first(where: { ($0.dims.count == 4) == rank4 }) else {
                throw SettingError(
                    setting: rank4 ? "onnxX" : "onnxT",
                    expected: "the name of the \(rank4 ? "image" : "timestep") input",
                    found: "inputs \(graph.inputs.map(\.name))")
            }
            return v
        }
        let x = try pick(options.xName, "x", true), t = try pick(options.tName, "t", false)
        guard graph.inputs.count == 2, x.name != t.name else {
            throw FormatError(
                file: firstPath, field: "graph.input", expected: "two runtime inputs, x and t",
                found: "\(graph.inputs.map(\.name))")
        }
        guard TensorValue.DataType.isFloat(x.elementType), x.dims.count == 4,
            let c = x.dims[1], let h = x.dims[2], let w = x.dims[3], c >= 1, h >= 1, w >= 1, c * h * w <= 1 << 24
        else {
            throw FormatError(
                file: firstPath, field: "graph.input '\(x.name)'",
                expected: "float (N, C, H, W) with static C, H, W (C·H·W ≤ 2²⁴)",
                found: "type \(TensorValue.DataType.name(x.elementType)), dims \(x.dims)")
        }
        guard t.dims.count <= 1, TensorValue.DataType.byteSize(t.elementType) != nil else {
            throw FormatError(
                file: firstPath, field: "graph.input '\(t.name)'", expected: "a numeric (N) timestep",
                found: "type \(TensorValue.DataType.name(t.elementType)), dims \(t.dims)")
        }
        let outputName = options.outputName ?? graph.outputs[0].name
        guard graph.outputs.contains(where: { $0.name == outputName }) else {
            throw SettingError(
                setting: "onnxOutput", expected: "one of \(graph.outputs.map(\.name))", found: outputName)
        }
        let order = models[0].graph.initializers.filter(\.isFloat).map(\.name)
        let instances = models.map { m in Dictionary(uniqueKeysWithValues: m.graph.initializers.map { ($0.name, $0) }) }
        let entries =
            options.inferInitialisation
            ? try InitInference.infer(graph: graph, order: order, instances: instances, overrides: options.overrides)
            : InitInference.asExported(graph: graph, order: order, instance: instances[0])
        let specs = entries.map {
            ParameterSpec($0.name, $0.shape, $0.initializer, role: $0.role, trainable: $0.trainable)
        }
        let values = instances.map { inst in
            Dictionary(uniqueKeysWithValues: order.map { ($0, Tensor(shape: inst[$0]!.dims, data: inst[$0]!.floats!)) })
        }
        var initHash = SHA256()
        for e in entries {
            initHash.update(
                Array("\(e.name)|\(e.shape)|\(e.family)|\(e.scale.map { "\($0)" } ?? "-")|\(e.trainable)\n".utf8))
            if case let .fixed(t) = e.initializer { initHash.update(Array(SHA256.hex(raw: t.data).utf8)) }
        }
        var graphHash = SHA256()
        for line in structure { graphHash.update(Array((line + "\n").utf8)) }
        let firstValues = values[0]
        let batch2: [String: ONNXValue] = [
            x.name: .float(Variable(Tensor(zeros: [2, Int(c), Int(h), Int(w)]))),
            t.name: TensorValue.DataType.isFloat(t.elementType)
                ? .float(Variable(Tensor(shape: [2], data: [10, 10]))) : .int(IntTensor(vector: [10, 10])),
        ]
        try GradientMode.withoutGradients {
            try graph.freezeAxislessSqueezes(feeds: batch2) { firstValues[$0].map { Variable($0) } }
        }
        var net = ImportedNetwork(
            files: paths, graph: graph, inputShape: [Int(c), Int(h), Int(w)], xName: x.name, tName: t.name,
            outputName: outputName, timestepIsInteger: !TensorValue.DataType.isFloat(t.elementType),
            initialisation: entries, specs: specs, instanceValues: values,
            graphSHA256: SHA256.hex(graphHash.finalize()), initSHA256: SHA256.hex(initHash.finalize()),
            marginalLayer: .failure(MarginalUnavailable(reason: "not yet detected")))
        // The import check: run instance 0 at batches 1 and 2 (every shape path, every op).
        let p0 = net.instance(0).parameters
        for n in [1, 2] {
            let probe = Variable(Tensor(zeros: [n] + net.inputShape))
            _ = try GradientMode.withoutGradients {
                try net.evaluate(probe, timesteps: [Float](repeating: 10, count: n)) { name in
                    p0[name].map { Variable($0) }
                }
            }
        }
        var produced = 0
        _ = try GradientMode.withoutGradients {
            try net.graph.run(
                feeds: net.feeds(Variable(Tensor(zeros: [1] + net.inputShape)), [10]),
                parameter: { p0[$0].map { Variable($0) } },
                observe: { _, shape in produced += shape.reduce(1, *) })
        }
        net.activationValuesPerSample = produced
        net.marginalLayer = MarginalLayer.detect(net)
        return net
    }

    /// The graph as canonical lines: opsets, inputs, outputs, nodes with attributes, and
    /// initializers (name, type, dims; values of integer ones). Float values are excluded:
    /// they are the instance's weights.
    static func structure(_ m: ONNXModel) -> [String] {
        var lines = m.opsets.sorted { $0.key < $1.key }.map { "opset \($0.key)=\($0.value)" }
        for i in m.graph.inputs { lines.append("input \(i.name) \(i.elementType) \(i.dims)") }
        for o in m.graph.outputs { lines.append("output \(o.name) \(o.elementType) \(o.dims)") }
        for n in m.graph.nodes {
            let attrs = n.attributes.map { "\($0.name)=\(describe($0.value))" }.joined(separator: ",")
            lines.append("node \(n.opType) \(n.domain) \(n.inputs)->\(n.outputs) \(attrs)")
        }
        for t in m.graph.initializers {
            var line = "init \(t.name) \(t.dataType) \(t.dims)"
            if let v = t.ints { line += " \(SHA256.hex(raw: v))" }
            lines.append(line)
        }
        return lines
    }

    static func describe(_ v: ONNXModel.Attribute.Value) -> String {
        switch v {
        case let .float(f): return "\(f)"
        case let .int(i): return "\(i)"
        case let .string(s): return "'\(s)'"
        case let .tensor(t):
            return "tensor(\(t.dims),\(t.floats.map { SHA256.hex(raw: $0) } ?? SHA256.hex(raw: t.ints!)))"
        case let .floats(f): return "\(f)"
        case let .ints(i): return "\(i)"
        case let .strings(s): return "\(s)"
        case let .unsupported(type): return "unsupported(\(type))"
        }
    }
}
