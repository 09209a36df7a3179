import ArgumentParser
import Experiments
import Geometry
import Networks

// Typed command-line values: parsing and checking live at the edge, so that `run()` only ever
// sees values of the library's own types. A value that does not parse is refused by
// swift-argument-parser with the option's name and the accepted values.

extension Profile: ExpressibleByArgument {}
extension Interpolation: ExpressibleByArgument {}
extension InitScheme: ExpressibleByArgument {}
extension Estimator: ExpressibleByArgument {}
extension GeometryStructure: ExpressibleByArgument {}
extension GeometrySymmetryOption: ExpressibleByArgument {}

extension Shard: ExpressibleByArgument {
    public init?(argument: String) {
        guard let s = try? Shard.parse(argument) else { return nil }
        self = s
    }
    public static var defaultCompletionKind: CompletionKind { .default }
}

extension Probe: ExpressibleByArgument {
    public init?(argument: String) {
        guard let p = try? Probe.parse(argument) else { return nil }
        self = p
    }
}

/// Where a run's work is emitted: a Slurm array or a GNU parallel line.
extension JobScript.Scheduler: ExpressibleByArgument {}

/// Range checks shared by the commands' `validate()`: each names the flag, the accepted range
/// and the value found, before any arithmetic uses the value.
enum Check {
    static func range(_ value: Int, _ range: ClosedRange<Int>, _ flag: String) throws {
        guard range.contains(value) else {
            throw ValidationError("\(flag): expected \(range.lowerBound)…\(range.upperBound), found \(value)")
        }
    }

    static func range(_ value: Double, _ range: ClosedRange<Double>, _ flag: String) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError(
                "\(flag): expected a finite number in \(range.lowerBound)…\(range.upperBound), found \(value)")
        }
    }

    /// The largest count of samples, networks or steps any command accepts (well above every
    /// profile; memory is checked separately against what the machine has).
    static let maxCount = 1_000_000_000
    static let maxBatch = 1_000_000
}

extension TimestepBand: ExpressibleByArgument {
    public init?(argument: String) {
        guard let b = try? TimestepBand.parse(argument) else { return nil }
        self = b
    }
}
