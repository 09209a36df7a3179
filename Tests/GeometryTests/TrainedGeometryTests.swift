import Foundation
import XCTest
import TestSupport
@testable import Geometry
import Diffusion
import Formats
import Networks
import Tensors

/// The geometry of given (trained) networks and of a band of timesteps (issue 16).
final class TrainedGeometryTests: XCTestCase {
    func smallUNet() throws -> NetworkConfig {
        let json = """
            {"shape": [1, 8, 8], "learning_rate": 1e-3, "grad_clip": 1.0,
             "diffuser": {"T": 1000, "linear": true, "model": {"base_channels": 32,
             "num_res_attn_blocks": 1, "channel_mults": [1, 2], "is_attn": [false, false, false],
             "num_heads": 4, "dropout": 0.0, "use_scale_shift_norm": false}}}
            """
        return try NetworkConfig.parse(Array(json.utf8), file: "unet-test")
    }

    func spec(_ c: NetworkConfig, networks: Int = 24, estimator: Estimator = .importance) throws -> GeometrySpec {
        try GeometryRun.makeSpec(
            config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: estimator, probe: .gaussian(sigma: 0.5), seed: 5, networks: networks, chunkSize: 8,
            structure: .full, symmetry: .none)
    }

    /// Given the very networks the fresh estimate draws (instance k = network k), the
    /// trained-instance estimate is the same number, bit for bit: only the source differs.
    func testInstancesThatAreTheFreshNetworksGiveTheFreshGeometry() throws {
        let c = try smallUNet(), arch = makeArchitecture(c)
        let fresh = try GeometryJob(spec: try spec(c), source: .config(c)).run(in: try scratchDirectory("fresh"))
        let networks = (0..<24).map { ScoreNetwork(arch, seed: 5, networkIndex: UInt64($0)) }
        let instances = try TrainedInstances(named: networks.enumerated().map { ("net\($0.offset)", $0.element) })
        let job = try GeometryJob.trained(spec: try spec(c), architecture: arch, instances: instances, structure: .auto)
        XCTAssertEqual(job.spec.trained?.count, 24)
        XCTAssertNotEqual(job.spec.identity.hash, fresh.sads!.spec.identity.hash)
        let trained = try job.run(in: try scratchDirectory("trained"))
        XCTAssertEqual(trained.sads!.geometry, fresh.sads!.geometry)
        // Fewer instances than draws cycle: 2 instances over 24 draws differ from 24 networks.
        let two = try TrainedInstances(named: [("a", networks[0]), ("b", networks[1])])
        let cycled = try GeometryJob.trained(spec: try spec(c), architecture: arch, instances: two, structure: .auto)
            .run(in: try scratchDirectory("cycled"))
        XCTAssertNotEqual(cycled.sads!.geometry, fresh.sads!.geometry)
    }

    func testTrainedRefusesTheInitOnlyShortcuts() throws {
        let c = try smallUNet(), arch = makeArchitecture(c)
        let one = try TrainedInstances(named: [("a", ScoreNetwork(arch, seed: 1))])
        XCTAssertThrowsError(
            try GeometryJob.trained(
                spec: try spec(c, estimator: .marginal), architecture: arch, instances: one, structure: .auto)
        ) { XCTAssertTrue("\($0)".contains("marginal"), "\($0)") }
        XCTAssertThrowsError(
            try GeometryJob.trained(spec: try spec(c), architecture: arch, instances: one, structure: .factored)
        ) { XCTAssertTrue("\($0)".contains("factored"), "\($0)") }
        // A spec read back with a marginal trained estimate is refused by validate.
        var s = try spec(c)
        s.trained = ["a=0"]
        s.estimator = "marginal"
        XCTAssertThrowsError(try s.validate(file: "state")) { XCTAssertTrue("\($0)".contains("spec.trained")) }
        XCTAssertThrowsError(try TrainedInstances([]))
    }

    func testCheckpointsLoadWithTheirHash() throws {
        let c = try smallUNet(), arch = makeArchitecture(c)
        let net = ScoreNetwork(arch, seed: 3)
        let path = "\(try scratchDirectory("ckpt"))/model.safetensors"
        try SafeTensors.write(net.parameters.namedArrays(), to: path)
        let loaded = try TrainedInstances.load(checkpoints: [path], architecture: arch)
        XCTAssertEqual(loaded.instances[0].sha256, SHA256.hex(try AtomicFile.read(path)))
        XCTAssertEqual(loaded.identity, ["model.safetensors=\(loaded.instances[0].sha256)"])
        for spec in net.parameters.specs {
            XCTAssertEqual(
                loaded.networks[0].parameters.values[spec.name]!.data, net.parameters.values[spec.name]!.data)
        }
        let wide = try NetworkConfig.parse(
            Array(
                """
                {"shape": [1, 8, 8], "learning_rate": 1e-3, "grad_clip": 1.0,
                 "diffuser": {"T": 1000, "linear": true, "model": {"base_channels": 64,
                 "num_res_attn_blocks": 1, "channel_mults": [1, 2], "is_attn": [false, false, false],
                 "num_heads": 4, "dropout": 0.0, "use_scale_shift_norm": false}}}
                """.utf8), file: "wide")
        XCTAssertThrowsError(try TrainedInstances.load(checkpoints: [path], architecture: makeArchitecture(wide))) {
            XCTAssertTrue("\($0)".contains("shape"), "\($0)")
        }
    }

    /// Draws inside a band: reference uniform on it, importance ∝ 1/σ_t² on it with the
    /// band's own c; without a band, exactly the schedule's c_T as before bands existed.
    func testTimestepSamplerBands() throws {
        let schedule = NoiseSchedule(kind: .linear, timesteps: 1000)
        let whole = TimestepSampler(estimator: .importance, schedule: schedule)
        XCTAssertEqual(whole.meanInverseVariance, schedule.meanInverseVariance)
        let w = schedule.inverseVariances
        let band = 100...199
        let expectedC = w[band].reduce(0, +) / 100
        for estimator in [Estimator.reference, .importance] {
            let s = TimestepSampler(estimator: estimator, schedule: schedule, range: band)
            var mean = 0.0, expected = 0.0, second = 0.0
            let total = w[band].reduce(0, +)
            for t in band {
                let q = estimator == .reference ? 0.01 : w[t] / total
                expected += q * Double(t)
                second += q * Double(t * t)
            }
            let n = 4000
            for k in 0..<n {
                let (t, factor, weight) = s.draw(network: UInt64(k), seed: 9)
                XCTAssertTrue(band.contains(t))
                if estimator == .importance {
                    XCTAssertEqual(factor * factor, expectedC, accuracy: 1e-9 * expectedC)
                    XCTAssertEqual(weight, expectedC)
                } else {
                    XCTAssertEqual(weight, w[t])
                }
                mean += Double(t) / Double(n)
            }
            let se = ((second - expected * expected) / Double(n)).squareRoot()
            XCTAssertEqual(mean, expected, accuracy: 5 * se, "\(estimator)")
        }
    }

    func testLogSpacedBandsCoverTheSchedule() throws {
        XCTAssertEqual(
            try TimestepBand.logSpaced(count: 4, timesteps: 1000).map(\.description),
            ["0:4", "5:30", "31:176", "177:999"])
        for (k, t) in [(1, 2), (2, 2), (8, 10), (16, 1000), (64, 1000), (3, 100_000)] {
            let bands = try TimestepBand.logSpaced(count: k, timesteps: t)
            XCTAssertEqual(bands.count, k)
            XCTAssertEqual(bands.first?.first, 0)
            XCTAssertEqual(bands.last?.last, t - 1)
            for (a, b) in zip(bands, bands.dropFirst()) { XCTAssertEqual(a.last + 1, b.first, "\(k) \(t)") }
        }
        XCTAssertThrowsError(try TimestepBand.logSpaced(count: 11, timesteps: 10))
        XCTAssertThrowsError(try TimestepBand.parse("3"))
        XCTAssertThrowsError(try TimestepBand.parse("5:2"))
        XCTAssertThrowsError(try TimestepBand.parse("-1:2"))
        var s = try spec(try smallUNet())
        XCTAssertThrowsError(try s.restrict(to: try TimestepBand(first: 0, last: 1000)))
        try s.restrict(to: try TimestepBand(first: 3, last: 7))
        XCTAssertEqual(s.timestepRange, [3, 7])
        XCTAssertTrue(s.identity.json.contains("3:7"))
    }

    /// A geometry against itself: angles 0, overlaps 1, the same α; against a rotated copy
    /// the angles are those of the rotation.
    func testComparisonAnglesAndAlpha() throws {
        let c = try smallUNet()
        let dir = try scratchDirectory("cmp")
        _ = try GeometryJob(spec: try spec(c), source: .config(c)).run(in: dir)
        let data = "\(dir)/x.npy"
        let x = (0..<(5 * 64)).map { Float(sin(Double($0))) }
        try Npy.write(NDArray(shape: [5, 1, 8, 8], float32: x), to: data)
        let same = try GeometryComparison(dir, dir, k: 4, data: data)
        // vecs.npy is Float32: cos² is exact to ~1e-7, so an angle to ~0.02°.
        XCTAssertEqual(same.topOverlap, 1, accuracy: 1e-6)
        XCTAssertTrue(same.topAngles.allSatisfy { $0 < 0.05 }, "\(same.topAngles)")
        XCTAssertTrue(same.bottomAngles.allSatisfy { $0 < 0.05 }, "\(same.bottomAngles)")
        XCTAssertEqual(same.alpha!.0, same.alpha!.1)
        XCTAssertGreaterThan(same.alpha!.0, 0)
        XCTAssertEqual(same.record.topAnglesDegrees.count, 4)
        XCTAssertTrue(same.summary.contains("principal angles"))
    }
}
