import Foundation
import Geometry
import Networks
import Tensors

/// Geometry throughput: networks/s of the reference estimator, and for every reference config
/// the time the default (marginal, factored where the output layer is replicated) estimator
/// needs until the SADs at indices 0, D/8 − 1, …, D − 1 are stable (split-half overlap ≥ 0.9,
/// band ≥ 0.95 or group subspace ≥ 0.95), by ``TimeToStable``.
public enum GeometryBenchmark {
    public static func run(
        config: NetworkConfig, stableConfigs: [(String, NetworkConfig)], referenceNetworks: Int = 1024,
        timeLimit: Double = 300, log: (String) -> Void = { print($0) }
    ) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-bench-geometry-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let refSpec = try GeometryRun.makeSpec(
            config: config, configPath: "bench", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: .reference, probe: .zero, seed: 1, networks: referenceNetworks)
        var refRun = GeometryRun(spec: refSpec, config: config)
        refRun.checkpointInterval = .infinity
        let start = Date()
        _ = try SADs(state: try refRun.run(statePath: "\(dir)/reference.safetensors"))
        let rate = Double(referenceNetworks) / Date().timeIntervalSince(start)
        log(
            String(
                format: "geometry, reference estimator (%@): %.0f networks/s on %d threads",
                config.summary, rate, Parallel.threadCount))
        for (label, c) in stableConfigs {
            let spec = try GeometryRun.makeSpec(
                config: c, configPath: label, interpolation: nil, patchSize: nil, scheme: .reference,
                estimator: .marginal, probe: .zero, seed: 2, networks: 1 << 22, chunkSize: 64)
            let structure = spec.factorization.map { "factored \($0.groups)-fold, K \($0.positions)²" } ?? "full"
            let measure = TimeToStable(
                run: GeometryRun(spec: spec, config: c), startNetworks: 1024, timeLimit: timeLimit)
            let steps = try measure.measure(statePath: "\(dir)/\(label).safetensors") { step in
                log(
                    String(
                        format: "  %@ (%@): %d networks, %.1f s, stable at %d of %d indices %@", label, structure,
                        step.networks, step.seconds, step.stable.count, step.indices.count, "\(step.indices)"))
            }
            try? FileManager.default.removeItem(atPath: "\(dir)/\(label).safetensors")
            let last = steps.last!
            log(
                last.allStable
                    ? String(
                        format: "time to stable SADs, %@: %.1f s (%d networks, %.1f networks/s)", label, last.seconds,
                        last.networks, Double(last.networks) / last.seconds)
                    : String(
                        format: "time to stable SADs, %@: not reached in %.0f s (%d networks: %d of %d indices)",
                        label, last.seconds, last.networks, last.stable.count, last.indices.count))
        }
    }
}
