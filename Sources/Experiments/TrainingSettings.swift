/// The train → sample → evaluate settings of a profile.
public struct TrainingSettings: Sendable, Equatable {
    public var trainSamples: Int
    public var steps: Int
    public var batchSize: Int
    /// Samples drawn from the model = size of the fresh reference set.
    public var evalSamples: Int
    /// Ancestral sampling steps (1000 = the reference; fewer = its strided integer times).
    public var samplingSteps: Int
    /// Projections = this × D (the paper: 64), or `fixedProjections` when set.
    public var projectionsPerDimension: Int
    public var fixedProjections: Int?
    public var seeds: Int

    public func projections(dimension d: Int) -> Int { fixedProjections ?? projectionsPerDimension * d }

    /// Settings for a profile; `paperSteps` is the paper's optimiser step count for the figure
    /// and `cpuSteps` its reduced count.
    public static func profile(
        _ p: Profile, paperSteps: Int, cpuSteps: Int = 300, paperBatch: Int = 1000, seeds: Int? = nil
    ) -> TrainingSettings {
        var s: TrainingSettings
        switch p {
        case .quick:
            s = TrainingSettings(
                trainSamples: 128, steps: 3, batchSize: 32, evalSamples: 64, samplingSteps: 4,
                projectionsPerDimension: 64, fixedProjections: 128, seeds: 1)
        case .cpu:
            s = TrainingSettings(
                trainSamples: 2048, steps: cpuSteps, batchSize: 128, evalSamples: 1000, samplingSteps: 50,
                projectionsPerDimension: 64, fixedProjections: nil, seeds: 3)
        case .paper:
            s = TrainingSettings(
                trainSamples: 10_000, steps: paperSteps, batchSize: paperBatch, evalSamples: 10_000,
                samplingSteps: 1000,
                projectionsPerDimension: 64, fixedProjections: nil, seeds: 5)
        }
        if let seeds { s.seeds = seeds }
        return s
    }

    /// The settings as a recipe states them (its `Settings`): the projection count as text,
    /// a fixed number or "64·D".
    public struct Record: Codable, Equatable, Sendable {
        public var trainSamples: Int
        public var steps: Int
        public var batchSize: Int
        public var evalSamples: Int
        public var samplingSteps: Int
        public var seeds: Int
        public var projections: String
    }

    public var record: Record {
        Record(
            trainSamples: trainSamples, steps: steps, batchSize: batchSize, evalSamples: evalSamples,
            samplingSteps: samplingSteps, seeds: seeds,
            projections: fixedProjections.map { "\($0)" } ?? "\(projectionsPerDimension)·D")
    }
}
