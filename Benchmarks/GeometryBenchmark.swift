import Foundation
import Geometry
import Networks
import Tensors

/// Geometry throughput: networks/s of the reference estimator, and the time the
/// variance-reduced (marginal) estimator needs until the SADs at indices 0, D/8 − 1, …, D − 1
/// are stable (split-half overlap ≥ 0.9 or band overlap ≥ 0.95).
public enum GeometryBenchmark {
    public static func run(config: NetworkConfig, referenceNetworks: Int = 1024, maxNetworks: Int = 65_536,
                           log: (String) -> Void = { print($0) }) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-bench-geometry-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func estimate(_ estimator: Estimator, _ networks: Int, seed: UInt64) throws -> (SADs, Double) {
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let spec = try GeometryRun.makeSpec(config: config, configPath: "bench", interpolation: nil, patchSize: nil, scheme: .reference,
                                                estimator: estimator, probe: .zero, seed: seed, networks: networks)
            var run = GeometryRun(spec: spec, config: config)
            run.checkpointInterval = .infinity
            let start = Date()
            let state = try run.run(statePath: "\(dir)/state.safetensors")
            let sads = try SADs(state: state)
            return (sads, Date().timeIntervalSince(start))
        }
        let (_, refSeconds) = try estimate(.reference, referenceNetworks, seed: 1)
        let rate = Double(referenceNetworks) / refSeconds
        log(String(format: "geometry, reference estimator (%@): %.0f networks/s on %d threads",
                   config.summary, rate, Parallel.threadCount))
        var networks = 4096
        while networks <= maxNetworks {
            let (sads, seconds) = try estimate(.marginal, networks, seed: 2)
            let indices = sads.summaryIndices
            let stable = indices.filter { sads.diagnostics.isStable($0) }
            log(String(format: "geometry, marginal estimator: %d networks in %.1f s, stable SADs at %d of %d checked indices %@",
                       networks, seconds, stable.count, indices.count, "\(indices)"))
            if stable.count == indices.count {
                log(String(format: "time to stable SADs: %.1f s for %d networks (λ_max %.2f, trace %.1f ± %.1f)", seconds, networks,
                           sads.eigen.values[0], sads.diagnostics.trace, sads.diagnostics.traceStandardError))
                return
            }
            networks *= 2
        }
        log("time to stable SADs: not reached within \(maxNetworks) networks")
    }
}
