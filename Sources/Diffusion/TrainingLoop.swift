import Foundation
import Formats

/// When a resumable training run writes its checkpoint: every `steps` optimiser steps, every
/// `seconds` of wall time, or both (whichever comes first), and always at the end.
public struct CheckpointPolicy: Sendable, Equatable {
    public var steps: Int?
    public var seconds: Double?

    public init(steps: Int? = nil, seconds: Double? = nil) {
        self.steps = steps
        self.seconds = seconds
    }

    /// The recipes' policy: their units are short, so a checkpoint every five minutes bounds
    /// the work a kill loses without slowing the run.
    public static let everyFiveMinutes = CheckpointPolicy(seconds: 300)
}

extension Trainer {
    /// The one resumable training loop (`sad train` and every recipe): restores `checkpoint`
    /// when it exists, runs optimiser steps until `steps`, saves by `policy` and once more at
    /// the end. Because each step's batch, timesteps and noise are functions of (seed, step),
    /// a run stopped anywhere and resumed ends bitwise where an uninterrupted run ends.
    /// - Parameters:
    ///   - checkpoint: the checkpoint path, or nil to train without one.
    ///   - onStep: called after each step with (step, loss, whether a checkpoint was written).
    /// - Returns: the step the run resumed at (0 for a fresh run).
    @discardableResult
    public mutating func run(
        to steps: Int, checkpoint: String?, policy: CheckpointPolicy,
        onStep: (_ step: Int, _ loss: Float, _ saved: Bool) -> Void = { _, _, _ in }
    ) throws -> Int {
        try SettingError.check(steps, in: 0...100_000_000, "steps")
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint) { try restore(from: checkpoint) }
        let resumedAt = step
        var lastSave = Date()
        while step < steps {
            let loss = try trainStep()
            var saved = false
            if let checkpoint {
                let due =
                    policy.steps.map { step % $0 == 0 } ?? false
                    || policy.seconds.map { Date().timeIntervalSince(lastSave) > $0 } ?? false
                if due || step == steps {
                    try save(to: checkpoint)
                    lastSave = Date()
                    saved = true
                }
            }
            onStep(step, loss, saved)
        }
        // A run with nothing left to do (steps = 0 from scratch) still leaves its checkpoint.
        if let checkpoint, !FileManager.default.fileExists(atPath: checkpoint) { try save(to: checkpoint) }
        return resumedAt
    }
}
