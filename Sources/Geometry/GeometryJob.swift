import Diffusion
import Foundation
import Formats
import Networks

/// One geometry computation end to end: a native config, an imported architecture or the
/// user's own F vectors, estimated by Monte Carlo (resumable, shardable) or in closed form,
/// ending with the SADs, their diagnostics and the files of ``SADs/write(to:extra:)``.
///
/// `sad geometry`, every recipe (through `GeometrySource`) and the propositions run their
/// geometries through this one type, so that an estimate means the same thing everywhere.
public struct GeometryJob {
    /// Where the networks come from.
    public enum Source {
        case config(NetworkConfig)
        case architecture(any ScoreArchitecture)
        case samples(SampleRows)
        /// Given (e.g. trained) networks of one architecture, in the order `spec.trained` names
        /// them (``GeometrySpec/useTrained(_:structure:)``).
        case trained(any ScoreArchitecture, [ScoreNetwork])
    }

    /// What `run(in:)` produced.
    public struct Outcome {
        /// The accumulated state (nil for a closed form).
        public var state: GeometryState?
        /// The SADs when the run is whole (nil for a shard of a larger run).
        public var sads: SADs?
        public var seconds: Double
    }

    public let spec: GeometrySpec
    public let source: Source
    /// The closed-form geometry (the DiT at init); nil for Monte Carlo.
    public let exactGeometry: [Double]?
    public var shard: Shard = .whole
    public var checkpointInterval: Double = 60
    public var progress: ((Int, Int) -> Void)?
    /// Written into manifest.json beside the run's identity.
    public var extra: [String: String] = [:]
    /// Decompose and write the SADs' files (vecs.npy, vals.npy, geometry.npy, summary,
    /// diagnostics) when whole; false returns the state alone (a caller that needs the matrix).
    public var writeFiles = true
    /// Record this invocation's wall time in manifest.json (the CLI; recipes keep their
    /// prepared files free of timings).
    public var recordsWallTime = false

    /// A Monte Carlo estimate described by `spec`.
    public init(spec: GeometrySpec, source: Source) {
        self.spec = spec
        self.source = source
        exactGeometry = nil
    }

    /// The closed form of the DiT at the reference init with the zero probe (spec §4.4):
    /// G = c_T σ_w² (K ⊗ I), no Monte Carlo. `spec` records the run as the files expect.
    public static func closedForm(
        config: NetworkConfig, configPath: String, interpolation: String? = nil
    )
        throws -> GeometryJob
    {
        guard case let .dit(d) = config.model else {
            throw SettingError(
                setting: "analytic", expected: "a DiT config (the only closed form)", found: config.summary)
        }
        let spec = try GeometryRun.makeSpec(
            config: config, configPath: configPath, interpolation: interpolation, patchSize: d.patchSize,
            scheme: .reference, estimator: .importance, probe: .zero, seed: 0, networks: 2, chunkSize: 1,
            structure: .full)
        let g = AnalyticGeometry.dit(
            DiT(config: d, shape: config.shape),
            schedule: NoiseSchedule(kind: config.linearSchedule ? .linear : .cosine, timesteps: config.timesteps))
        var job = GeometryJob(spec: spec, source: .config(config), exactGeometry: g)
        job.extra["method"] = "closed form (spec §4.4): G = c_T σ_w² (K ⊗ I), no Monte Carlo"
        return job
    }

    init(spec: GeometrySpec, source: Source, exactGeometry: [Double]) {
        self.spec = spec
        self.source = source
        self.exactGeometry = exactGeometry
    }

    /// The resumable estimator over this job's networks.
    var geometryRun: GeometryRun {
        var run: GeometryRun
        switch source {
        case .config(let config): run = GeometryRun(spec: spec, config: config)
        case .architecture(let architecture): run = GeometryRun(spec: spec, architecture: architecture)
        case .samples(let rows): run = GeometryRun(spec: spec, samples: rows)
        case .trained(let architecture, let networks):
            run = GeometryRun(spec: spec, architecture: architecture)
            run.instances = networks
        }
        run.shard = shard
        run.checkpointInterval = checkpointInterval
        run.progress = progress
        return run
    }

    /// Runs (or resumes from `directory`/state.safetensors) and, when the run is whole, writes
    /// the SADs into `directory`.
    @discardableResult
    public func run(in directory: String) throws -> Outcome {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let start = Date()
        if let exactGeometry {
            let sads = try SADs(spec: spec, exactGeometry: exactGeometry)
            if writeFiles { try sads.write(to: directory, extra: extra) }
            return Outcome(state: nil, sads: sads, seconds: Date().timeIntervalSince(start))
        }
        let state = try geometryRun.run(statePath: "\(directory)/state.safetensors")
        let seconds = Date().timeIntervalSince(start)
        guard shard == .whole, writeFiles else { return Outcome(state: state, sads: nil, seconds: seconds) }
        let sads = try SADs(state: state)
        var extra = self.extra
        if recordsWallTime { extra["wall_seconds_last_invocation"] = String(format: "%.1f", seconds) }
        try sads.write(to: directory, extra: extra)
        return Outcome(state: state, sads: sads, seconds: seconds)
    }
}
