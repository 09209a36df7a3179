/// One independent piece of a sweep: (experiment, index, seed). Units share nothing but the
/// recipe's prepared inputs, so any subset can run anywhere and in any order.
public struct ExperimentUnit: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    /// The variant within the recipe (an architecture, a basis family, a transform …).
    public var experiment: String
    /// The index within the variant (a SAD index, a basis element …).
    public var index: Int
    public var seed: Int

    public init(_ experiment: String, _ index: Int, seed: Int) {
        self.experiment = experiment
        self.index = index
        self.seed = seed
    }

    /// File-name-safe identifier.
    public var id: String { "\(experiment)_\(index)_s\(seed)" }
    public var description: String { "\(experiment) #\(index) seed \(seed)" }

    public static func < (a: ExperimentUnit, b: ExperimentUnit) -> Bool {
        (a.experiment, a.index, a.seed) < (b.experiment, b.index, b.seed)
    }
}
