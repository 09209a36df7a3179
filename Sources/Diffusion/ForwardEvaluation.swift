import Formats
import Networks
import Tensors

/// What `sad forward` computes: ε̂ for given inputs and, optionally, the DSM loss and every
/// parameter gradient of one training batch — with the reference fixtures' key names, so
/// PyTorch-trained weights and fixture folders can be run through it directly.
public enum ForwardEvaluation {
    /// - Parameters:
    ///   - inputs: a file with `input.x_t` (N, C, H, W) float32 and `input.t` (N) integers.
    ///   - dsmBatch: optionally a file with `train.x0`, `train.noise` (N, C, H, W) and `train.t` (N).
    /// - Returns: `output.eps`, and with a batch `output.loss`, `train.x_t`, `train.eps_target`,
    ///   `train.eps_pred` and `grad.<parameter>` for every trainable parameter.
    public static func run(
        config: NetworkConfig, network: ScoreNetwork, inputs: SafeTensors.File,
        dsmBatch: SafeTensors.File?
    ) throws -> [(String, NDArray)] {
        let shape = config.shape
        let x = try inputs.tensor("input.x_t")
        guard x.rank == 4, Array(x.shape.dropFirst()) == shape else {
            throw FormatError(
                file: inputs.path, field: "input.x_t",
                expected: "shape (N, \(shape.map(String.init).joined(separator: ", ")))",
                found: "\(x.shape)")
        }
        try FormatError.requireFinite(x.data, file: inputs.path, field: "input.x_t")
        do { try config.checkBatch(x.shape[0], training: false, setting: "input.x_t") } catch let e as SettingError {
            throw FormatError(file: inputs.path, field: "input.x_t", expected: e.expected, found: e.found)
        }
        let t = try timesteps(inputs, "input.t", count: x.shape[0], limit: config.timesteps)
        let eps = network.epsilon(x, timesteps: t.map { Float($0 * 1000 / config.timesteps) })
        try FiniteCheck.check(
            eps, tensor: "output.eps", context: "forward pass", advice: "the weights or inputs are extreme")
        var out: [(String, NDArray)] = [("output.eps", NDArray(eps))]
        guard let batch = dsmBatch else { return out }
        let x0 = try batch.tensor("train.x0")
        guard x0.rank == 4, Array(x0.shape.dropFirst()) == shape else {
            throw FormatError(
                file: batch.path, field: "train.x0",
                expected: "shape (N, \(shape.map(String.init).joined(separator: ", ")))",
                found: "\(x0.shape)")
        }
        let noise = try batch.tensor("train.noise", shape: x0.shape)
        try FormatError.requireFinite(x0.data, file: batch.path, field: "train.x0")
        do { try config.checkBatch(x0.shape[0], training: true, setting: "train.x0") } catch let e as SettingError {
            throw FormatError(file: batch.path, field: "train.x0", expected: e.expected, found: e.found)
        }
        try FormatError.requireFinite(noise.data, file: batch.path, field: "train.noise")
        let tt = try timesteps(batch, "train.t", count: x0.shape[0], limit: config.timesteps)
        let schedule = NoiseSchedule(kind: config.linearSchedule ? .linear : .cosine, timesteps: config.timesteps)
        let dsm = DSMBatch(schedule: schedule, x0: x0, noise: noise, timesteps: tt)
        let (loss, prediction, grads) = network.lossAndGradients(
            xt: dsm.xt, timesteps: tt.map { Float($0 * 1000 / config.timesteps) },
            target: dsm.target)
        guard loss.isFinite else {
            throw NonFiniteError(tensor: "output.loss", context: "DSM batch", index: 0, value: Double(loss))
        }
        out.append(("output.loss", NDArray(shape: [], float32: [loss])))
        out.append(("train.x_t", NDArray(dsm.xt)))
        out.append(("train.eps_target", NDArray(dsm.target)))
        out.append(("train.eps_pred", NDArray(prediction)))
        for spec in network.parameters.specs where spec.trainable {
            out.append(("grad." + spec.name, NDArray(grads[spec.name]!)))
        }
        return out
    }

    static func timesteps(_ file: SafeTensors.File, _ key: String, count: Int, limit: Int) throws -> [Int] {
        let array = try file.array(key)
        guard let values = array.integers, array.shape == [count] else {
            throw FormatError(
                file: file.path, field: key, expected: "\(count) integer timesteps (int64 or int32), shape [\(count)]",
                found: "\(array.dtype.rawValue) of shape \(array.shape)")
        }
        if let bad = values.first(where: { $0 < 0 || $0 >= limit }) {
            throw FormatError(file: file.path, field: key, expected: "timesteps in 0…\(limit - 1)", found: "\(bad)")
        }
        return values
    }
}
