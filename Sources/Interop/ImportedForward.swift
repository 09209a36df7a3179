import Foundation
import Formats
import Networks
import Tensors

extension ImportedNetwork {
    /// What `sad forward --onnx` computes: `output.eps` = ε̂(x, t) of the file's own weights
    /// (instance `instance`) for `input.x_t` (or `input.x`) (N, C, H, W) float32 and
    /// `input.t` (N) int64/int32 or float32, t passed to the graph as given.
    public func forwardEvaluation(inputs: SafeTensors.File, instance k: Int = 0) throws -> [(String, NDArray)] {
        let key = inputs["input.x_t"] != nil ? "input.x_t" : "input.x"
        let x = try inputs.tensor(key)
        guard x.rank == 4, Array(x.shape.dropFirst()) == inputShape, (1...65_536).contains(x.shape[0]) else {
            throw FormatError(
                file: inputs.path, field: key,
                expected: "shape (N, \(inputShape.map(String.init).joined(separator: ", "))), N ≤ 65536",
                found: "\(x.shape)")
        }
        try FormatError.requireFinite(x.data, file: inputs.path, field: key)
        let tArray = try inputs.array("input.t")
        guard tArray.shape == [x.shape[0]] else {
            throw FormatError(
                file: inputs.path, field: "input.t", expected: "shape [\(x.shape[0])]", found: "\(tArray.shape)")
        }
        let t = tArray.doubles.map { Float($0) }
        try FormatError.requireFinite(t, file: inputs.path, field: "input.t")
        if timestepIsInteger, let bad = t.first(where: { $0 != $0.rounded() || abs($0) > 1e9 }) {
            throw FormatError(
                file: inputs.path, field: "input.t",
                expected: "integer timesteps (the graph's t is "
                    + "an integer input)", found: "\(bad)")
        }
        try MemoryBudget.require(
            [x.shape[0], dimension, 4, 64], for: "the forward pass", file: inputs.path, field: key)
        let p = instance(k).parameters
        let eps = try GradientMode.withoutGradients {
            try evaluate(Variable(x), timesteps: t) { p[$0].map { Variable($0) } }.value
        }
        try FiniteCheck.check(eps, tensor: "output.eps", context: "forward pass of \(files[k])")
        return [("output.eps", NDArray(eps))]
    }

    /// The initialisation table `sad inspect` prints.
    public var initialisationTable: String {
        var lines = [
            "\(files.joined(separator: ", ")): opset \(graph.opset), \(graph.nodes.count) nodes, "
                + "input \(xName) (N, \(inputShape.map(String.init).joined(separator: ", "))), t \(tName) "
                + "(\(timestepIsInteger ? "integer" : "float")), output \(outputName), "
                + "\(parameterCount) parameter values "
                + "in \(initialisation.count) initializers, \(instanceCount) instance(s)"
        ]
        lines.append("graph sha256 \(graphSHA256)")
        lines.append("init sha256  \(initSHA256)")
        switch marginalLayer {
        case let .success(m):
            lines.append(
                String(
                    format: "output layer %@: marginal estimator available (σ_w² %.4g, σ_b² %.4g)",
                    m.node, m.weightVariance, m.biasVariance))
        case let .failure(e): lines.append("marginal estimator: unavailable — \(e.reason)")
        }
        lines.append("")
        let header = ["name", "shape", "consumer", "kind", "family", "scale", "trainable", "evidence"]
        var rows = [header]
        for e in initialisation {
            rows.append([
                e.name, e.shape.map(String.init).joined(separator: "×"), e.consumer,
                e.isRandom ? "random" : "fixed", e.family, e.scale.map { String(format: "%.5g", $0) } ?? "-",
                e.trainable ? "yes" : "no", e.evidence,
            ])
        }
        let widths = (0..<(header.count - 1)).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for r in rows {
            var line = ""
            for c in 0..<(header.count - 1) {
                line += r[c].padding(toLength: widths[c] + 2, withPad: " ", startingAt: 0)
            }
            lines.append(line + r[header.count - 1])
        }
        return lines.joined(separator: "\n")
    }
}
