import Foundation
import Formats
import Tensors

/// How long a geometry estimate takes until its SADs are stable at the summary's indices
/// (0, D/8 − 1, …, D − 1: nine evenly spaced ranks): one accumulation whose network count
/// grows by √2, diagnosed after each step (the eigensolver stays out of the inner loop; its
/// time is counted, since a user pays for it too: the halves' full decompositions and the
/// total's eigenvalues, which is all the check needs). The reported time overshoots the true
/// first stable count by at most that factor.
public struct TimeToStable {
    /// One diagnosis: the first `networks` networks, wall seconds since the start (network
    /// passes, updates and every diagnosis so far), and the stable indices.
    public struct Step: Sendable {
        public var networks: Int
        public var seconds: Double
        public var stable: [Int]
        public var indices: [Int]
        public var summary: String
        public var allStable: Bool { stable.count == indices.count }
    }

    /// The run, with `spec.networks` the most networks it may use.
    public var run: GeometryRun
    /// Networks at the first diagnosis (then √2×, 2×, …, in whole chunks).
    public var startNetworks: Int
    /// Stop doubling once this many seconds have passed.
    public var timeLimit: Double

    public init(run: GeometryRun, startNetworks: Int, timeLimit: Double) {
        self.run = run
        self.startNetworks = startNetworks
        self.timeLimit = timeLimit
    }

    /// Runs until every checked index is stable, the time limit passes or the networks run
    /// out. The growing accumulation stays in memory (`statePath` names its directory for the
    /// run's temporaries; no checkpoint is written). Returns every diagnosis.
    public func measure(statePath: String, log: (Step) -> Void = { _ in }) throws -> [Step] {
        let spec = run.spec
        try? FileManager.default.removeItem(atPath: statePath)
        var steps: [Step] = []
        var chunks = max(2, (startNetworks + spec.chunkSize - 1) / spec.chunkSize)
        var done = 0
        var state: GeometryState? = nil
        let start = Date()
        while true {
            chunks = min(chunks, spec.chunks)
            var stage = run
            stage.checkpointInterval = .infinity
            stage.stopAfterChunks = chunks - done
            // The growing state stays in memory: no checkpoint write and read between steps.
            state = try stage.run(statePath: statePath, continuing: state, saveWhenDone: false)
            done = chunks
            // The check needs the halves' eigenvectors but only the total's eigenvalues.
            let prefix = try state!.prefix(chunks: chunks)
            let (diagnostics, values) = try SADs.diagnose(state: prefix)
            let indices = SADs.summaryIndices(dimension: spec.dimension)
            let step = Step(
                networks: min(spec.networks, chunks * spec.chunkSize), seconds: Date().timeIntervalSince(start),
                stable: indices.filter { diagnostics.isStable($0) }, indices: indices,
                summary: SADs.summary(prefix.spec, diagnostics, values: values))
            steps.append(step)
            log(step)
            if step.allStable || chunks == spec.chunks || step.seconds >= timeLimit { return steps }
            chunks = max(chunks + 1, Int((Double(chunks) * 2.0.squareRoot()).rounded()))
        }
    }
}

extension GeometryState {
    /// The state of the same run cut to its first `chunks` chunks (all done): the state of a
    /// run of that many chunks' networks, for diagnosing a growing accumulation.
    func prefix(chunks: Int) throws -> GeometryState {
        guard chunks >= 2, chunks <= spec.chunks, done.prefix(chunks).allSatisfy({ $0 }),
            !done.dropFirst(chunks).contains(true)
        else {
            throw FormatError(
                file: "state", field: "chunks.done", expected: "exactly the first \(chunks) chunks done",
                found: "\(done.filter { $0 }.count) done")
        }
        var cut = spec
        cut.networks = min(spec.networks, chunks * spec.chunkSize)
        var out = GeometryState(spec: cut, shard: .whole)
        out.accumulator = accumulator
        out.done = Array(done.prefix(chunks))
        out.chunkTrace = Array(chunkTrace.prefix(chunks))
        out.chunkWeight = Array(chunkWeight.prefix(chunks))
        out.chunkWeightSquared = Array(chunkWeightSquared.prefix(chunks))
        return out
    }
}
