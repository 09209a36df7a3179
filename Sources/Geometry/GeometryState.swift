import Foundation
import Formats
import Tensors

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
        accumulator = GeometryAccumulator(dimension: spec.accumulatorDimension)
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
        try SafeTensors.write(
            arrays,
            metadata: [
                "spec": specJSON, "shard": shardJSON, "format": "sad-geometry-state-2",
                "identity": spec.identity.json,
            ], to: path)
    }

    public static func load(_ path: String) throws -> GeometryState {
        let file = try SafeTensors.read(path)
        guard file.metadata["format"] == "sad-geometry-state-2", let specText = file.metadata["spec"],
            let shardText = file.metadata["shard"]
        else {
            throw FormatError(
                file: path, field: "__metadata__", expected: "a sad geometry state (format sad-geometry-state-2)",
                found: "format \(file.metadata["format"].map { "'\($0.prefix(40))'" } ?? "none")")
        }
        let spec: GeometrySpec, shard: Shard
        do {
            spec = try JSONDecoder().decode(GeometrySpec.self, from: Data(specText.utf8))
        } catch {
            throw FormatError(
                file: path, field: "__metadata__.spec", expected: "a geometry spec", found: "undecodable (\(error))")
        }
        do {
            shard = try JSONDecoder().decode(Shard.self, from: Data(shardText.utf8))
        } catch {
            throw FormatError(
                file: path, field: "__metadata__.shard", expected: "a shard {index, count}", found: "undecodable")
        }
        // Every field is untrusted: validated before it sizes anything.
        try spec.validate(file: path)
        guard shard.count >= 1, shard.count <= 1_000_000, shard.index >= 0, shard.index < shard.count else {
            throw FormatError(
                file: path, field: "__metadata__.shard", expected: "i/K with 0 ≤ i < K ≤ 10⁶", found: "\(shard)")
        }
        let stored = try RunIdentity.parse(file.metadata["identity"], file: path, field: "__metadata__.identity")
        try spec.identity.require(
            matches: stored, file: path, action: "read the state (its spec and identity disagree)")
        try MemoryBudget.require(
            spec.stateBytes, for: "the geometry of D = \(spec.dimension)", file: path, field: "spec.shape")
        var state = GeometryState(spec: spec, shard: shard)
        state.accumulator = try GeometryAccumulator(dimension: spec.accumulatorDimension, file: file)
        let c = spec.chunks
        func doubles(_ key: String) throws -> [Double] {
            let a = try file.array(key)
            guard a.shape == [c], a.dtype == .float64 else {
                throw FormatError(
                    file: path, field: key, expected: "\(c) float64 values", found: "\(a.dtype.rawValue) \(a.shape)")
            }
            let values = a.doubles
            if let bad = values.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
                throw FormatError(
                    file: path, field: key, expected: "finite non-negative values",
                    found: "\(values[bad]) at chunk \(bad)")
            }
            return values
        }
        let doneArray = try file.array("chunks.done")
        guard doneArray.shape == [c], let flags = doneArray.integers, flags.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw FormatError(
                file: path, field: "chunks.done", expected: "\(c) flags of 0 or 1",
                found: "\(doneArray.dtype.rawValue) \(doneArray.shape)")
        }
        state.done = flags.map { $0 != 0 }
        state.chunkTrace = try doubles("chunks.trace")
        state.chunkWeight = try doubles("chunks.weight")
        state.chunkWeightSquared = try doubles("chunks.weight_squared")
        // The network counts must be those of the chunks marked done (per half: even, odd).
        var expected = [0, 0]
        for k in 0..<c where state.done[k] { expected[k % 2] += spec.networks(inChunk: k) }
        guard state.accumulator.networks == expected else {
            throw FormatError(
                file: path, field: "accumulator.networks",
                expected: "\(expected) (the networks of the chunks marked done)",
                found: "\(state.accumulator.networks)")
        }
        return state
    }

    /// Adds another shard's chunks (same spec, disjoint chunks).
    public mutating func merge(_ other: GeometryState, otherPath: String) throws {
        try spec.identity.require(
            matches: other.spec.identity, file: otherPath, action: "merge it with the first shard")
        for c in 0..<done.count where other.done[c] {
            guard !done[c] else {
                throw FormatError(
                    file: otherPath, field: "chunks.done", expected: "chunks disjoint from the other shards",
                    found: "chunk \(c) twice")
            }
            done[c] = true
            chunkTrace[c] = other.chunkTrace[c]
            chunkWeight[c] = other.chunkWeight[c]
            chunkWeightSquared[c] = other.chunkWeightSquared[c]
        }
        try accumulator.merge(other.accumulator, otherPath: otherPath)
        shard = .whole
    }
}
