import Formats
import Foundation
import Tensors

/// Output scale of a network family at initialisation: E‖ε̂(0, t)‖² over fresh networks
/// (spec §3.4: 29.97 ± 0.18 for the 1x16x16 U-Net, 472.6 for DiT/2 by the closed form).
public struct InitStatistics: CustomStringConvertible, Sendable {
    public let networks: Int
    public let timestep: Int
    public let parameters: Int
    public let trainableParameters: Int
    /// Mean over networks of ‖ε̂(0, t)‖².
    public let meanSquaredNorm: Double
    /// Standard error of that mean.
    public let standardError: Double
    /// Mean output value (should be ≈ 0).
    public let meanOutput: Double
    public let seconds: Double

    public var description: String {
        String(
            format:
                "E‖ε̂(0, t=%d)‖² = %.3f ± %.3f (SE) over %d networks; mean output %+.2e; %d parameters (%d "
                + "trainable); %.0f networks/s",
            timestep, meanSquaredNorm, standardError, networks, meanOutput, parameters, trainableParameters,
            Double(networks) / max(seconds, 1e-9))
    }

    /// Builds `networks` fresh networks (seed, index 0…networks−1) and probes each at x = 0,
    /// in parallel over networks. Deterministic for any thread count.
    public static func measure(
        config: NetworkConfig, networks: Int, seed: UInt64, timestep: Int,
        scheme: InitScheme = .reference
    ) throws -> InitStatistics {
        guard networks >= 2 else {
            throw SettingError(setting: "networks", expected: "at least 2 (for a standard error)", found: "\(networks)")
        }
        guard timestep >= 0 && timestep < config.timesteps else {
            throw SettingError(setting: "timestep", expected: "0…\(config.timesteps - 1)", found: "\(timestep)")
        }
        // Two Float64 per network are kept, beside one network (and its activations) per thread.
        try MemoryBudget.require([networks, 16], for: "the per-network statistics", setting: "networks")
        try config.checkBatch(min(networks, Parallel.threadCount), training: false, setting: "config")
        let arch = makeArchitecture(config)
        var norms = [Double](repeating: 0, count: networks)
        var means = [Double](repeating: 0, count: networks)
        let start = Date()
        norms.withUnsafeMutableBufferPointer { pn in
            means.withUnsafeMutableBufferPointer { pm in
                let n = SharedPointer(pn.baseAddress!), m = SharedPointer(pm.baseAddress!)
                Parallel.forEach(networks) { i in
                    let net = ScoreNetwork(arch, seed: seed, networkIndex: UInt64(i), scheme: scheme)
                    let eps = net.epsilon(Tensor(zeros: [1] + config.shape), timesteps: [Float(timestep)])
                    var s = 0.0, mean = 0.0
                    for v in eps.data { s += Double(v) * Double(v); mean += Double(v) }
                    n.base[i] = s
                    m.base[i] = mean / Double(eps.count)
                }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let mean = norms.reduce(0, +) / Double(networks)
        let variance = norms.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(networks - 1)
        let specs = arch.parameterSpecs(scheme: scheme)
        return InitStatistics(
            networks: networks, timestep: timestep,
            parameters: specs.reduce(0) { $0 + $1.count },
            trainableParameters: specs.filter(\.trainable).reduce(0) { $0 + $1.count },
            meanSquaredNorm: mean, standardError: (variance / Double(networks)).squareRoot(),
            meanOutput: means.reduce(0, +) / Double(networks), seconds: seconds)
    }
}
