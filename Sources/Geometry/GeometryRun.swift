import Diffusion
import Foundation
import Formats
import Networks
import Tensors

/// Everything that defines a geometry estimate. Two runs with equal specs compute the same
/// numbers, whatever the threads, shards or interruptions; merge and resume check it.
public struct GeometrySpec: Codable, Equatable, Sendable {
    public var config: String
    public var model: String
    public var shape: [Int]
    public var interpolation: String?
    public var patchSize: Int?
    public var initScheme: String
    public var estimator: String
    public var probe: String
    public var seed: UInt64
    public var networks: Int
    public var chunkSize: Int
    public var timesteps: Int
    public var schedule: String

    public var chunks: Int { (networks + chunkSize - 1) / chunkSize }
    public var dimension: Int { shape.reduce(1, *) }
}

/// Which part of the chunks a process computes: chunks [i·C/K, (i+1)·C/K).
public struct Shard: Codable, Equatable, Sendable, CustomStringConvertible {
    public var index: Int
    public var count: Int
    public static let whole = Shard(index: 0, count: 1)

    public init(index: Int, count: Int) { self.index = index; self.count = count }

    /// Parses `i/K` (0-based i).
    public static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let i = parts[0], let k = parts[1], k >= 1, i >= 0, i < k else {
            throw FormatError(file: "--shard", field: "shard", expected: "i/K with 0 ≤ i < K (e.g. 0/4)", found: text)
        }
        return Shard(index: i, count: k)
    }

    func chunkRange(total: Int) -> Range<Int> { (index * total / count)..<((index + 1) * total / count) }
    public var description: String { "\(index)/\(count)" }
}

/// The resumable state of one shard (or of a merged run): the accumulator plus per-chunk
/// statistics, saved atomically as `state.safetensors`.
public struct GeometryState: Sendable {
    public let spec: GeometrySpec
    public var shard: Shard
    public var accumulator: GeometryAccumulator
    /// Per chunk (all chunks of the run; only this shard's are ever set).
    public var done: [Bool]
    /// Σ over the chunk's networks of tr(R_nᵀR_n).
    public var chunkTrace: [Double]
    /// Σ w and Σ w² of the estimator weights over the chunk (effective sample size).
    public var chunkWeight: [Double]
    public var chunkWeightSquared: [Double]

    public init(spec: GeometrySpec, shard: Shard) {
        self.spec = spec
        self.shard = shard
        accumulator = GeometryAccumulator(dimension: spec.dimension)
        done = [Bool](repeating: false, count: spec.chunks)
        chunkTrace = [Double](repeating: 0, count: spec.chunks)
        chunkWeight = chunkTrace
        chunkWeightSquared = chunkTrace
    }

    public var isComplete: Bool { done.allSatisfy { $0 } }

    public func save(to path: String) throws {
        let specJSON = String(decoding: try JSONEncoder.sorted.encode(spec), as: UTF8.self)
        let shardJSON = String(decoding: try JSONEncoder.sorted.encode(shard), as: UTF8.self)
        var arrays = accumulator.namedArrays()
        arrays.append(("chunks.done", NDArray(shape: [done.count], uint8: done.map { $0 ? 1 : 0 })))
        arrays.append(("chunks.trace", NDArray(shape: [done.count], float64: chunkTrace)))
        arrays.append(("chunks.weight", NDArray(shape: [done.count], float64: chunkWeight)))
        arrays.append(("chunks.weight_squared", NDArray(shape: [done.count], float64: chunkWeightSquared)))
        try SafeTensors.write(arrays, metadata: ["spec": specJSON, "shard": shardJSON, "format": "sad-geometry-state-1"], to: path)
    }

    public static func load(_ path: String) throws -> GeometryState {
        let file = try SafeTensors.read(path)
        guard file.metadata["format"] == "sad-geometry-state-1", let specText = file.metadata["spec"],
              let shardText = file.metadata["shard"] else {
            throw FormatError(file: path, field: "__metadata__", expected: "a sad geometry state (format sad-geometry-state-1)", found: "other metadata")
        }
        let spec: GeometrySpec, shard: Shard
        do {
            spec = try JSONDecoder().decode(GeometrySpec.self, from: Data(specText.utf8))
            shard = try JSONDecoder().decode(Shard.self, from: Data(shardText.utf8))
        } catch {
            throw FormatError(file: path, field: "__metadata__.spec", expected: "a geometry spec", found: "\(error)")
        }
        var state = GeometryState(spec: spec, shard: shard)
        state.accumulator = try GeometryAccumulator(dimension: spec.dimension, file: file)
        let c = spec.chunks
        func doubles(_ key: String) throws -> [Double] {
            let a = try file.array(key)
            guard a.shape == [c], a.dtype == .float64 else {
                throw FormatError(file: path, field: key, expected: "\(c) float64 values", found: "\(a.dtype.rawValue) \(a.shape)")
            }
            return a.doubles
        }
        let doneArray = try file.array("chunks.done")
        guard doneArray.shape == [c], let flags = doneArray.integers else {
            throw FormatError(file: path, field: "chunks.done", expected: "\(c) flags", found: "\(doneArray.shape)")
        }
        state.done = flags.map { $0 != 0 }
        state.chunkTrace = try doubles("chunks.trace")
        state.chunkWeight = try doubles("chunks.weight")
        state.chunkWeightSquared = try doubles("chunks.weight_squared")
        return state
    }

    /// Adds another shard's chunks (same spec, disjoint chunks).
    public mutating func merge(_ other: GeometryState, otherPath: String) throws {
        guard other.spec == spec else {
            throw FormatError(file: otherPath, field: "spec", expected: "the same geometry run as the first shard", found: "a different run")
        }
        for c in 0..<done.count where other.done[c] {
            guard !done[c] else {
                throw FormatError(file: otherPath, field: "chunks.done", expected: "chunks disjoint from the other shards", found: "chunk \(c) twice")
            }
            done[c] = true
            chunkTrace[c] = other.chunkTrace[c]
            chunkWeight[c] = other.chunkWeight[c]
            chunkWeightSquared[c] = other.chunkWeightSquared[c]
        }
        accumulator.merge(other.accumulator)
        shard = .whole
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }
}

/// Runs (or resumes) the estimation of one shard.
public struct GeometryRun {
    public let spec: GeometrySpec
    public let config: NetworkConfig
    public var shard: Shard = .whole
    /// Seconds between checkpoints.
    public var checkpointInterval: Double = 60
    /// Stop after this many newly computed chunks (tests: simulate a killed run).
    public var stopAfterChunks: Int?
    /// Called after each wave with (chunks done in shard, chunks in shard).
    public var progress: ((Int, Int) -> Void)?

    public init(spec: GeometrySpec, config: NetworkConfig) {
        self.spec = spec
        self.config = config
    }

    /// Builds the spec for a config and options, validating them.
    public static func makeSpec(config: NetworkConfig, configPath: String, interpolation: String?, patchSize: Int?,
                                scheme: InitScheme, estimator: Estimator, probe: Probe, seed: UInt64,
                                networks: Int, chunkSize: Int = 32) throws -> GeometrySpec {
        guard scheme != .zeroInit else {
            throw FormatError(file: "--init", field: "init", expected: "an init whose output is not identically zero",
                              found: "zero-init (the stock iDDPM/DiT init gives ε̂ ≡ 0 and G_F = 0: nothing to estimate)")
        }
        guard networks >= 2 else {
            throw FormatError(file: "--networks", field: "networks", expected: "at least 2 (split-half diagnostics need two halves)", found: "\(networks)")
        }
        guard chunkSize >= 1 && chunkSize <= 4096 else {
            throw FormatError(file: "--chunk-size", field: "chunk-size", expected: "1…4096", found: "\(chunkSize)")
        }
        guard networks > chunkSize else {
            throw FormatError(file: "--networks", field: "networks",
                              expected: "more than --chunk-size (\(chunkSize)): the split-half diagnostics need at least two chunks",
                              found: "\(networks)")
        }
        if estimator == .marginal {
            guard makeArchitecture(config) is OutputLayerMarginalizable else {
                throw FormatError(file: "--estimator", field: "estimator", expected: "reference or importance for \(config.summary)",
                                  found: "marginal (no closed-form output-layer marginal for this family)")
            }
            guard scheme == .reference else {
                throw FormatError(file: "--estimator", field: "estimator", expected: "reference or importance with init \(scheme)",
                                  found: "marginal (needs the reference init's iid output layer)")
            }
        }
        if case .linear = config.model, probe == .zero {
            throw FormatError(file: "--probe", field: "probe", expected: "a non-zero probe for the linear model (ε̂ = Ωx)",
                              found: "zero (G_F would be 0)")
        }
        return GeometrySpec(config: configPath, model: config.summary, shape: config.shape, interpolation: interpolation,
                            patchSize: patchSize, initScheme: scheme.rawValue, estimator: estimator.rawValue,
                            probe: probe.description, seed: seed, networks: networks, chunkSize: chunkSize,
                            timesteps: config.timesteps, schedule: config.linearSchedule ? "linear" : "cosine")
    }

    /// Computes the shard's missing chunks, checkpointing into `statePath`; resumes from it
    /// when it exists (and belongs to the same run and shard). Returns the state.
    @discardableResult
    public func run(statePath: String) throws -> GeometryState {
        var state: GeometryState
        if FileManager.default.fileExists(atPath: statePath) {
            state = try GeometryState.load(statePath)
            guard state.spec == spec, state.shard == shard else {
                throw FormatError(file: statePath, field: "spec", expected: "the state of this run (shard \(shard))",
                                  found: "a different run or shard: use another --out directory")
            }
        } else {
            state = GeometryState(spec: spec, shard: shard)
        }
        let scheme = try InitScheme.parse(spec.initScheme)
        let estimator = try Estimator.parse(spec.estimator)
        let schedule = NoiseSchedule(kind: spec.schedule == "linear" ? .linear : .cosine, timesteps: spec.timesteps)
        let sampler = TimestepSampler(estimator: estimator, schedule: schedule)
        let probe = try PreparedProbe(try Probe.parse(spec.probe), shape: spec.shape)
        let arch = makeArchitecture(config)
        let d = spec.dimension
        let mine = shard.chunkRange(total: spec.chunks)
        var pending = mine.filter { !state.done[$0] }
        if let limit = stopAfterChunks { pending = Array(pending.prefix(limit)) }
        let wave = max(2, 2 * Parallel.threadCount)
        var lastCheckpoint = Date()

        struct ChunkResult { var sum: [Double]; var networks: Int; var trace: Double; var weight: Double; var weightSquared: Double }
        var start = 0
        while start < pending.count {
            let batch = Array(pending[start..<min(pending.count, start + wave)])
            // One result slot per chunk, success or error: workers never share a variable.
            var results = [Result<ChunkResult, Error>?](repeating: nil, count: batch.count)
            results.withUnsafeMutableBufferPointer { out in
                let base = SharedPointer(out.baseAddress!)
                Parallel.forEach(batch.count) { b in
                    base.base[b] = Result {
                        let r = try Self.computeChunk(batch[b], spec: spec, arch: arch, scheme: scheme, estimator: estimator,
                                                      sampler: sampler, probe: probe, schedule: schedule, dimension: d)
                        return ChunkResult(sum: r.sum, networks: r.networks, trace: r.trace, weight: r.weight, weightSquared: r.weightSquared)
                    }
                }
            }
            for (b, chunk) in batch.enumerated() {
                let r = try results[b]!.get()
                r.sum.withUnsafeBufferPointer { state.accumulator.add(chunkSum: $0.baseAddress!, networks: r.networks, half: chunk % 2) }
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
        try state.save(to: statePath)
        return state
    }

    /// One chunk: Σ_n R_nᵀR_n over its networks in Float64 (upper triangle), plus statistics.
    static func computeChunk(_ chunk: Int, spec: GeometrySpec, arch: any ScoreArchitecture, scheme: InitScheme,
                             estimator: Estimator, sampler: TimestepSampler, probe: PreparedProbe, schedule: NoiseSchedule,
                             dimension d: Int) throws
        -> (sum: [Double], networks: Int, trace: Double, weight: Double, weightSquared: Double) {
        let first = chunk * spec.chunkSize, last = min(spec.networks, first + spec.chunkSize)
        var sum = [Double](repeating: 0, count: d * d)
        var trace = 0.0, weight = 0.0, weightSquared = 0.0
        for n in first..<last {
            let index = UInt64(n)
            let (t, factor, w) = sampler.draw(network: index, seed: spec.seed)
            let x = probe.input(network: index, timestep: t, seed: spec.seed, schedule: schedule)
            let net = ScoreNetwork(arch, seed: spec.seed, networkIndex: index, scheme: scheme)
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
                    BLAS.dsyrk(.transpose, n: d, k: rowCount, a: r.baseAddress!, lda: d, beta: 1, c: s.baseAddress!, ldc: d)
                }
            }
        }
        return (sum, last - first, trace, weight, weightSquared)
    }
}
