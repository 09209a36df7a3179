import Diffusion
import Foundation
import Formats
import Networks
import Tensors

/// Runs (or resumes) the estimation of one shard.
public struct GeometryRun {
    public let spec: GeometrySpec
    /// The architecture whose fresh networks are drawn (a native config's or an imported one),
    /// or the user's own F vectors.
    public let architecture: (any ScoreArchitecture)?
    public let samples: SampleRows?
    /// Trained networks of `architecture` (spec.trained names them): draw n uses instance
    /// n mod K in place of a fresh initialisation.
    public var instances: [ScoreNetwork]?
    public var shard: Shard = .whole
    /// Seconds between checkpoints.
    public var checkpointInterval: Double = 60
    /// Stop after this many newly computed chunks (tests: simulate a killed run).
    public var stopAfterChunks: Int?
    /// Called after each wave with (chunks done in shard, chunks in shard).
    public var progress: ((Int, Int) -> Void)?

    public init(spec: GeometrySpec, config: NetworkConfig) {
        self.init(spec: spec, architecture: makeArchitecture(config))
    }

    /// A run over any architecture (e.g. an imported ONNX network, spec from
    /// ``makeSpec(architecture:model:source:identityFields:estimator:probe:seed:networks:chunkSize:)``).
    public init(spec: GeometrySpec, architecture: any ScoreArchitecture) {
        self.spec = spec
        self.architecture = architecture
        self.samples = nil
    }

    /// A run over F vectors computed elsewhere (spec from ``makeSpec(samples:chunkSize:)``).
    public init(spec: GeometrySpec, samples: SampleRows) {
        self.spec = spec
        self.architecture = nil
        self.samples = samples
    }

    /// The spec of a `--samples` run: model `samples`, estimator `samples`; the file hashes
    /// are its identity.
    public static func makeSpec(samples: SampleRows, chunkSize: Int = 32) throws -> GeometrySpec {
        guard chunkSize >= 1 && chunkSize <= 4096, samples.count > chunkSize else {
            throw SettingError(
                setting: "chunkSize", expected: "1…4096 and below the number of rows (\(samples.count))",
                found: "\(chunkSize)")
        }
        let spec = GeometrySpec(
            config: "samples", model: "samples", shape: samples.shape, interpolation: nil, patchSize: nil,
            initScheme: InitScheme.reference.rawValue, estimator: "samples", probe: "samples",
            seed: 0, networks: samples.count, chunkSize: chunkSize, timesteps: 1000, schedule: "linear",
            configFields: samples.identityFields.map { "\($0.0)=\($0.1)" }, program: ProgramVersion.current)
        try spec.requireMemory(setting: "samples")
        return spec
    }

    /// Builds the spec for an architecture that is not a native config (an imported network):
    /// `identityFields` (graph and init hashes …) take the place of the config's fields.
    /// The schedule is the reference's linear one with T = 1000.
    public static func makeSpec(
        architecture: any ScoreArchitecture, model: String, source: String, identityFields: [(String, String)],
        estimator: Estimator, probe: Probe, seed: UInt64, networks: Int, chunkSize: Int = 32,
        structure: GeometryStructure = .auto, symmetry: GeometrySymmetryOption = .auto, dense: Bool = true
    ) throws -> GeometrySpec {
        let d = architecture.inputShape.reduce(1, *)
        guard networks >= 2 && networks <= 1_000_000_000 else {
            throw SettingError(
                setting: "networks", expected: "2…10⁹ (split-half diagnostics need two halves)",
                found: "\(networks)")
        }
        guard chunkSize >= 1 && chunkSize <= 4096 else {
            throw SettingError(setting: "chunkSize", expected: "1…4096", found: "\(chunkSize)")
        }
        guard networks > chunkSize, (networks + chunkSize - 1) / chunkSize <= GeometrySpec.maxChunks else {
            throw SettingError(
                setting: "networks",
                expected: "more than the chunk size (\(chunkSize)) and at most \(GeometrySpec.maxChunks) chunks",
                found: "\(networks)")
        }
        guard d <= GeometrySpec.maxDimension else {
            throw SettingError(
                setting: "onnx", expected: "D = C·H·W ≤ \(GeometrySpec.maxDimension) for a dense geometry",
                found: "D = \(d)")
        }
        try MemoryBudget.require(
            [(networks + chunkSize - 1) / chunkSize, 25], for: "the per-chunk statistics", setting: "networks")
        if estimator == .marginal {
            // Probes the output layer: throws the reason when the marginal does not apply.
            if let m = architecture as? OutputLayerMarginalizable {
                let x = Tensor(zeros: [1] + architecture.inputShape)
                let net = ScoreNetwork(architecture, seed: seed)
                do { _ = try m.marginalRows(x, timestep: 0, parameters: net.parameters, scheme: .reference) } catch {
                    throw SettingError(
                        setting: "estimator", expected: "reference or importance", found: "marginal: \(error)")
                }
            } else {
                throw SettingError(
                    setting: "estimator", expected: "reference or importance",
                    found: "marginal (no closed-form output-layer marginal for \(model))")
            }
        }
        var spec = GeometrySpec(
            config: source, model: model, shape: architecture.inputShape, interpolation: nil, patchSize: nil,
            initScheme: InitScheme.reference.rawValue, estimator: estimator.rawValue, probe: probe.description,
            seed: seed, networks: networks, chunkSize: chunkSize, timesteps: 1000, schedule: "linear",
            configFields: identityFields.map { "\($0.0)=\($0.1)" }, program: ProgramVersion.current)
        spec.factorization = try structure.resolve(architecture, scheme: .reference)
        spec.symmetry = symmetry.resolve(
            architecture, scheme: .reference, probe: probe, factorization: spec.factorization)
        if dense { try spec.requireMemory(setting: "onnx") }
        return spec
    }

    /// Builds the spec for a config and options, validating them. `dense: false` skips the
    /// dense-memory check (for ``GeometrySketch``, which never forms K).
    public static func makeSpec(
        config: NetworkConfig, configPath: String, interpolation: String?, patchSize: Int?,
        scheme: InitScheme, estimator: Estimator, probe: Probe, seed: UInt64,
        networks: Int, chunkSize: Int = 32, structure: GeometryStructure = .auto,
        symmetry: GeometrySymmetryOption = .auto, dense: Bool = true
    ) throws -> GeometrySpec {
        guard scheme != .zeroInit else {
            throw SettingError(
                setting: "initScheme", expected: "an init whose output is not identically zero",
                found: "zero-init (the stock iDDPM/DiT init gives ε̂ ≡ 0 and G_F = 0: nothing to estimate)")
        }
        guard networks >= 2 && networks <= 1_000_000_000 else {
            throw SettingError(
                setting: "networks", expected: "2…10⁹ (split-half diagnostics need two halves)", found: "\(networks)")
        }
        guard chunkSize >= 1 && chunkSize <= 4096 else {
            throw SettingError(setting: "chunkSize", expected: "1…4096", found: "\(chunkSize)")
        }
        guard (networks + chunkSize - 1) / chunkSize <= GeometrySpec.maxChunks else {
            throw SettingError(
                setting: "chunkSize",
                expected: "at most \(GeometrySpec.maxChunks) chunks of networks (a larger chunk size)",
                found: "\(chunkSize) (\((networks + chunkSize - 1) / chunkSize) chunks)")
        }
        guard config.dimension <= GeometrySpec.maxDimension else {
            throw SettingError(
                setting: "config", expected: "D = C·H·W ≤ \(GeometrySpec.maxDimension) for a dense geometry",
                found: "D = \(config.dimension)")
        }
        // One network pass (batch 1) per thread is in flight.
        try config.checkBatch(Parallel.threadCount, training: false, setting: "config")
        // Four numbers per chunk (flags, trace, weights) live in the state.
        try MemoryBudget.require(
            [(networks + chunkSize - 1) / chunkSize, 25], for: "the per-chunk statistics", setting: "networks")
        guard networks > chunkSize else {
            throw SettingError(
                setting: "networks",
                expected:
                    "more than the chunk size (\(chunkSize)): the split-half diagnostics need at least two chunks",
                found: "\(networks)")
        }
        if estimator == .marginal {
            guard makeArchitecture(config) is OutputLayerMarginalizable else {
                throw SettingError(
                    setting: "estimator", expected: "reference or importance for \(config.summary)",
                    found: "marginal (no closed-form output-layer marginal for this family)")
            }
            guard scheme == .reference else {
                throw SettingError(
                    setting: "estimator", expected: "reference or importance with init \(scheme)",
                    found: "marginal (needs the reference init's iid output layer)")
            }
        }
        if case .linear = config.model, probe == .zero {
            throw SettingError(
                setting: "probe", expected: "a non-zero probe for the linear model (ε̂ = Ωx)",
                found: "zero (G_F would be 0)")
        }
        var spec = GeometrySpec(
            config: configPath, model: config.summary, shape: config.shape, interpolation: interpolation,
            patchSize: patchSize, initScheme: scheme.rawValue, estimator: estimator.rawValue,
            probe: probe.description, seed: seed, networks: networks, chunkSize: chunkSize,
            timesteps: config.timesteps, schedule: config.linearSchedule ? "linear" : "cosine",
            configFields: config.identityFields.map { "\($0.0)=\($0.1)" }, program: ProgramVersion.current)
        let architecture = makeArchitecture(config)
        spec.factorization = try structure.resolve(architecture, scheme: scheme)
        spec.symmetry = symmetry.resolve(architecture, scheme: scheme, probe: probe, factorization: spec.factorization)
        // `dense: false`: a matrix-free sketch, which checks its own (much smaller) memory.
        if dense { try spec.requireMemory(setting: "config") }
        return spec
    }

    /// Computes the shard's missing chunks, checkpointing into `statePath`; resumes from it
    /// when it exists (and belongs to the same run and shard). Returns the state.
    /// `continuing` is a state of this run held in memory (a growing accumulation,
    /// ``TimeToStable``): it replaces reading `statePath`, and with `saveWhenDone` false the
    /// run ends without writing it either.
    @discardableResult
    public func run(
        statePath: String, continuing: GeometryState? = nil, saveWhenDone: Bool = true
    ) throws -> GeometryState {
        var state: GeometryState
        AtomicFile.removeStaleTemporaries(in: URL(fileURLWithPath: statePath).deletingLastPathComponent().path)
        if let continuing {
            try spec.identity.require(
                matches: continuing.spec.identity, file: statePath, action: "continue the geometry run")
            guard continuing.shard == shard else {
                throw FormatError(
                    file: statePath, field: "shard", expected: "shard \(shard)", found: "shard \(continuing.shard)")
            }
            state = continuing
        } else if FileManager.default.fileExists(atPath: statePath) {
            state = try GeometryState.load(statePath)
            try spec.identity.require(matches: state.spec.identity, file: statePath, action: "resume the geometry run")
            guard state.shard == shard else {
                throw FormatError(
                    file: statePath, field: "__metadata__.shard", expected: "shard \(shard) (this run's)",
                    found: "shard \(state.shard): use another output directory per shard")
            }
        } else {
            try spec.validate(file: statePath)
            state = GeometryState(spec: spec, shard: shard)
        }
        let scheme = try InitScheme.parse(spec.initScheme)
        let fromSamples = samples != nil
        let estimator = fromSamples ? .importance : try Estimator.parse(spec.estimator)
        let schedule = spec.noiseSchedule
        let sampler = spec.timestepSampler(estimator)
        guard (instances?.count ?? 0) == (spec.trained?.count ?? 0) else {
            throw FormatError(
                file: statePath, field: "spec.trained", expected: "\(instances?.count ?? 0) trained instances",
                found: "\(spec.trained?.count ?? 0)")
        }
        let probe = try PreparedProbe(fromSamples ? .zero : try Probe.parse(spec.probe), shape: spec.shape)
        let shape = architecture?.inputShape ?? samples!.shape
        guard shape == spec.shape else {
            throw FormatError(
                file: statePath, field: "spec.shape", expected: "\(shape) (the architecture's)",
                found: "\(spec.shape)")
        }
        if let architecture, let f = spec.factorization {
            let mine = (architecture as? OutputLayerMarginalizable)?.marginalFactorization(scheme: scheme)
            guard mine == f else {
                throw FormatError(
                    file: statePath, field: "spec.factorization",
                    expected: "the architecture's own output-layer structure",
                    found: mine == nil ? "a factorization the architecture does not have" : "a different one")
            }
        }
        if let architecture, let group = spec.symmetry {
            // Averaging over a group the architecture does not have would bias the estimate.
            let mine = (architecture as? SpatiallySymmetric)?.spatialSymmetry(scheme: scheme)
            guard mine == group else {
                throw FormatError(
                    file: statePath, field: "spec.symmetry",
                    expected: mine.map { "\($0.rawValue) or none (the architecture's symmetry)" } ?? "none",
                    found: group.rawValue)
            }
        }
        let d = spec.dimension, side = spec.accumulatorDimension
        let mine = shard.chunkRange(total: spec.chunks)
        var pending = mine.filter { !state.done[$0] }
        if let limit = stopAfterChunks { pending = Array(pending.prefix(limit)) }
        // Chunks in flight each hold a D×D Float64 sum: as many as the memory budget allows
        // beside the state (at least one), never more than two per thread. The result does
        // not depend on it (exact accumulation).
        let chunkBytes = side * side * 8
        let room = max(0, MemoryBudget.bytes - (MemoryBudget.product(spec.stateBytes) ?? Int.max / 2))
        let wave = max(1, min(2 * Parallel.threadCount, room / max(1, chunkBytes)))
        var lastCheckpoint = Date()

        struct ChunkResult {
            var sum: [Double]; var networks: Int; var trace: Double; var weight: Double; var weightSquared: Double
        }
        var start = 0
        while start < pending.count {
            let batch = Array(pending[start..<min(pending.count, start + wave)])
            // One result slot per chunk, success or error: workers never share a variable.
            var results = [Result<ChunkResult, Error>?](repeating: nil, count: batch.count)
            results.withUnsafeMutableBufferPointer { out in
                let base = SharedPointer(out.baseAddress!)
                Parallel.forEach(batch.count) { b in
                    base.base[b] = Result {
                        let first = batch[b] * spec.chunkSize
                        let r =
                            try samples?.chunk(first..<min(spec.networks, first + spec.chunkSize), dimension: d)
                            ?? (spec.factorization == nil
                                ? Self.computeChunk(
                                    batch[b], spec: spec, arch: architecture!, instances: instances, scheme: scheme,
                                    estimator: estimator, sampler: sampler, probe: probe, schedule: schedule,
                                    dimension: d)
                                : Self.computeFactoredChunk(
                                    batch[b], spec: spec, arch: architecture!, scheme: scheme, estimator: estimator,
                                    sampler: sampler, probe: probe, schedule: schedule))
                        return ChunkResult(
                            sum: r.sum, networks: r.networks, trace: r.trace, weight: r.weight,
                            weightSquared: r.weightSquared)
                    }
                }
            }
            for (b, chunk) in batch.enumerated() {
                let r = try results[b]!.get()
                for (name, v) in [("trace", r.trace), ("weight", r.weight), ("weight²", r.weightSquared)]
                where !v.isFinite {
                    throw NonFiniteError(
                        tensor: "chunk \(name)", context: "geometry chunk \(chunk)", index: 0, value: v)
                }
                try r.sum.withUnsafeBufferPointer {
                    try state.accumulator.add(
                        chunkSum: $0.baseAddress!, networks: r.networks, half: chunk % 2, chunk: chunk)
                }
                state.done[chunk] = true
                state.chunkTrace[chunk] = r.trace
                state.chunkWeight[chunk] = r.weight
                state.chunkWeightSquared[chunk] = r.weightSquared
            }
            start += batch.count
            progress?(mine.filter { state.done[$0] }.count, mine.count)
            if Date().timeIntervalSince(lastCheckpoint) >= checkpointInterval {
                try state.save(to: statePath)
                lastCheckpoint = Date()
            }
        }
        if saveWhenDone { try state.save(to: statePath) }
        return state
    }

    /// One chunk: Σ_n R_nᵀR_n over its networks in Float64 (upper triangle), plus statistics.
    static func computeChunk(
        _ chunk: Int, spec: GeometrySpec, arch: any ScoreArchitecture, instances: [ScoreNetwork]?,
        scheme: InitScheme, estimator: Estimator, sampler: TimestepSampler, probe: PreparedProbe,
        schedule: NoiseSchedule, dimension d: Int
    ) throws
        -> (sum: [Double], networks: Int, trace: Double, weight: Double, weightSquared: Double)
    {
        let first = chunk * spec.chunkSize, last = min(spec.networks, first + spec.chunkSize)
        var sum = [Double](repeating: 0, count: d * d)
        var trace = 0.0, weight = 0.0, weightSquared = 0.0
        for n in first..<last {
            let index = UInt64(n)
            let (t, factor, w) = sampler.draw(network: index, seed: spec.seed)
            let x = probe.input(network: index, timestep: t, seed: spec.seed, schedule: schedule)
            let net =
                instances.map { $0[n % $0.count] }
                ?? ScoreNetwork(arch, seed: spec.seed, networkIndex: index, scheme: scheme)
            let rows: [Double]
            let rowCount: Int
            if estimator == .marginal, let m = arch as? OutputLayerMarginalizable {
                let r = try m.marginalRows(x, timestep: Float(t), parameters: net.parameters, scheme: scheme)
                rows = r.data.map { Double($0) * factor }
                rowCount = r.shape[0]
            } else {
                // F = ε̂/σ_t as the reference (ε̂ divided by the Float32 buffer), or √c_T·ε̂.
                let eps = net.epsilon(x, timesteps: [Float(t)])
                if estimator == .reference {
                    let sigma = schedule.sqrtOneMinusAlphasCumprod[t]
                    rows = eps.data.map { Double($0 / sigma) }
                } else {
                    rows = eps.data.map { Double($0) * factor }
                }
                rowCount = 1
            }
            var tr = 0.0
            for v in rows { tr += v * v }
            trace += tr
            weight += w
            weightSquared += w * w
            rows.withUnsafeBufferPointer { r in
                sum.withUnsafeMutableBufferPointer { s in
                    BLAS.dsyrk(
                        .transpose, n: d, k: rowCount, a: r.baseAddress!, lda: d, beta: 1, c: s.baseAddress!, ldc: d)
                }
            }
        }
        return (sum, last - first, trace, weight, weightSquared)
    }
}
