import Datasets
import Diffusion
import Foundation
import Formats
import Geometry
import Networks
import Reports
import Tensors

/// Geometry beyond initialisation: train the default U-Net on Gaussian data along the top SAD,
/// the bottom SAD, or spread over Fig. 6's SAD indices, and at log-spaced checkpoints measure
/// (a) the exact score error along every init SAD (``ScoreError``: the data are Gaussian, so
/// ε* is known), (b) the trained network's own geometry (``TrainedInstances``, data-probed)
/// and its top/bottom-k subspace overlap with the init SADs, (c) the DSM loss on fixed draws.
///
/// Units: (law, seed) with law `top` (rank-one along SAD 0), `bottom` (along SAD D − 1) or
/// `spread` (variance D/k on each of k SADs: one model gives the error at all of them — the
/// fast proxy for Fig. 6's rank-one sweep). Each checkpoint's measurements are written to the
/// unit directory as they finish, so a killed unit resumes without repeating them.
public struct DynamicsRecipe: Recipe {
    public let name = "dynamics"
    public let title = "Error along SADs and the geometry during training"
    public let profile: Profile
    /// Steps at which the network is measured (0 = the initialisation).
    public var checkpoints: [Int]
    public var training: TrainingSettings
    public var geometryNetworks: Int
    /// Score-error draws per noise band, and the number of log-spaced bands.
    public var scoreDraws: Int
    public var bands: Int
    /// Draws of the trained network's own geometry, and the subspace size k.
    public var trainedGeometryDraws: Int
    public var k: Int
    /// The SADs the `spread` law puts its variance on (Fig. 6's indices).
    public var spreadIndices: [Int]
    /// A Fig. 6 result.json whose nearest-U-Net MSW₂ ranking the proxy is compared with.
    public var fig6Result: String?

    public static let laws = ["top", "bottom", "spread"]

    /// One checkpoint's measurements.
    public struct Checkpoint: Codable, Equatable, Sendable {
        public var step: Int
        /// DSM loss mean((ε̂ − ε)²) on fixed draws (data stream 2, t uniform).
        public var loss: Double
        /// E‖ε̂ − ε*‖², bands pooled, ± SE; and per band.
        public var scoreError: ScoreError.Estimate
        public var bandErrors: [Double]
        /// E[(u_jᵀ(ε̂ − ε*))²] for every init SAD j (bands pooled), ± SE.
        public var perDirection: [Double]
        public var perDirectionStandardError: [Double]
        /// The trained network's data-probed geometry against the init SADs.
        public var topOverlap: Double
        public var bottomOverlap: Double
        public var topAnglesDegrees: [Double]
        public var bottomAnglesDegrees: [Double]
    }

    /// One unit: the law's SAD indices and every checkpoint.
    public struct Unit: Codable, Sendable {
        public var law: String
        public var dataDirections: [Int]
        public var checkpoints: [Checkpoint]
    }

    /// One law's results averaged over seeds.
    public struct LawResult: Codable, Sendable {
        public var law: String
        public var dataDirections: [Int]
        public var steps: [Int]
        public var loss: [Double]
        public var scoreError: [Double]
        /// Mean error per SAD bin (16 bins of D/16 consecutive SADs) per checkpoint (nil: a bin
        /// holding only the data's own SADs).
        public var binnedError: [[Double?]]
        public var topOverlap: [Double]
        public var bottomOverlap: [Double]
    }

    /// result.json: per law, the bins' eigenvalues, and the proxy comparison.
    public struct Summary: Codable, Sendable {
        public var laws: [LawResult]
        public var binEigenvalues: [Double]
        public var randomOverlap: Double
        /// Error of the `spread` model along each of `spreadIndices` at the last checkpoint.
        public var proxyError: [Double]
        public var spreadIndices: [Int]
        public var fig6MSW2: [Double]?
        /// SADs per bin (D/16).
        public var binWidth: Int
        /// Per bin, over every unit: log(error at the last checkpoint / error at step 0), and the
        /// error at the last checkpoint (nil: a bin holding only data directions).
        public var binDecayLogRatio: [Double?]
        public var binLateError: [Double?]
        /// The init eigenvalues of `spreadIndices` (those below D).
        public var proxyEigenvalues: [Double]

        // Written as snake case (fig6_msw2 …); the raw value makes the round trip through
        // JSONCoding's snake-case strategies exact for the acronym.
        enum CodingKeys: String, CodingKey {
            case laws, binEigenvalues, randomOverlap, proxyError, spreadIndices, binWidth, binDecayLogRatio
            case binLateError, proxyEigenvalues
            case fig6MSW2 = "fig6Msw2"
        }
    }

    public init(profile: Profile, options: RecipeOptions) {
        self.profile = profile
        fig6Result = options.data
        spreadIndices = [0, 31, 63, 95, 127, 159, 191, 223, 255]
        switch profile {
        case .quick:
            checkpoints = [0, 2]
            training = TrainingSettings(
                trainSamples: 64, steps: 2, batchSize: 16, evalSamples: 0, samplingSteps: 0,
                projectionsPerDimension: 0, fixedProjections: nil, seeds: 1)
            geometryNetworks = 128
            scoreDraws = 32
            bands = 2
            trainedGeometryDraws = 64
            k = 4
        case .cpu:
            // Sized at about 5 min per unit on one core (30 min for the six units).
            checkpoints = [0, 10, 30, 100, 300]
            training = TrainingSettings(
                trainSamples: 1024, steps: 300, batchSize: 64, evalSamples: 0, samplingSteps: 0,
                projectionsPerDimension: 0, fixedProjections: nil, seeds: 2)
            geometryNetworks = 8192
            scoreDraws = 512
            bands = 3
            trainedGeometryDraws = 1024
            k = 8
        case .paper:
            checkpoints = [0, 100, 300, 1000, 3000, 10_000, 30_000, 100_000]
            training = TrainingSettings(
                trainSamples: 10_000, steps: 100_000, batchSize: 500, evalSamples: 0, samplingSteps: 0,
                projectionsPerDimension: 0, fixedProjections: nil, seeds: 3)
            geometryNetworks = 100_000
            scoreDraws = 8192
            bands = 4
            trainedGeometryDraws = 16_384
            k = 16
        }
        if let seeds = options.seeds { training.seeds = seeds }
    }

    /// The stated settings (sweep.json, result.json, the report).
    public struct Settings: Codable, Equatable, Sendable {
        public var architecture: String
        public var laws: [String]
        public var checkpoints: [Int]
        public var trainSamples: Int
        public var batchSize: Int
        public var seeds: Int
        public var geometry: String
        public var scoreError: String
        public var bands: [String]
        public var trainedGeometry: String
        public var spreadSads: [Int]
        public var fig6Result: String?
    }

    public var settings: Settings {
        Settings(
            architecture: Architecture.iddpmNearest.name, laws: Self.laws, checkpoints: checkpoints,
            trainSamples: training.trainSamples, batchSize: training.batchSize, seeds: training.seeds,
            geometry: "marginal estimator, \(geometryNetworks) networks, zero probe (the init SADs)",
            scoreError: "exact ε* of the Gaussian law, \(scoreDraws) draws in each of \(bands) log-spaced bands",
            bands: (try? TimestepBand.logSpaced(count: bands, timesteps: 1000).map(\.description)) ?? [],
            trainedGeometry: "importance estimator over the one trained network, \(trainedGeometryDraws) draws, "
                + "probe: forward diffusion of its training data; top/bottom-\(k) overlap with the init SADs",
            spreadSads: spreadIndices, fig6Result: fig6Result)
    }

    func geometry(in run: RunDirectory) throws -> GeometrySource.Loaded {
        try GeometrySource.load(
            architecture: try Architecture.iddpmNearest.resolve(), label: "dynamics",
            method: .monteCarlo(estimator: .marginal, networks: geometryNetworks, probe: .zero, seed: 0),
            directory: run.file("prepared/geometry"), log: run.log)
    }

    public func prepare(in run: RunDirectory) throws { _ = try geometry(in: run) }

    public func units() throws -> [ExperimentUnit] {
        Self.laws.enumerated().flatMap { k, law in (0..<training.seeds).map { ExperimentUnit(law, k, seed: $0) } }
    }

    /// The law's SADs (descending order) for dimension d.
    func dataDirections(_ law: String, dimension d: Int) -> [Int] {
        switch law {
        case "top": return [0]
        case "bottom": return [d - 1]
        default: return spreadIndices.filter { $0 < d }
        }
    }

    public func run(_ unit: ExperimentUnit, in run: RunDirectory) throws -> Unit {
        let arch = try Architecture.iddpmNearest.resolve()
        let g = try geometry(in: run)
        let d = arch.dimension, shape = arch.shape
        let sads = dataDirections(unit.experiment, dimension: d)
        let rows = sads.map { Tensor(shape: shape, data: Array(g.vectors.data[($0 * d)..<(($0 + 1) * d)])) }
        let seed = UInt64(unit.seed)
        let variance = Float(d) / Float(rows.count)
        let train = try SyntheticData.gaussian(
            directions: rows, variance: variance, count: training.trainSamples, seed: seed, stream: 0)
        let law = try GaussianLaw(
            dimension: d, directions: rows.flatMap { $0.data.map(Double.init) },
            variances: Array(repeating: Double(variance), count: rows.count), source: "law")
        let dir = try run.makeDirectory("units/\(unit.id)")
        let trainPath = "\(dir)/train.npy"
        if !FileManager.default.fileExists(atPath: trainPath) { try Npy.write(NDArray(train), to: trainPath) }
        var trainer = try arch.trainer(data: train, batchSize: training.batchSize, seed: seed)
        let checkpoint = "\(dir)/checkpoint.safetensors"
        let bandList = try TimestepBand.logSpaced(count: bands, timesteps: arch.schedule.timesteps)
        let initDirections = g.vectors.data.map(Double.init)
        var measured: [Checkpoint] = []
        for step in checkpoints {
            let file = "\(dir)/step-\(step).json"
            if FileManager.default.fileExists(atPath: file) {
                measured.append(try JSONCoding.decode(Checkpoint.self, from: try JSONFile.read(file), file: file))
                continue
            }
            try trainer.run(to: step, checkpoint: checkpoint, policy: .everyFiveMinutes)
            guard trainer.step == step else {
                throw RecipeError("\(unit): the checkpoint is at step \(trainer.step), past \(step)")
            }
            let network = trainer.network
            let error = try ScoreError(network: network, law: law, schedule: arch.schedule, directions: initDirections)
            let perBand = try error.evaluate(bands: bandList, samples: scoreDraws, seed: seed &+ 1000)
            let pooled = ScoreError.pooled(perBand)
            let overlap = try trainedOverlap(network, train: trainPath, step: step, in: dir, run: run, seed: seed)
            let m = Checkpoint(
                step: step, loss: try dsmLoss(network, law: law, schedule: arch.schedule, seed: seed),
                scoreError: pooled.total, bandErrors: perBand.map(\.total.mean),
                perDirection: pooled.perDirection.map(\.mean),
                perDirectionStandardError: pooled.perDirection.map(\.standardError),
                topOverlap: overlap.topOverlap, bottomOverlap: overlap.bottomOverlap,
                topAnglesDegrees: overlap.topAngles, bottomAnglesDegrees: overlap.bottomAngles)
            try JSONFile.write(try JSONCoding.object(m), to: file)
            run.log(
                String(
                    format: "  %@ step %d: loss %.4f, score error %.4g, overlap top %.3f bottom %.3f", unit.id, step,
                    m.loss, m.scoreError.mean, m.topOverlap, m.bottomOverlap))
            measured.append(m)
        }
        try? FileManager.default.removeItem(atPath: checkpoint)
        return Unit(law: unit.experiment, dataDirections: sads, checkpoints: measured)
    }

    /// The DSM loss on 512 fixed draws of the law (data stream 2; t and noise from their own
    /// streams): a deterministic function of the network, unlike the running training loss.
    func dsmLoss(_ network: ScoreNetwork, law: GaussianLaw, schedule: NoiseSchedule, seed: UInt64) throws -> Double {
        let n = 512, d = law.dimension
        let x0 = Tensor(
            shape: [n] + network.architecture.inputShape,
            data: law.sample(count: n, seed: seed, stream: 2).map(Float.init))
        let u = RandomStream(seed: seed, purpose: .timestep, index: 2).uniforms(n)
        let t = u.map { min(schedule.timesteps - 1, Int(Double($0) * Double(schedule.timesteps))) }
        let noise = Tensor(
            shape: x0.shape, data: RandomStream(seed: seed, purpose: .noise, index: 2).normals(n * d))
        let batch = DSMBatch(schedule: schedule, x0: x0, noise: noise, timesteps: t)
        var total = 0.0
        for start in stride(from: 0, to: n, by: 128) {
            let m = min(128, n - start)
            let xt = Tensor(
                shape: [m] + network.architecture.inputShape,
                data: Array(batch.xt.data[(start * d)..<((start + m) * d)]))
            let eps = network.epsilon(xt, timesteps: t[start..<(start + m)].map(Float.init))
            for i in 0..<(m * d) {
                let e = Double(eps.data[i]) - Double(batch.target.data[start * d + i])
                total += e * e
            }
        }
        let loss = total / Double(n * d)
        try FiniteCheck.check([loss], tensor: "DSM loss", context: "dynamics")
        return loss
    }

    /// The trained network's own geometry (importance estimator, probe = forward diffusion of
    /// its training data) against the init SADs: top/bottom-k overlaps and principal angles.
    func trainedOverlap(
        _ network: ScoreNetwork, train: String, step: Int, in dir: String, run: RunDirectory, seed: UInt64
    ) throws -> GeometryComparison {
        guard let config = try Architecture.iddpmNearest.resolve().config else {
            throw RecipeError("dynamics: the U-Net config is missing")
        }
        let spec = try GeometryRun.makeSpec(
            config: config, configPath: "dynamics", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: .importance, probe: .data(path: train), seed: seed, networks: trainedGeometryDraws,
            chunkSize: 32, structure: .full, symmetry: .none)
        let instances = try TrainedInstances(named: [("step-\(step)", network)])
        let geometryDir = "\(dir)/geometry-step-\(step)"
        _ = try GeometryJob.trained(
            spec: spec, architecture: network.architecture, instances: instances, structure: .full
        ).run(in: geometryDir)
        let comparison = try GeometryComparison(geometryDir, run.file("prepared/geometry"), k: k)
        try? FileManager.default.removeItem(atPath: "\(geometryDir)/state.safetensors")
        try? FileManager.default.removeItem(atPath: "\(geometryDir)/geometry.npy")
        return comparison
    }

    /// Bins of `width` consecutive SADs: the mean of `values` over each bin, skipping `exclude`.
    static func binned(_ values: [Double], width: Int, exclude: Set<Int> = []) -> [Double] {
        stride(from: 0, to: values.count, by: width).map { start in
            let members = (start..<min(values.count, start + width)).filter { !exclude.contains($0) }
            return members.isEmpty ? .nan : members.map { values[$0] }.reduce(0, +) / Double(members.count)
        }
    }

    var testable: Bool { profile != .quick }

    /// Per law: loss, score error, binned error along the SADs and the overlaps per checkpoint
    /// (mean over seeds); per bin over every unit: the decay and the late error; the proxy.
    public func aggregate(_ results: [ExperimentUnit: Unit], in run: RunDirectory) throws -> Summary {
        let g = try geometry(in: run)
        let d = g.values.count, width = max(1, d / 16)
        let binLambda = Self.binned(g.values, width: width)
        var laws: [LawResult] = []
        var decayRatios: [[Double]] = [], lateErrors: [[Double]] = []
        for (index, law) in Self.laws.enumerated() {
            let units = (0..<training.seeds).compactMap { results[ExperimentUnit(law, index, seed: $0)] }
            guard let first = units.first else { continue }
            let exclude = Set(first.dataDirections)
            func mean(_ f: (Unit) -> Double) -> Double { units.map(f).reduce(0, +) / Double(units.count) }
            let steps = first.checkpoints.map(\.step)
            let binnedPerStep = steps.indices.map { c in
                (0..<((d + width - 1) / width)).map { b in
                    mean { Self.binned($0.checkpoints[c].perDirection, width: width, exclude: exclude)[b] }
                }
            }
            for u in units {
                let start = Self.binned(u.checkpoints.first!.perDirection, width: width, exclude: exclude)
                let end = Self.binned(u.checkpoints.last!.perDirection, width: width, exclude: exclude)
                decayRatios.append(zip(end, start).map { log($0 / $1) })
                lateErrors.append(end)
            }
            laws.append(
                LawResult(
                    law: law, dataDirections: first.dataDirections, steps: steps,
                    loss: steps.indices.map { c in mean { $0.checkpoints[c].loss } },
                    scoreError: steps.indices.map { c in mean { $0.checkpoints[c].scoreError.mean } },
                    binnedError: binnedPerStep.map { row in row.map { $0.isFinite ? $0 : nil } },
                    topOverlap: steps.indices.map { c in mean { $0.checkpoints[c].topOverlap } },
                    bottomOverlap: steps.indices.map { c in mean { $0.checkpoints[c].bottomOverlap } }))
        }
        // Per bin, the mean over every unit (bins holding only data directions are NaN and drop out).
        func columnMeans(_ rows: [[Double]]) -> [Double?] {
            guard let n = rows.first?.count else { return [] }
            return (0..<n).map { b in
                let v = rows.map { $0[b] }.filter(\.isFinite)
                return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
            }
        }
        // The proxy: one `spread` model's error along Fig. 6's indices, and Fig. 6's rank-one
        // MSW₂ there when a Fig. 6 result is given.
        let spreadUnits = (0..<training.seeds).compactMap { results[ExperimentUnit("spread", 2, seed: $0)] }
        let proxy = spreadIndices.filter { $0 < d }.map { j in
            spreadUnits.map { $0.checkpoints.last!.perDirection[j] }.reduce(0, +) / Double(max(1, spreadUnits.count))
        }
        return Summary(
            laws: laws, binEigenvalues: binLambda, randomOverlap: Double(k) / Double(d), proxyError: proxy,
            spreadIndices: spreadIndices,
            fig6MSW2: try fig6Result.map { try Self.fig6MSW2($0, indices: spreadIndices) }, binWidth: width,
            binDecayLogRatio: columnMeans(decayRatios), binLateError: columnMeans(lateErrors),
            proxyEigenvalues: spreadIndices.filter { $0 < d }.map { g.values[$0] })
    }

    /// Decay and late error against λ (Spearman over bins), the subspaces' persistence, the proxy.
    public func verdict(_ summary: Summary) throws -> [Claim] {
        let binLambda = summary.binEigenvalues, random = summary.randomOverlap, width = summary.binWidth
        let keep = binLambda.indices.filter {
            $0 < summary.binDecayLogRatio.count && summary.binDecayLogRatio[$0] != nil
                && $0 < summary.binLateError.count && summary.binLateError[$0] != nil
        }
        let decayRank = RankCorrelation(keep.map { binLambda[$0] }, keep.map { summary.binDecayLogRatio[$0]! })
        let lateRank = RankCorrelation(keep.map { binLambda[$0] }, keep.map { summary.binLateError[$0]! })
        var claims = [
            decayRank.positiveClaim(
                id: "dynamics.error-decays-slower-along-large-lambda",
                statement: "The score error along SADs with larger eigenvalues decays more slowly during training "
                    + "(Theorem 1's prediction carried to the deep network).",
                summary: "\(decayRank.summary) between the mean eigenvalue of \(keep.count) bins of \(width) "
                    + "SADs and log(error at step \(checkpoints.last!) / error at step 0) along them, averaged "
                    + "over every unit (the data's own SADs excluded).",
                testable: testable),
            lateRank.positiveClaim(
                id: "dynamics.late-error-grows-with-lambda",
                statement: "After training, the score error along a SAD grows with its eigenvalue.",
                summary: "\(lateRank.summary) between bin eigenvalue and the error at step "
                    + "\(checkpoints.last!) along the bin's SADs.",
                testable: testable),
        ]
        let laws = summary.laws
        for (which, pick) in [("top", \LawResult.topOverlap), ("bottom", \LawResult.bottomOverlap)] {
            let start = laws.map { $0[keyPath: pick].first! }.reduce(0, +) / Double(max(1, laws.count))
            let end = laws.map { $0[keyPath: pick].last! }.reduce(0, +) / Double(max(1, laws.count))
            let persists = end >= 0.5 * start && end >= 10 * random
            claims.append(
                Claim(
                    id: "dynamics.\(which)-subspace-persists",
                    statement: "The initial \(which)-\(k) SAD subspace persists in the trained network's geometry.",
                    holds: testable ? persists : nil,  // a threshold rule: no significance to be short of
                    evidence: Claim.Evidence(
                        summary: String(
                            format: "%@-%d overlap with the init SADs %.3f at step 0 → %.3f at step %d (mean over "
                                + "laws and seeds; a random %d-subspace: %.3f).", which, k, start, end,
                            checkpoints.last!, k, random),
                        test: "holds when the final overlap is ≥ half the step-0 overlap and ≥ 10× random",
                        values: ["start": start, "end": end, "random": random])))
        }
        let proxy = summary.proxyError
        let proxyLambda = RankCorrelation(summary.proxyEigenvalues, proxy)
        claims.append(
            proxyLambda.positiveClaim(
                id: "dynamics.proxy-error-grows-with-lambda",
                statement: "One model trained on variance spread over Fig. 6's SADs has larger error along the "
                    + "larger-eigenvalue ones (the proxy reproduces Fig. 6's ordering).",
                summary: "\(proxyLambda.summary) between λ and the spread model's error at step "
                    + "\(checkpoints.last!) along SADs \(spreadIndices.map(String.init).joined(separator: ", ")).",
                testable: testable))
        if let fig6Result, let msw = summary.fig6MSW2 {
            let agreement = RankCorrelation(proxy, msw)
            claims.append(
                agreement.positiveClaim(
                    id: "dynamics.proxy-agrees-with-fig6",
                    statement: "The proxy's ranking of the SADs agrees with Fig. 6's rank-one MSW₂ ranking.",
                    summary: "\(agreement.summary) between the proxy's error and Fig. 6's mean MSW₂ "
                        + "(\(fig6Result)) over the same SADs.",
                    testable: testable))
        }
        return claims
    }

    /// Per law: the error along SAD bins against the step, and the overlaps.
    public func figures(_ summary: Summary, claims: [Claim], in run: RunDirectory) throws -> RecipeFigures {
        RecipeFigures(
            sections: summary.laws.map {
                section($0, binLambda: summary.binEigenvalues, random: summary.randomOverlap)
            },
            headline: claims.map { "\($0.id): \($0.verdict) — \($0.evidence.summary)" })
    }

    /// The nearest U-Net's mean MSW₂ at `indices` from a Fig. 6 result.json.
    static func fig6MSW2(_ path: String, indices: [Int]) throws -> [Double] {
        let name = Architecture.iddpmNearest.name
        guard let arch = try SADSweepRecipe.Saved.read(path).architectures[name] else {
            throw FormatError(
                file: path, field: "settings.architectures", expected: "a Fig. 6 result with \(name)",
                found: "no \(name)")
        }
        return try indices.map { i in
            guard let row = arch.perIndex.first(where: { $0.index == i }), row.msw2.value.isFinite else {
                throw FormatError(
                    file: path, field: "\(name).per_index[index = \(i)].msw2.value", expected: "a finite number",
                    found: "none")
            }
            return row.msw2.value
        }
    }

    func section(_ r: LawResult, binLambda: [Double], random: Double) -> ReportSection {
        let grid: [[Double?]] = r.binnedError.map { row in row.map { $0.flatMap { $0 > 0 ? log10($0) : nil } } }
        let steps = r.steps.map { Double(max($0, 1)) }
        return ReportSection(
            title: "Law \(r.law) (data along SAD \(r.dataDirections.map(String.init).joined(separator: ", ")))",
            paragraphs: [
                "Rows: checkpoints \(r.steps.map(String.init).joined(separator: ", ")); columns: bins of SADs in "
                    + "descending eigenvalue (bin 0 = the largest λ). Colour: log₁₀ of the exact score error "
                    + "along "
                    + "the bin's SADs, mean over seeds."
            ],
            table: [["step", "DSM loss", "E‖ε̂ − ε*‖²", "top overlap", "bottom overlap"]]
                + r.steps.indices.map {
                    [
                        "\(r.steps[$0])", Statistics.format(r.loss[$0]), Statistics.format(r.scoreError[$0]),
                        Statistics.format(r.topOverlap[$0]), Statistics.format(r.bottomOverlap[$0]),
                    ]
                },
            figures: [
                .svg(
                    name: "dynamics-\(r.law)-error",
                    content: SVGChart.heatmap(
                        title: "\(r.law): log₁₀ error along SAD bins vs step", grid: grid,
                        colourLabel: "log₁₀ E[(uᵀ(ε̂ − ε*))²]"),
                    caption: "Error along SAD bins (columns, largest λ left) at each checkpoint (rows, top = "
                        + "step 0)."),
                .svg(
                    name: "dynamics-\(r.law)-overlap",
                    content: SVGChart.lines(
                        title: "\(r.law): subspace overlap with the init SADs", xLabel: "step (0 drawn at 1)",
                        yLabel: "overlap",
                        series: [
                            ChartSeries(name: "top-\(k)", x: steps, y: r.topOverlap),
                            ChartSeries(name: "bottom-\(k)", x: steps, y: r.bottomOverlap),
                            ChartSeries(name: "random", x: steps, y: steps.map { _ in random }),
                        ], logX: true),
                    caption: "Mean squared cosine of the principal angles between the trained network's "
                        + "data-probed geometry and the init SADs."),
            ])
    }
}
