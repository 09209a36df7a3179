import Diffusion
import Foundation
import Formats
import Networks
import Tensors

/// Everything that defines a geometry estimate. Two runs with equal identities compute the
/// same numbers, whatever the threads, shards or interruptions; merge and resume check it.
public struct GeometrySpec: Codable, Equatable, Sendable {
    /// Where the config came from (shown, not part of the identity).
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
    /// Every field of the resolved network config (`path=value`, ``NetworkConfig/identityFields``):
    /// channels, blocks, heads, DiT width/depth, MLP sizes, θ std … all of them.
    public var configFields: [String]
    /// The program version that computes it.
    public var program: String
    /// The replicated output-layer structure the estimate exploits (nil: the full D×D matrix
    /// is estimated). With it the accumulator holds the M×M block K (or, for the marginal
    /// estimator, the feature Gram H it follows from) and G = Σ_g P_g K P_gᵀ.
    public var factorization: MarginalFactorization? = nil
    /// The grid symmetry the estimate is averaged over (nil: none; ``GeometrySymmetryOption``).
    /// The accumulator is the plain sum either way: the average is taken when the mean is
    /// formed (``GeometryState/kernelMean(half:)``), for the total and each half alike.
    public var symmetry: SpatialSymmetry? = nil
    /// The trained instances the estimate averages over instead of fresh initialisations
    /// (`name=sha256` of each checkpoint, in order; nil: fresh networks from the init). Draw n
    /// uses instance n mod K with its own timestep and probe draws.
    public var trained: [String]? = nil
    /// The timesteps t is restricted to, `[first, last]` inclusive (nil: all of 0…T−1): the
    /// noise-level-resolved geometry G_F(t ∈ [first, last]).
    public var timestepRange: [Int]? = nil

    /// The side of the accumulated matrix: D (full), F (marginal: the feature Gram) or M.
    public var accumulatorDimension: Int {
        guard let f = factorization else { return dimension }
        return estimator == Estimator.marginal.rawValue ? f.featurePositions : f.positions
    }

    /// The run's noise schedule (the reference's buffers).
    public var noiseSchedule: NoiseSchedule {
        NoiseSchedule(kind: schedule == "linear" ? .linear : .cosine, timesteps: timesteps)
    }

    /// The timestep band t is drawn from (nil: all of 0…T−1).
    public var timestepBand: ClosedRange<Int>? { timestepRange.map { $0[0]...$0[1] } }

    /// The run's timestep draws for `estimator`, over its band.
    func timestepSampler(_ estimator: Estimator) -> TimestepSampler {
        TimestepSampler(estimator: estimator, schedule: noiseSchedule, range: timestepBand)
    }

    public var chunks: Int { (networks + chunkSize - 1) / chunkSize }
    /// Networks in chunk k (the last one may be short).
    public func networks(inChunk k: Int) -> Int { min(networks, (k + 1) * chunkSize) - k * chunkSize }
    public var dimension: Int { shape.reduce(1, *) }

    /// The largest dimension a dense geometry may have, and the most chunks a run may have
    /// (each chunk keeps four numbers in the state).
    public static let maxDimension = 65_536
    public static let maxChunks = 10_000_000
    /// The most trained instances one estimate averages over (each is held in memory).
    public static let maxTrainedInstances = 1024

    /// The run identity: every field above except where the config file was.
    public var identity: RunIdentity {
        var id = RunIdentity()
        id.add("program", program)
        id.add("model", model)
        id.add("shape", shape.map(String.init).joined(separator: "x"))
        id.add("interpolation", interpolation ?? "(config)")
        id.add("patch_size", patchSize.map(String.init) ?? "(config)")
        id.add("init_scheme", initScheme)
        id.add("estimator", estimator)
        id.add("probe", probe)
        id.add("seed", seed)
        id.add("networks", networks)
        id.add("chunk_size", chunkSize)
        id.add("timesteps", timesteps)
        id.add("schedule", schedule)
        for line in configFields {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            id.add(parts[0], parts.count > 1 ? parts[1] : "")
        }
        if let factorization, let json = try? JSONEncoder.sorted.encode(factorization) {
            // A full run's identity is unchanged from before factored runs existed.
            id.add("structure", "factored")
            id.add("factorization", SHA256.hex(Array(json)))
        }
        // Likewise, a run without a symmetry keeps its earlier identity.
        if let symmetry { id.add("symmetry", symmetry.rawValue) }
        // And so does a run over fresh networks and every timestep.
        if let trained { id.add("trained", trained.joined(separator: ",")) }
        if let timestepRange { id.add("timestep_range", timestepRange.map(String.init).joined(separator: ":")) }
        return id
    }

    /// Checks every field (a spec read back from a state file is untrusted input) before any
    /// of them sizes an allocation or a loop. `file` names the source in errors.
    public func validate(file: String) throws {
        func fail(_ field: String, _ expected: String, _ found: Any) -> FormatError {
            FormatError(file: file, field: "spec." + field, expected: expected, found: "\(found)")
        }
        guard shape.count == 3, shape.allSatisfy({ (1...4096).contains($0) }) else {
            throw fail("shape", "[C, H, W] in 1…4096", shape)
        }
        guard shape[0] * shape[1] * shape[2] <= Self.maxDimension else {
            throw fail("shape", "C·H·W ≤ \(Self.maxDimension) for a dense geometry", shape)
        }
        guard (2...1_000_000_000).contains(networks) else { throw fail("networks", "2…10⁹", networks) }
        guard (1...4096).contains(chunkSize) else { throw fail("chunkSize", "1…4096", chunkSize) }
        guard networks > chunkSize else { throw fail("networks", "more than chunkSize (\(chunkSize))", networks) }
        guard chunks <= Self.maxChunks else {
            throw fail(
                "networks", "at most \(Self.maxChunks) chunks (raise the chunk size)",
                "\(networks) networks in \(chunks) chunks")
        }
        guard (2...100_000).contains(timesteps) else { throw fail("timesteps", "2…100000", timesteps) }
        guard schedule == "linear" || schedule == "cosine" else { throw fail("schedule", "linear or cosine", schedule) }
        let fromSamples = model == "samples" && estimator == "samples" && probe == "samples"
        guard Estimator(rawValue: estimator) != nil || fromSamples else {
            throw fail("estimator", "reference, importance or marginal", estimator)
        }
        guard InitScheme(rawValue: initScheme) != nil else {
            throw fail("initScheme", "reference, zero-init or symmetric", initScheme)
        }
        guard fromSamples || (try? Probe.parse(probe)) != nil else {
            throw fail("probe", "zero, gaussian:SIGMA, data:PATH or fixed:SEED", probe)
        }
        if let patchSize, !(1...4096).contains(patchSize) { throw fail("patchSize", "1…4096", patchSize) }
        if let interpolation, Interpolation(rawValue: interpolation) == nil {
            throw fail("interpolation", "nearest or area", interpolation)
        }
        guard configFields.allSatisfy({ $0.contains("=") }) else {
            throw fail("configFields", "path=value lines", "other")
        }
        if let factorization {
            try factorization.validate(dimension: dimension, file: file, field: "spec.factorization")
            guard fromSamples == false else { throw fail("factorization", "none for --samples", "a factorization") }
        }
        if let symmetry {
            guard !fromSamples else { throw fail("symmetry", "none for --samples", symmetry.rawValue) }
            guard symmetry.acts(height: shape[1], width: shape[2]) else {
                throw fail("symmetry", "a group acting on a \(shape[1])×\(shape[2]) grid", symmetry.rawValue)
            }
            if let f = factorization, f.layout != nil || f.positions != shape[1] * shape[2] {
                throw fail(
                    "symmetry", "none for a factorization whose K is not over the (H, W) grid", symmetry.rawValue)
            }
        }
        if let trained {
            guard (1...Self.maxTrainedInstances).contains(trained.count), trained.allSatisfy({ $0.contains("=") })
            else { throw fail("trained", "1…\(Self.maxTrainedInstances) name=sha256 lines", trained.count) }
            // Trained weights are neither iid across output features nor symmetric: the
            // output-layer marginal, the factored structure and the symmetry average all
            // assume the init distribution and would bias the estimate.
            guard estimator != Estimator.marginal.rawValue, factorization == nil, symmetry == nil, !fromSamples else {
                throw fail(
                    "trained", "the reference or importance estimator, full structure, no symmetry",
                    "\(estimator), \(factorization == nil ? "full" : "factored"), \(symmetry?.rawValue ?? "none")")
            }
        }
        if let timestepRange {
            guard timestepRange.count == 2, timestepRange[0] >= 0, timestepRange[0] <= timestepRange[1],
                timestepRange[1] < timesteps, !fromSamples
            else {
                throw fail("timestepRange", "[first, last] with 0 ≤ first ≤ last < \(timesteps)", timestepRange)
            }
        }
    }

    /// Makes this an estimate over the given trained instances (`name=sha256` each) instead of
    /// fresh initialisations. Refuses what only holds at initialisation: the output-layer
    /// marginal (it integrates over iid output weights a trained network does not have) and an
    /// explicit factored structure; `auto` structure and symmetry become the full, unaveraged
    /// estimate. The memory of the full estimate is checked again.
    public mutating func useTrained(_ instances: [String], structure: GeometryStructure) throws {
        guard (1...Self.maxTrainedInstances).contains(instances.count) else {
            throw SettingError(
                setting: "checkpoint", expected: "1…\(Self.maxTrainedInstances) trained networks",
                found: "\(instances.count)")
        }
        guard estimator != Estimator.marginal.rawValue else {
            throw SettingError(
                setting: "estimator",
                expected: "reference or importance for trained networks (the marginal integrates out an iid "
                    + "output layer, which only the init has: it would be biased)",
                found: "marginal")
        }
        guard structure != .factored else {
            throw SettingError(
                setting: "structure", expected: "auto or full for trained networks (their output layer is not iid)",
                found: "factored")
        }
        // A trained network has no exact grid symmetry: `--symmetry auto` means none here.
        factorization = nil
        symmetry = nil
        trained = instances
        try requireMemory(setting: "checkpoint")
    }

    /// Restricts t to `first…last` (the noise-level-resolved geometry G_F(t ∈ band)).
    public mutating func restrict(to band: TimestepBand) throws {
        guard band.last < timesteps else {
            throw SettingError(
                setting: "timesteps", expected: "a:b with 0 ≤ a ≤ b < T = \(timesteps)", found: band.description)
        }
        timestepRange = [band.first, band.last]
    }

    /// Peak bytes of the run and its finalisation, as one factor (the form
    /// `MemoryBudget.require` takes). With A the accumulator's
    /// side, M the diagonalised matrix's (A = M = D for a full estimate):
    /// * running: the 128-bit accumulator (16·A²) and at least one chunk sum in flight (8·A²;
    ///   up to two per thread run at once where the budget leaves room, see `GeometryRun.run`);
    /// * finalising: the accumulator, the three means (24·A²) and, for a marginal factored
    ///   estimate, the three kernels (24·M²), three eigendecompositions at once (24·M² each:
    ///   LAPACK's copy, its output, the reordered vectors), the float32 vecs.npy and its encoding
    ///   (8·D²) and geometry.npy where it is written (16·D²); with a symmetry, its average
    ///   and orbit flags beside the mean they come from (9·M²).
    /// Measured peak resident memory is 0.8–1.0× this (3×32×32 full: 1.12 GB for 1.28 GB
    /// estimated; factored 357 MB for 368 MB; 3×64×64 factored 2.9 GB for 3.5 GB).
    public var stateBytes: [Int] {
        let a = accumulatorDimension, d = dimension
        let m = factorization?.positions ?? d
        let kernels = factorization != nil && estimator == Estimator.marginal.rawValue ? 24 * m * m : 0
        let dense = factorization == nil || d <= Self.denseGeometryFileLimit
        let running = 24 * a * a
        let averaging = symmetry != nil ? 9 * m * m : 0
        let finalising = 40 * a * a + kernels + averaging + 72 * m * m + 8 * d * d + (dense ? 16 * d * d : 0)
        return [max(running, finalising)]
    }

    /// The peak memory of the run, estimated before anything is allocated, against the budget:
    /// refused with the estimate and advice when it does not fit.
    public func requireMemory(setting: String) throws {
        let what =
            factorization == nil
            ? "the geometry of D = \(dimension) (≈ 136·D² bytes; --structure factored needs less where it applies)"
            : "the factored geometry of D = \(dimension) (K \(factorization!.positions)², accumulator "
                + "\(accumulatorDimension)²; above the budget use the matrix-free top-k sketch, `sad geometry sketch`)"
        try MemoryBudget.require(stateBytes, for: what, setting: setting)
    }

    /// Peak bytes as a human-readable estimate (printed before a run starts).
    public var memoryEstimate: String { MemoryBudget.describe(MemoryBudget.product(stateBytes) ?? Int.max) }

    /// The largest D whose factored result also writes the expanded D×D geometry.npy (128 MiB);
    /// above it kernel.npy and layout.npy describe G.
    public static let denseGeometryFileLimit = 4096
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
            throw SettingError(setting: "shard", expected: "i/K with 0 ≤ i < K (e.g. 0/4)", found: text)
        }
        return Shard(index: i, count: k)
    }

    func chunkRange(total: Int) -> Range<Int> { (index * total / count)..<((index + 1) * total / count) }
    public var description: String { "\(index)/\(count)" }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }
}
