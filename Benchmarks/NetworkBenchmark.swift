import Foundation
import Networks
import Tensors

/// Fresh-network construction + one zero-probe forward ε̂(0, t), networks per second: the
/// inner loop of the geometry estimator (absolute rates; compare with PyTorch only side by side).
public enum NetworkBenchmark {
    public struct Row: Sendable {
        public let name: String
        public let threads: Int
        public let networksPerSecond: Double
    }

    public static func run(
        configs: [(String, NetworkConfig)], networks: Int, log: (String) -> Void = { print($0) }
    ) throws -> [Row] {
        var rows: [Row] = []
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for (name, config) in configs {
            for threads in Array(Set([1, saved])).sorted() {
                Parallel.threadCount = threads
                // Warm-up, then the timed run.
                _ = try InitStatistics.measure(config: config, networks: max(2, networks / 10), seed: 99, timestep: 0)
                let stats = try InitStatistics.measure(config: config, networks: networks, seed: 1, timestep: 0)
                let rate = Double(networks) / stats.seconds
                rows.append(Row(name: name, threads: threads, networksPerSecond: rate))
                log(
                    String(
                        format: "fresh network + ε̂(0, t) probe, %@: %.0f networks/s on %d thread%@",
                        name, rate, threads, threads == 1 ? "" : "s"))
            }
        }
        return rows
    }
}
