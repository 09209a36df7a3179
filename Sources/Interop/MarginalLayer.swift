import Networks
import Tensors

/// The output layer of an imported network, for the marginal estimator (see
/// ``OutputLayerMarginalizable``): a Conv, Gemm or MatMul(+Add) whose weight is drawn iid
/// zero-mean (and whose bias is iid zero-mean or zero), read by nothing else, and followed
/// only by a permutation of its output (Reshape, Transpose, Squeeze, Unsqueeze, Flatten,
/// Identity, one-operand Einsum) up to ε̂. Then E[ε̂ε̂ᵀ | h] = RᵀR for rows R built from the
/// layer's input h alone, exactly as for the native networks.
public struct MarginalLayer: Sendable {
    public enum Kind: Sendable {
        /// 2-D convolution, stride s, symmetric padding p, group 1, dilation 1.
        case conv(stride: Int, padding: Int, kernel: [Int])
        /// z = h·Wᵀ (Gemm transB = 1) or h·W (MatMul, Gemm transB = 0) on the last axis.
        case linear
    }
    public let kind: Kind
    /// The node, its input h and its output z (after the bias Add, for MatMul + Add).
    public let node: String
    let input: String
    let output: String
    /// Variances of one weight and one bias element (0: no bias, or a zero one).
    public let weightVariance: Double
    public let biasVariance: Double
    /// ε̂[j] = z[permutation[j]] (batch 1).
    let permutation: [Int32]
    /// Output features of z (conv: channels; linear: the last axis).
    let features: Int
    /// The factored form (every output feature's block the same; see ``MarginalFactorization``).
    public let factorization: MarginalFactorization
    var isIdentity: Bool { permutation.enumerated().allSatisfy { Int($0.element) == $0.offset } }

    static let permutationOps: Set<String> = [
        "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Einsum",
    ]

    /// Finds the layer and the permutation, or says why the marginal does not apply.
    static func detect(_ net: ImportedNetwork) -> Result<MarginalLayer, MarginalUnavailable> {
        func no(_ why: String) -> Result<MarginalLayer, MarginalUnavailable> {
            .failure(
                MarginalUnavailable(
                    reason: "the marginal estimator does not apply to \(net.files[0]): \(why); "
                        + "use --estimator importance"))
        }
        var producer: [String: ONNXModel.Node] = [:]
        var readers: [String: Int] = [:]
        for c in net.graph.nodes {
            for o in c.node.outputs { producer[o] = c.node }
            for i in c.node.inputs { readers[i, default: 0] += 1 }
        }
        let entries = Dictionary(uniqueKeysWithValues: net.initialisation.map { ($0.name, $0) })
        var current = net.outputName
        while let p = producer[current], permutationOps.contains(p.opType),
            !(p.opType == "Einsum" && p.inputs.count != 1)
        {
            current = p.inputs[0]
        }
        guard var layer = producer[current] else { return no("no layer produces the output") }
        let z = current
        var bias: String?
        if layer.opType == "Add", layer.inputs.count == 2 {
            let (a, b) = (layer.inputs[0], layer.inputs[1])
            let (other, add) = entries[b] != nil ? (a, b) : (b, a)
            guard entries[add] != nil, let m = producer[other], m.opType == "MatMul" else {
                return no("the last layer is an Add that is not a MatMul's bias")
            }
            bias = add
            layer = m
        }
        guard ["Conv", "Gemm", "MatMul"].contains(layer.opType) else {
            return no("the last layer before ε̂ is \(layer.opType), not Conv, Gemm or MatMul")
        }
        if layer.opType != "MatMul", layer.inputs.count > 2, !layer.inputs[2].isEmpty { bias = layer.inputs[2] }
        guard layer.inputs.count >= 2, let w = entries[layer.inputs[1]] else {
            return no("the last layer's weight is not an initializer")
        }
        guard w.isRandom else { return no("its weight \(w.name) is \(w.family), not random") }
        guard readers[w.name] == 1 else { return no("its weight \(w.name) is also read elsewhere") }
        var biasVariance = 0.0
        if let bias {
            guard let e = entries[bias] else { return no("its bias is computed, not an initializer") }
            guard e.isRandom || e.family == "zeros" else { return no("its bias \(bias) is fixed and non-zero") }
            guard readers[bias] == 1 else { return no("its bias \(bias) is also read elsewhere") }
            biasVariance = e.variance
        }
        let kind: Kind
        let features: Int
        switch layer.opType {
        case "Conv":
            let attrs = Dictionary(uniqueKeysWithValues: layer.attributes.map { ($0.name, $0.value) })
            func ints(_ n: String, _ d: [Int64]) -> [Int64] {
                if case let .ints(v)? = attrs[n] { return v } else { return d }
            }
            if case let .int(g)? = attrs["group"], g != 1 { return no("its Conv has group \(g)") }
            let pads = ints("pads", [0, 0, 0, 0]), strides = ints("strides", [1, 1]), dil = ints("dilations", [1, 1])
            guard w.shape.count == 4, Set(pads).count == 1, Set(strides).count == 1, dil == [1, 1] else {
                return no("its Conv is not 2-D with symmetric pads, equal strides and no dilation")
            }
            kind = .conv(stride: Int(strides[0]), padding: Int(pads[0]), kernel: [w.shape[2], w.shape[3]])
            features = w.shape[0]
        default:
            var transB = false
            if layer.opType == "Gemm" {
                for a in layer.attributes {
                    switch (a.name, a.value) {
                    case ("transB", .int(1)): transB = true
                    case ("transA", .int(1)): return no("its Gemm transposes A")
                    case ("alpha", .float(let v)) where v != 1, ("beta", .float(let v)) where v != 1:
                        return no("its Gemm scales by α or β")
                    default: break
                    }
                }
            }
            guard w.shape.count == 2 else { return no("its weight is not a matrix") }
            kind = .linear
            features = transB ? w.shape[0] : w.shape[1]
        }
        // The permutation: run instance 0 once with z replaced by its own indices.
        do {
            let p0 = net.instance(0).parameters
            let x = Variable(Tensor(zeros: [1] + net.inputShape))
            let bind: (String) -> Variable? = { p0[$0].map { Variable($0) } }
            let zValue = try GradientMode.withoutGradients {
                try net.graph.run(feeds: net.feeds(x, [10]), parameter: bind, stopAt: z)[z]!
            }
            let d = net.dimension
            guard zValue.count == d else { return no("its output has \(zValue.count) elements, not D = \(d)") }
            let codes = ONNXValue.float(Variable(Tensor(shape: zValue.shape, data: (0..<d).map { Float($0) })))
            let out = try GradientMode.withoutGradients {
                try net.graph.run(feeds: net.feeds(x, [10]), parameter: bind, replacing: [z: codes])
            }
            guard case let .float(eps)? = out[net.outputName] else { return no("the output is not float") }
            var seen = [Bool](repeating: false, count: d)
            var perm = [Int32](repeating: 0, count: d)
            for (j, v) in eps.value.data.enumerated() {
                guard v >= 0, v < Float(d), v == v.rounded(), !seen[Int(v)] else {
                    return no("the ops after \(layer.label) are not a permutation of its output")
                }
                seen[Int(v)] = true
                perm[j] = Int32(v)
            }
            // ε̂[j] = z[perm[j]]: z's element i lands at ε̂ index inverse[i].
            var inverse = [Int32](repeating: 0, count: d)
            for (j, i) in perm.enumerated() { inverse[Int(i)] = Int32(j) }
            let hValue = try GradientMode.withoutGradients {
                try net.graph.run(feeds: net.feeds(x, [10]), parameter: bind, stopAt: layer.inputs[0])[layer.inputs[0]]!
            }
            let positions = d / features
            let factorLayer: MarginalFactorization.Layer
            var layout = [Int32](repeating: 0, count: d)
            switch kind {
            case let .conv(stride, padding, kernel):
                let hs = hValue.shape
                guard hs.count == 4, zValue.shape.count == 4 else { return no("its Conv is not 2-D") }
                factorLayer = .conv(
                    input: [hs[2], hs[3]], output: [zValue.shape[2], zValue.shape[3]], kernel: kernel,
                    stride: stride, padding: padding)
                // z (1, features, H′, W′): feature g, position m at g·M + m.
                layout = inverse
            case .linear:
                factorLayer = .linear(positions: positions)
                // z (…, M, features): token i, feature a at i·features + a.
                for a in 0..<features {
                    for i in 0..<positions { layout[a * positions + i] = inverse[i * features + a] }
                }
            }
            let factorization = MarginalFactorization(
                layer: factorLayer, groups: features, weightVariance: w.variance, biasVariance: biasVariance,
                layout: layout)
            guard factorization.featurePositions <= 65_536 else { return no("its input has over 65536 positions") }
            return .success(
                MarginalLayer(
                    kind: kind, node: layer.label, input: layer.inputs[0], output: z,
                    weightVariance: w.variance, biasVariance: biasVariance, permutation: perm,
                    features: features, factorization: factorization))
        } catch {
            return no("\(error)")
        }
    }

    /// The output layer's input h for input x at timestep t (the graph run up to it).
    func layerInput(_ net: ImportedNetwork, x: Tensor, timestep: Float, parameters: ParameterSet) throws -> Tensor {
        let bind: (String) -> Variable? = { parameters[$0].map { Variable($0) } }
        let hValue = try GradientMode.withoutGradients {
            try net.graph.run(feeds: net.feeds(Variable(x), [timestep]), parameter: bind, stopAt: input)[input]!
        }
        guard case let .float(hv) = hValue else {
            throw MarginalUnavailable(reason: "the output layer's input is not float")
        }
        return hv.value
    }

    /// The output layer's input h as (channels, F) rows (see ``MarginalFactorization``).
    func features(_ net: ImportedNetwork, x: Tensor, timestep: Float, parameters: ParameterSet) throws -> Tensor {
        let h = try layerInput(net, x: x, timestep: timestep, parameters: parameters)
        let f = factorization.featurePositions
        switch kind {
        case .conv:
            guard h.rank == 4, h.shape[0] == 1, h.shape[2] * h.shape[3] == f else {
                throw MarginalUnavailable(reason: "conv input \(h.shape), expected F = \(f) positions")
            }
            return h.reshaped([h.shape[1], f])  // (C_in, F)
        case .linear:
            let e = h.shape.last ?? 0
            guard e > 0, h.count == e * f else {
                throw MarginalUnavailable(reason: "linear input \(h.shape), expected \(f) tokens")
            }
            var rows = Tensor(zeros: [e, f])  // (E, F)
            for i in 0..<f { for k in 0..<e { rows.data[k * f + i] = h.data[i * e + k] } }
            return rows
        }
    }

    /// R (r, D) with E[ε̂ε̂ᵀ | h] = RᵀR for input x (1, C, H, W) at timestep t.
    func rows(_ net: ImportedNetwork, x: Tensor, timestep: Float, parameters: ParameterSet) throws -> Tensor {
        let h = try layerInput(net, x: x, timestep: timestep, parameters: parameters)
        let d = permutation.count
        let sw = Float(weightVariance.squareRoot()), sb = Float(biasVariance.squareRoot())
        let hasBias = biasVariance > 0
        // Rows in z's layout first, then columns moved to ε̂'s.
        var zRows: [Float]
        var rowCount: Int
        switch kind {
        case let .conv(stride, padding, kernel):
            guard h.rank == 4, h.shape[0] == 1 else { throw MarginalUnavailable(reason: "conv input \(h.shape)") }
            let g = Conv2d.Geometry(
                input: h.shape, weight: [features, h.shape[1], kernel[0], kernel[1]],
                stride: stride, padding: padding)
            let k = g.patch, positions = g.positions
            guard features * positions == d else { throw MarginalUnavailable(reason: "conv output size") }
            var cols = [Float](repeating: 0, count: k * positions)  // (C·kH·kW, positions)
            h.data.withUnsafeBufferPointer { ph in
                cols.withUnsafeMutableBufferPointer { pc in Conv2d.im2col(ph.baseAddress!, pc.baseAddress!, g) }
            }
            let per = k + (hasBias ? 1 : 0)
            rowCount = features * per
            zRows = [Float](repeating: 0, count: rowCount * d)
            for o in 0..<features {
                for r in 0..<k {
                    let dst = (o * per + r) * d + o * positions
                    for p in 0..<positions { zRows[dst + p] = sw * cols[r * positions + p] }
                }
                if hasBias {
                    let dst = (o * per + k) * d + o * positions
                    for p in 0..<positions { zRows[dst + p] = sb }
                }
            }
        case .linear:
            let e = h.shape.last ?? 0
            let m = e == 0 ? 0 : h.count / e
            guard m * features == d else { throw MarginalUnavailable(reason: "linear output size") }
            let per = e + (hasBias ? 1 : 0)
            rowCount = features * per
            zRows = [Float](repeating: 0, count: rowCount * d)
            for a in 0..<features {
                for k in 0..<e {
                    let row = (a * per + k) * d
                    for i in 0..<m { zRows[row + i * features + a] = sw * h.data[i * e + k] }
                }
                if hasBias {
                    let row = (a * per + e) * d
                    for i in 0..<m { zRows[row + i * features + a] = sb }
                }
            }
        }
        // The U-Net's output conv writes ε̂ in its own layout: nothing to move then.
        if isIdentity { return Tensor(shape: [rowCount, d], data: zRows) }
        var rows = Tensor(zeros: [rowCount, d])
        for r in 0..<rowCount {
            let base = r * d
            for j in 0..<d { rows.data[base + j] = zRows[base + Int(permutation[j])] }
        }
        return rows
    }
}

extension ImportedNetwork: OutputLayerMarginalizable {
    public func marginalRows(
        _ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme
    ) throws -> Tensor {
        try MarginalUnavailable.requireReference(scheme)
        return try marginalLayer.get().rows(self, x: x, timestep: timestep, parameters: parameters)
    }

    public func marginalFactorization(scheme: InitScheme) -> MarginalFactorization? {
        guard scheme == .reference else { return nil }
        return try? marginalLayer.get().factorization
    }

    public func marginalFeatures(
        _ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme
    ) throws -> Tensor {
        try MarginalUnavailable.requireReference(scheme)
        return try marginalLayer.get().features(self, x: x, timestep: timestep, parameters: parameters)
    }
}
