import Tensors

/// Normalisations and softmax: InstanceNormalization, GroupNormalization,
/// LayerNormalization (any trailing axes) and Softmax (any axis). Statistics in Float64,
/// through the engine's GroupNorm and LayerNorm kernels.
enum NormalizationOps {
    static func register(_ t: inout [String: ONNXOpDefinition]) {
        t["InstanceNormalization"] = ONNXOpDefinition(inputs: 3...3, outputs: 1...1, attributes: ["epsilon"]) { c in
            let x = try c.float(0), scale = try c.float(1), bias = try c.float(2)
            guard x.shape.count >= 3, scale.shape == [x.shape[1]], bias.shape == [x.shape[1]] else {
                throw OpFailure(
                    "input (N, C, …) with scale and B of shape (C); got \(x.shape), \(scale.shape), \(bias.shape)")
            }
            let eps = Double(try c.float("epsilon", default: 1e-5))
            return [.float(groupNorm(x, groups: x.shape[1], weight: scale, bias: bias, eps: eps))]
        }
        t["GroupNormalization"] = ONNXOpDefinition(
            inputs: 3...3, outputs: 1...1, attributes: ["epsilon", "num_groups", "stash_type"]
        ) { c in
            let x = try c.float(0), scale = try c.float(1), bias = try c.float(2)
            let groups = Int(try c.int("num_groups", default: 0))
            guard x.shape.count >= 3, groups >= 1, x.shape[1] % groups == 0 else {
                throw OpFailure("num_groups \(groups) for input \(x.shape)")
            }
            let channels = x.shape[1]
            let eps = Double(try c.float("epsilon", default: 1e-5))
            if scale.shape == [channels] && bias.shape == [channels] {
                // Opset 21: per-channel scale and bias.
                return [.float(groupNorm(x, groups: groups, weight: scale, bias: bias, eps: eps))]
            }
            guard scale.shape == [groups], bias.shape == [groups] else {
                throw OpFailure(
                    "scale and bias of shape (\(channels)) or (\(groups)); got \(scale.shape), \(bias.shape)")
            }
            // Opset 18: per-group scale and bias, applied to every channel of the group.
            let map = (0..<channels).map { Int32($0 / (channels / groups)) }
            return [
                .float(
                    groupNorm(
                        x, groups: groups, weight: scale.gathered(map, shape: [channels]),
                        bias: bias.gathered(map, shape: [channels]), eps: eps))
            ]
        }
        t["LayerNormalization"] = ONNXOpDefinition(
            inputs: 2...3, outputs: 1...3, attributes: ["axis", "epsilon", "stash_type"]
        ) { c in
            guard c.outputCount == 1 else { throw OpFailure("the Mean and InvStdDev outputs are not supported") }
            let x = try c.float(0), scale = try c.float(1)
            let bias = c.optionalInput(2) == nil ? nil : try c.float(2)
            let axis = try Indexing.axis(try c.int("axis", default: -1), rank: x.shape.count)
            let trailing = Array(x.shape[axis...]), e = trailing.reduce(1, *)
            guard scale.value.count == e || scale.shape == trailing, bias == nil || bias!.value.count == e else {
                throw OpFailure("scale \(scale.shape) and B \(bias?.shape ?? []) for normalised shape \(trailing)")
            }
            let eps = try c.float("epsilon", default: 1e-5)
            let flat = x.reshaped(Array(x.shape[..<axis]) + [e])
            let y = layerNorm(flat, weight: scale.reshaped([e]), bias: bias?.reshaped([e]), eps: eps)
            return [.float(y.reshaped(x.shape))]
        }
        t["Softmax"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: ["axis"]) { c in
            let x = try c.float(0)
            let r = x.shape.count
            let axis = try Indexing.axis(try c.int("axis", default: -1), rank: r)
            if axis == r - 1 { return [.float(x.softmax())] }
            var perm = Array(0..<r)
            perm.swapAt(axis, r - 1)
            return [.float(x.permuted(perm).softmax().permuted(perm))]
        }
    }
}
