import Diffusion
import Foundation
import Formats
import Geometry
import Networks
import Tensors

/// SADs a recipe needs, computed once into a run's `prepared/` folder and read back from
/// there (so every shard and every restart uses the very same vectors).
public enum GeometrySource {
    public struct Loaded {
        public var vectors: Tensor  // (D, C, H, W), rows = SADs, descending
        public var values: [Double]  // (D), descending
        public var geometry: [Double]  // (D, D)
        public var summary: String
    }

    /// How to estimate: the closed form (DiT at init, zero probe) or Monte Carlo.
    public enum Method: Sendable, Equatable {
        case analytic
        case monteCarlo(estimator: Estimator, networks: Int, probe: Probe, seed: UInt64)

        public var description: String {
            switch self {
            case .analytic: return "closed form (spec §4.4)"
            case let .monteCarlo(e, n, p, s): return "\(e.rawValue) estimator, \(n) networks, probe \(p), seed \(s)"
            }
        }
    }

    public static func load(
        config: NetworkConfig, label: String, method: Method, directory: String,
        log: (String) -> Void = { _ in }
    ) throws -> Loaded {
        try load(
            architecture: ResolvedArchitecture(config: config), label: label, method: method,
            directory: directory, log: log)
    }

    /// The same for any architecture; the closed form needs a native DiT config.
    public static func load(
        architecture: ResolvedArchitecture, label: String, method: Method, directory: String,
        log: (String) -> Void = { _ in }
    ) throws -> Loaded {
        let shape = architecture.shape
        let vecsPath = "\(directory)/vecs.npy", valsPath = "\(directory)/vals.npy"
        // Complete only with a valid marker (written last, with every file's hash): a kill
        // between two files, or an edited file, is recomputed from the resumable state.
        if !CompletionManifest.isComplete(directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            log("geometry of \(label): \(method.description)")
            var job: GeometryJob
            switch method {
            case .analytic:
                guard let config = architecture.config, case .dit = config.model else {
                    throw RecipeError("a closed-form geometry exists only for the DiT")
                }
                job = try GeometryJob.closedForm(config: config, configPath: label)
            case let .monteCarlo(estimator, networks, probe, seed):
                let chunkSize = min(32, max(1, networks / 4))
                if let config = architecture.config {
                    let spec = try GeometryRun.makeSpec(
                        config: config, configPath: label, interpolation: nil, patchSize: nil,
                        scheme: .reference, estimator: estimator, probe: probe, seed: seed,
                        networks: networks, chunkSize: chunkSize)
                    job = GeometryJob(spec: spec, source: .config(config))
                } else {
                    let net = architecture.imported!
                    let spec = try GeometryRun.makeSpec(
                        architecture: net, model: "onnx:" + label, source: net.files.joined(separator: ","),
                        identityFields: net.identityFields, estimator: estimator, probe: probe, seed: seed,
                        networks: networks, chunkSize: chunkSize)
                    job = GeometryJob(spec: spec, source: .architecture(net))
                }
            }
            job.extra = ["method": method.description]
            try job.run(in: directory)
        }
        let vecs = try Npy.read(vecsPath).tensor(file: vecsPath, field: "vecs", converting: true)
        let vals = try Npy.read(valsPath)
        let d = architecture.dimension
        guard vecs.shape == [d] + shape else {
            throw FormatError(file: vecsPath, field: "shape", expected: "\([d] + shape)", found: "\(vecs.shape)")
        }
        guard case let .float64(values) = vals.storage, vals.shape == [d] else {
            throw FormatError(
                file: valsPath, field: "shape", expected: "float64 [\(d)]",
                found: "\(vals.dtype.rawValue) \(vals.shape)")
        }
        let geometry = try GeometryFiles.geometry(directory: directory, dimension: d)
        try FormatError.requireFinite(vecs.data, file: vecsPath, field: "vecs")
        try FormatError.requireFinite(values, file: valsPath, field: "vals")
        let summary = (try? String(contentsOfFile: "\(directory)/summary.txt", encoding: .utf8)) ?? ""
        return Loaded(vectors: vecs, values: values, geometry: geometry, summary: summary)
    }
}
