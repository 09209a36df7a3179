import Foundation
import Geometry
import Interop
import Networks
import Tensors

/// Geometry rate of an imported (ONNX) network next to a native config, measured in the
/// same run on the same machine: networks/s of each with the same estimator, seed and count,
/// and their ratio (both numbers are printed; the ratio compares only what was just measured).
public enum ImportedGeometryBenchmark {
    public static func run(
        files: [String], native config: NetworkConfig, estimator: Estimator = .marginal,
        networks: Int = 2048, log: (String) -> Void = { print($0) }
    ) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-bench-onnx-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let importStart = Date()
        let imported = try ImportedNetwork.load(files)
        let importSeconds = Date().timeIntervalSince(importStart)
        func rate(_ make: () throws -> GeometryRun) throws -> Double {
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var run = try make()
            run.checkpointInterval = .infinity
            let start = Date()
            _ = try run.run(statePath: "\(dir)/state.safetensors")
            return Double(networks) / Date().timeIntervalSince(start)
        }
        let nativeRate = try rate {
            GeometryRun(
                spec: try GeometryRun.makeSpec(
                    config: config, configPath: "bench", interpolation: nil, patchSize: nil, scheme: .reference,
                    estimator: estimator, probe: .zero, seed: 1, networks: networks),
                config: config)
        }
        let importedRate = try rate {
            GeometryRun(
                spec: try GeometryRun.makeSpec(
                    architecture: imported, model: "onnx", source: "bench", identityFields: imported.identityFields,
                    estimator: estimator, probe: .zero, seed: 1, networks: networks),
                architecture: imported)
        }
        log(
            String(
                format: "geometry, %@ estimator, %d networks on %d threads: native %@ %.0f networks/s, imported %@ "
                    + "%.0f networks/s (native/imported %.2f× in this run; import took %.2f s)",
                estimator.rawValue, networks, Parallel.threadCount, config.summary, nativeRate,
                URL(fileURLWithPath: files[0]).lastPathComponent, importedRate, nativeRate / importedRate,
                importSeconds))
    }
}
