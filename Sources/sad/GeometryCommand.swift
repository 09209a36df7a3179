import ArgumentParser
import Diffusion
import Experiments
import Formats
import Foundation
import Geometry
import Interop
import Networks
import Tensors

struct GeometryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geometry",
        abstract: "Estimate the average geometry G_F and its SADs (or merge shards).",
        subcommands: [Estimate.self, Merge.self, Sketch.self, DataMoment.self, Compare.self],
        defaultSubcommand: Estimate.self)

    struct Estimate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Estimate G_F = E[F Fᵀ] over fresh networks; write vecs.npy, vals.npy, geometry.npy, "
                + "manifest.json, diagnostics.json.",
            discussion: """
                A run is defined by its options; rerunning with the same --out resumes from its checkpoint \
                (state.safetensors) and ends with the identical result. With --shard i/K it computes a \
                deterministic slice; `sad geometry merge` sums the shards exactly.
                """)

        @OptionGroup var network: NetworkOptions
        @OptionGroup var onnx: ONNXOptions
        @OptionGroup var threadOptions: ThreadOptions

        @Option(
            help: ArgumentHelp(
                "F vectors computed elsewhere (.npy, (M, C, H, W) or (M, D), one row per network/probe draw): "
                    + "G = (1/M) Σ w_i F_i F_iᵀ through the same accumulator, shards and diagnostics.",
                valueName: "F.npy"))
        var samples: String?

        @Option(help: ArgumentHelp("Weights w_i for --samples (.npy, (M), ≥ 0; default 1).", valueName: "w.npy"))
        var weights: String?

        @Option(help: "Number of fresh networks (2…10⁹).")
        var networks = 10_000

        @Option(
            help:
                ArgumentHelp(
                    "reference (as geometry.py), importance (t ∝ 1/σ_t²), or marginal (importance + output layer "
                        + "integrated out).")
        )
        var estimator: Estimator = .marginal

        @Option(help: "Probe: zero, gaussian:SIGMA, data:PATH.npy, fixed:SEED.")
        var probe: Probe = .zero

        @Option(
            help: ArgumentHelp(
                "auto (the replicated block K where the output layer is iid across its features, else full), "
                    + "full (the D×D matrix), or factored (K, refused where it does not apply)."))
        var structure: GeometryStructure = .auto

        @Option(
            help: ArgumentHelp(
                "auto (average the estimate over the grid symmetry the architecture and probe have exactly: "
                    + "the transpose for square U-Nets, the flips too with area downsampling) or none."))
        var symmetry: GeometrySymmetryOption = .auto

        @Option(help: "Seed of every random stream (networks, timesteps, probes).")
        var seed: UInt64 = 0

        @Option(help: "Networks per chunk (the unit of work, sharding and split halves; 1…4096).")
        var chunkSize = 32

        @Option(help: "Shard i/K (0-based, 0 ≤ i < K ≤ 10⁶) of the run.")
        var shard: Shard = .whole

        @Option(help: "Seconds between checkpoints (0…10⁷).")
        var checkpointSeconds = 60.0

        @Flag(help: "Use the closed form where one exists (DiT at reference init, zero probe).")
        var analytic = false

        @Option(
            help: ArgumentHelp(
                "A trained network of --config (`sad train` checkpoint): G over the given networks instead of "
                    + "fresh initialisations; repeat for several (draw n uses network n mod K). Needs the "
                    + "reference or importance estimator.",
                valueName: "model.safetensors"))
        var checkpoint: [String] = []

        @Flag(help: "With --onnx: G over the files' own (e.g. trained) weights instead of the inferred init.")
        var exportedWeights = false

        @Option(
            help: ArgumentHelp(
                "Restrict t to a…b (0 ≤ a ≤ b < T): the geometry at those noise levels.",
                valueName: "a:b"))
        var timesteps: TimestepBand?

        @Option(
            help: ArgumentHelp(
                "K log-spaced noise bands over 0…T−1 (2…64): one geometry per band in DIR/band-<k>, how the "
                    + "spectrum and the top/bottom SADs move with t in bands.json and report.html."))
        var bands: Int?

        @Option(
            help: ArgumentHelp(
                "A finished geometry (e.g. the init's) to compare with when done: principal angles of the "
                    + "top/bottom-k subspaces, written to comparison.json.",
                valueName: "DIR"))
        var compareWith: String?

        @Option(
            help: ArgumentHelp("With --compare-with: a dataset whose α = tr(G M) is compared.", valueName: "X.npy"))
        var compareData: String?

        @Option(help: "With --compare-with or --bands: the subspace size k.")
        var compareK = 8

        @Option(help: "Output directory.")
        var out: String

        func validate() throws {
            try Check.range(networks, 2...Check.maxCount, "--networks")
            try Check.range(chunkSize, 1...4096, "--chunk-size")
            try Check.range(checkpointSeconds, 0...1e7, "--checkpoint-seconds")
            try Check.range(shard.count, 1...1_000_000, "--shard (K of i/K)")
            let sources = [network.config != nil, onnx.isGiven, samples != nil].filter { $0 }.count
            guard sources == 1 else { throw ValidationError("give exactly one of --config, --onnx and --samples") }
            guard weights == nil || samples != nil else { throw ValidationError("--weights needs --samples") }
            if onnx.isGiven {
                guard !analytic, network.interpolation == nil, network.patchSize == nil,
                    network.initScheme == .reference
                else {
                    throw ValidationError(
                        "--analytic, --interpolation, --patch-size and --init-scheme apply to --config networks only")
                }
            }
            try Check.range(checkpoint.count, 0...GeometrySpec.maxTrainedInstances, "--checkpoint (number of files)")
            guard checkpoint.isEmpty || (network.config != nil && !analytic) else {
                throw ValidationError(
                    "--checkpoint needs --config (and no --analytic); for --onnx use --exported-weights")
            }
            guard !exportedWeights || onnx.isGiven else { throw ValidationError("--exported-weights needs --onnx") }
            guard timesteps == nil || (samples == nil && !analytic) else {
                throw ValidationError("--timesteps applies to networks, not to --samples or --analytic")
            }
            try Check.range(compareK, 1...65_536, "--compare-k")
            if let bands {
                try Check.range(bands, 2...64, "--bands")
                guard timesteps == nil, shard == .whole, samples == nil, !analytic, compareWith == nil else {
                    throw ValidationError(
                        "--bands runs whole estimates of networks: not with --timesteps, --shard, --samples, "
                            + "--analytic or --compare-with")
                }
            }
            guard compareData == nil || compareWith != nil else {
                throw ValidationError("--compare-data needs --compare-with")
            }
        }

        func run() throws {
            try threadOptions.apply()
            if let samples {
                let rows = try SampleRows.load(samples, weights: weights)
                try estimate(
                    GeometryJob(
                        spec: try GeometryRun.makeSpec(samples: rows, chunkSize: chunkSize), source: .samples(rows)))
                return
            }
            if onnx.isGiven {
                let imported = try onnx.load()
                let spec = try GeometryRun.makeSpec(
                    architecture: imported, model: "onnx:" + URL(fileURLWithPath: imported.files[0]).lastPathComponent,
                    source: imported.files.joined(separator: ","), identityFields: imported.identityFields,
                    estimator: estimator, probe: probe, seed: seed, networks: networks, chunkSize: chunkSize,
                    structure: structure, symmetry: symmetry
                )
                .restricted(to: timesteps)
                guard exportedWeights else {
                    try estimate(GeometryJob(spec: spec, source: .architecture(imported)))
                    return
                }
                let own = try TrainedInstances(
                    named: (0..<imported.instanceCount).map {
                        (URL(fileURLWithPath: imported.files[$0]).lastPathComponent, imported.instance($0))
                    })
                try estimate(
                    try GeometryJob.trained(spec: spec, architecture: imported, instances: own, structure: structure))
                return
            }
            let config = try network.load()
            let scheme = network.initScheme
            if analytic {
                guard case .dit = config.model, scheme == .reference, probe == .zero else {
                    throw ValidationError(
                        "--analytic: a closed form exists only for the DiT at reference init with the zero probe")
                }
                try estimate(
                    try GeometryJob.closedForm(
                        config: config, configPath: network.configPath, interpolation: network.interpolation?.rawValue))
                return
            }
            let spec = try GeometryRun.makeSpec(
                config: config, configPath: network.configPath, interpolation: network.interpolation?.rawValue,
                patchSize: network.patchSize, scheme: scheme, estimator: estimator,
                probe: probe, seed: seed, networks: networks, chunkSize: chunkSize, structure: structure,
                symmetry: symmetry
            ).restricted(to: timesteps)
            guard !checkpoint.isEmpty else {
                try estimate(GeometryJob(spec: spec, source: .config(config)))
                return
            }
            let architecture = makeArchitecture(config)
            try estimate(
                try GeometryJob.trained(
                    spec: spec, architecture: architecture,
                    instances: try TrainedInstances.load(checkpoints: checkpoint, architecture: architecture),
                    structure: structure))
        }

        /// Runs (or resumes) the job's shard; prints the SADs' summary when it is the whole run.
        /// With --bands, one whole estimate per noise band and their comparison.
        func estimate(_ geometryJob: GeometryJob) throws {
            if let bands {
                var job = geometryJob
                job.checkpointInterval = checkpointSeconds
                let study = try NoiseBandStudy.run(
                    job, bands: try TimestepBand.logSpaced(count: bands, timesteps: job.spec.timesteps), k: compareK,
                    out: out, log: { print($0) })
                for b in study.bands {
                    print(
                        String(
                            format: "t %@: trace %.5g, λ_max %.5g, top-%d overlap with band 0 %.4f, bottom %.4f",
                            b.timesteps, b.trace, b.lambdaMax, compareK, b.topOverlapWithFirst,
                            b.bottomOverlapWithFirst))
                }
                print(study.note + "\nresult: \(out)/bands.json, report: \(out)/report.html")
                return
            }
            var job = geometryJob
            job.shard = shard
            job.checkpointInterval = checkpointSeconds
            job.recordsWallTime = true
            let spec = job.spec
            if job.exactGeometry == nil {
                let factored = spec.factorization.map { "factored, \($0.groups)-fold, K \($0.positions)²" } ?? "full"
                FileHandle.standardError.write(
                    "geometry D = \(spec.dimension) (\(factored)): peak memory ≈ \(spec.memoryEstimate)\n".data(
                        using: .utf8)!)
            }
            let progress = ProgressLine(label: "geometry \(spec.factorization == nil ? "" : "K ")\(shard)")
            job.progress = { done, total in progress.update(done, total) }
            let outcome = try job.run(in: out)
            progress.finish()
            if let sads = outcome.sads {
                print(sads.summary)
                if let compareWith {
                    let comparison = try GeometryComparison(out, compareWith, k: compareK, data: compareData)
                    try JSONFile.write(try JSONCoding.object(comparison.record), to: "\(out)/comparison.json")
                    print("against \(compareWith):\n" + comparison.summary)
                }
            } else {
                print(
                    "shard \(shard) done in \(String(format: "%.1f", outcome.seconds)) s: \(out)/state.safetensors "
                        + "(merge with `sad geometry merge`)")
            }
        }
    }

    struct Sketch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Top-k SADs without forming the matrix (images whose K does not fit in memory).",
            discussion: """
                Applies K̂ to k + oversampling vectors through the output layer's features: memory O((F + M)·ℓ) \
                instead of O(M²). --passes 1 is a single-pass Nyström sketch (expected trace-norm error bound \
                reported); more passes run subspace iteration with Rayleigh–Ritz and exact residuals. Needs a \
                factored marginal estimate (the reference U-Net, or an imported network whose output layer \
                qualifies). Writes vecs.npy, vals.npy, sketch.json, summary.txt.
                """)

        @OptionGroup var network: NetworkOptions
        @OptionGroup var onnx: ONNXOptions
        @OptionGroup var threadOptions: ThreadOptions

        @Option(help: "Number of fresh networks (2…10⁹).")
        var networks = 2048

        @Option(help: "SADs wanted (1…1024).")
        var k = 16

        @Option(help: "Extra sketch columns beyond k (2…1024).")
        var oversampling = 48

        @Option(help: "Passes over the networks (1: Nyström; ≥ 2: subspace iteration, exact residuals; ≤ 16).")
        var passes = 4

        @Option(help: "Probe: zero, gaussian:SIGMA, data:PATH.npy, fixed:SEED.")
        var probe: Probe = .zero

        @Option(
            help: ArgumentHelp(
                "auto (sketch the estimate averaged over the grid symmetry the architecture and probe have, as "
                    + "`sad geometry` does) or none."))
        var symmetry: GeometrySymmetryOption = .auto

        @Option(help: "Seed of every random stream (networks, timesteps, probes, the test matrix).")
        var seed: UInt64 = 0

        @Option(help: "Networks per chunk (1…4096).")
        var chunkSize = 16

        @Option(
            help: ArgumentHelp(
                "A dense `sad geometry` result of the same networks: print the top-k subspace overlap with it.",
                valueName: "DIR"))
        var compare: String?

        @Option(help: "Output directory.")
        var out: String

        func validate() throws {
            try Check.range(networks, 2...Check.maxCount, "--networks")
            try Check.range(k, 1...1024, "--k")
            try Check.range(oversampling, 2...1024, "--oversampling")
            try Check.range(passes, 1...16, "--passes")
            try Check.range(chunkSize, 1...4096, "--chunk-size")
            guard (network.config != nil) != onnx.isGiven else { throw ValidationError("give --config or --onnx") }
        }

        func run() throws {
            try threadOptions.apply()
            let spec: GeometrySpec
            let architecture: any ScoreArchitecture
            if onnx.isGiven {
                let imported = try onnx.load()
                architecture = imported
                spec = try GeometryRun.makeSpec(
                    architecture: imported, model: "onnx:" + URL(fileURLWithPath: imported.files[0]).lastPathComponent,
                    source: imported.files.joined(separator: ","), identityFields: imported.identityFields,
                    estimator: .marginal, probe: probe, seed: seed, networks: networks, chunkSize: chunkSize,
                    structure: .factored, symmetry: symmetry, dense: false)
            } else {
                let config = try network.load()
                architecture = makeArchitecture(config)
                spec = try GeometryRun.makeSpec(
                    config: config, configPath: network.configPath, interpolation: network.interpolation?.rawValue,
                    patchSize: network.patchSize, scheme: network.initScheme, estimator: .marginal, probe: probe,
                    seed: seed, networks: networks, chunkSize: chunkSize, structure: .factored, symmetry: symmetry,
                    dense: false)
            }
            var sketch = try GeometrySketch(
                spec: spec, architecture: architecture, k: k, oversampling: oversampling, passes: passes)
            let progress = ProgressLine(label: "sketch")
            var pass = 1
            sketch.progress = { done, total in
                progress.update(done + (pass - 1) * total, total * passes)
                if done == total { pass += 1 }
            }
            let start = Date()
            let result = try sketch.run()
            progress.finish()
            try result.write(
                to: out,
                extra: ["wall_seconds": String(format: "%.1f", Date().timeIntervalSince(start))])
            print(result.summary)
            if let compare {
                let c = try result.compare(denseDirectory: compare)
                print(
                    String(
                        format: "against the dense estimate in %@: top-%d subspace overlap %.6f, "
                            + "eigenvalue error ≤ %.2e·λ_k",
                        compare, k, c.overlap, c.eigenvalueError))
            }
        }
    }

    struct DataMoment: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "The uncentred second moment E[x xᵀ] of a dataset (.npy, (N, C, H, W)) and its eigenvectors.")

        @Argument(help: "Dataset .npy file (N, C, H, W); integer images are converted to floats as stored.")
        var path: String

        @Option(help: "Output directory (vecs.npy, vals.npy, geometry.npy).")
        var out: String

        func run() throws {
            let (images, m) = try DataGeometry.secondMoment(file: path)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            CompletionManifest.invalidate(out)
            let d = images.count / images.shape[0]
            let eig = try SymmetricEigen<Double>(symmetric: m, n: d)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try Npy.write(
                NDArray(shape: [d] + Array(images.shape.dropFirst()), float32: eig.vectors.map { Float($0) }),
                to: "\(out)/vecs.npy")
            try Npy.write(NDArray(shape: [d], float64: eig.values), to: "\(out)/vals.npy")
            try Npy.write(NDArray(shape: [d, d], float64: m), to: "\(out)/geometry.npy")
            try CompletionManifest.write(
                directory: out, files: ["vecs.npy", "vals.npy", "geometry.npy"],
                identity: SHA256.hex(try AtomicFile.read(path)))
            print(
                "data second moment of \(images.shape[0]) images, D = \(d): trace "
                    + String(format: "%.4g", eig.values.reduce(0, +)) + ", λ_max "
                    + String(format: "%.4g", eig.values[0])
            )
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare two finished estimates: trace and λ_max in SEs, top/bottom-k subspace overlap.")

        @Argument(help: "Two geometry output directories.")
        var directories: [String]

        @Option(help: "Subspace size for the top/bottom overlaps.")
        var k = 8

        @Option(help: ArgumentHelp("A dataset whose α = tr(G M) is compared under both.", valueName: "X.npy"))
        var data: String?

        @Option(help: "Write the comparison as JSON here.")
        var out: String?

        func validate() throws {
            guard directories.count == 2 else { throw ValidationError("give two geometry output directories") }
            try Check.range(k, 1...65_536, "--k")
        }

        func run() throws {
            let comparison = try GeometryComparison(directories[0], directories[1], k: k, data: data)
            if let out { try JSONFile.write(try JSONCoding.object(comparison.record), to: out) }
            print(comparison.summary)
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sum shard states exactly and write the SADs.")

        @Argument(help: "Shard output directories (each holding state.safetensors).")
        var directories: [String]

        @Option(help: "Output directory.")
        var out: String

        func run() throws {
            guard let first = directories.first else { throw ValidationError("give at least one shard directory") }
            var state = try GeometryState.load("\(first)/state.safetensors")
            for dir in directories.dropFirst() {
                try state.merge(
                    try GeometryState.load("\(dir)/state.safetensors"), otherPath: "\(dir)/state.safetensors")
            }
            state.shard = .whole
            let sads = try SADs(state: state)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try state.save(to: "\(out)/state.safetensors")
            try sads.write(to: out, extra: ["merged_from": directories.joined(separator: ", ")])
            print(sads.summary)
        }
    }
}
