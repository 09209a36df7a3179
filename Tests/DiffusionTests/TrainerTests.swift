import Foundation
import TestSupport
import XCTest
@testable import Diffusion
import Formats
import Networks
import Tensors

final class TrainerTests: XCTestCase {
    /// One clipped Adam step on the reference batch: the clipping uses the reference's total
    /// norm, and the first Adam step equals PyTorch's closed form lr·m̂/(√v̂ + eps).
    func testClippedAdamStepOnReferenceBatch() throws {
        let fixture = Fixture("iddpm-1x16x16-nearest")
        let f = try fixture.tensors()
        let manifest = try fixture.manifest()
        let config = try fixture.config()
        let net = try ScoreNetwork(makeArchitecture(config), checkpoint: f)
        var (_, _, grads) = net.lossAndGradients(
            xt: try f.tensor("train.x_t"), timesteps: try f.array("train.t").integers!.map(Float.init),
            target: try f.tensor("train.eps_target"))
        let norm = Adam.clipGradients(&grads, maxNorm: 1)
        let refNorm = Float(((manifest["train"] as! [String: Any])["grad_total_norm"] as! NSNumber).doubleValue)
        XCTAssertEqual(norm, refNorm, accuracy: 1e-4 * refNorm)
        var clippedNorm = 0.0
        for g in grads.values { for x in g.data { clippedNorm += Double(x) * Double(x) } }
        XCTAssertEqual(clippedNorm.squareRoot(), 1, accuracy: 1e-5)
        var adam = Adam(learningRate: 1e-4)
        var values = net.parameters.values
        adam.update(&values, gradients: grads)
        let name = "model.out.2.weight"
        for i in 0..<5 {
            let g = grads[name]!.data[i]
            // Step 1: m̂ = g, v̂ = g² (bias corrections in Float32 as PyTorch).
            let mHat = (0.1 * g) / 0.1, vHat = (Float(0.001) * g * g).squareRoot() / Float(0.001).squareRoot()
            let expected = net.parameters[name]!.data[i] - 1e-4 * mHat / (vHat + 1e-8)
            XCTAssertEqual(values[name]!.data[i], expected, accuracy: 1e-9)
        }
    }

    func smallSetup() throws -> (NetworkConfig, Tensor) {
        let config = try NetworkConfig.parse(
            Array(
                (#"{"shape": [1, 4, 4], "learning_rate": 1e-2, "grad_clip": 1, "diffuser": {"T": 1000, "#
                    + #""linear": true, "model": {"type": "mlp", "hidden": [32, 32], "time_embedding_dim": 8}}}"#)
                    .utf8))
        var v = Tensor(zeros: [1, 4, 4]); v.data[5] = 1
        let z = RandomStream(seed: 1, purpose: .data).normals(64)
        var data = Tensor(zeros: [64, 1, 4, 4])
        for j in 0..<64 { data.data[j * 16 + 5] = 4 * z[j] }
        return (config, data)
    }

    /// Killed mid-run and resumed from its checkpoint: identical parameters and losses.
    func testResumeIsIdentical() throws {
        let (config, data) = try smallSetup()
        let arch = makeArchitecture(config)
        var straight = try Trainer(
            network: ScoreNetwork(arch, seed: 2), data: data, config: config, batchSize: 24, seed: 5)
        for _ in 0..<12 { try straight.trainStep() }
        var first = try Trainer(
            network: ScoreNetwork(arch, seed: 2), data: data, config: config, batchSize: 24, seed: 5)
        for _ in 0..<5 { try first.trainStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sad-train-\(UUID().uuidString).safetensors"
        ).path
        try first.save(to: path)
        var resumed = try Trainer(
            network: ScoreNetwork(arch, seed: 99), data: data, config: config, batchSize: 24, seed: 5)
        try resumed.restore(from: path)
        XCTAssertEqual(resumed.step, 5)
        for _ in 0..<7 { try resumed.trainStep() }
        XCTAssertEqual(resumed.network.parameters.values, straight.network.parameters.values)
        XCTAssertEqual(resumed.losses, straight.losses)
        var wrong = try Trainer(
            network: ScoreNetwork(arch, seed: 2), data: data, config: config, batchSize: 25, seed: 5)
        XCTAssertThrowsError(try wrong.restore(from: path))
    }

    /// Loss decreases on rank-one data, and a diverging run stops with the step named.
    func testLossDecreasesAndDivergenceIsReported() throws {
        let (config, data) = try smallSetup()
        var trainer = try Trainer(
            network: ScoreNetwork(makeArchitecture(config), seed: 3), data: data, config: config, batchSize: 32, seed: 1
        )
        for _ in 0..<150 { try trainer.trainStep() }
        let early = trainer.losses.prefix(10).reduce(0, +) / 10, late = trainer.losses.suffix(10).reduce(0, +) / 10
        XCTAssertLessThan(late, 0.8 * early, "losses \(early) → \(late)")
        var bad = data
        bad.data[3] = .nan
        XCTAssertThrowsError(
            try Trainer(
                network: ScoreNetwork(makeArchitecture(config), seed: 3), data: bad, config: config, batchSize: 8,
                seed: 1))
        var huge = data
        for i in 0..<huge.count { huge.data[i] *= 1e30 }
        var diverging = try Trainer(
            network: ScoreNetwork(makeArchitecture(config), seed: 3), data: huge, config: config, batchSize: 8, seed: 1)
        XCTAssertThrowsError(try { for _ in 0..<3 { try diverging.trainStep() } }()) {
            XCTAssertTrue("\($0)".contains("step 0"), "\($0)")
        }
    }

    /// The micro-batch cut is part of a training run's identity when it applies to a full
    /// batch: a checkpoint made with the default cut (64 samples at batch 128) is refused by a
    /// whole-batch run, naming the field; a run whose batch fits in one micro-batch records none.
    func testTheMicroBatchCutIsPartOfTheIdentity() throws {
        let config = try NetworkConfig.load("\(TestPaths.configs)/1x16x16-iddpm.json")
        let arch = makeArchitecture(config)
        let data = Tensor(shape: [128, 1, 16, 16], data: RandomStream(seed: 1, purpose: .data).normals(128 * 256))
        func trainer(_ batch: Int, _ cut: MicroBatching?) throws -> Trainer {
            try Trainer(
                network: ScoreNetwork(arch, seed: 2), data: data, config: config, batchSize: batch, seed: 5,
                microBatching: cut)
        }
        func cutField(_ t: Trainer) -> String? { t.identity.fields.first { $0.0 == "micro_batch" }?.1 }
        XCTAssertEqual(cutField(try trainer(128, nil)), "64")
        XCTAssertEqual(cutField(try trainer(128, MicroBatching(samples: 32))), "32")
        XCTAssertNil(cutField(try trainer(128, .wholeBatch)))
        XCTAssertNil(cutField(try trainer(64, nil)))
        var micro = try trainer(128, nil)
        try micro.trainStep()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sad-train-\(UUID().uuidString).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try micro.save(to: path)
        var same = try trainer(128, nil)
        try same.restore(from: path)
        XCTAssertEqual(same.network.parameters.values, micro.network.parameters.values)
        var whole = try trainer(128, .wholeBatch)
        XCTAssertThrowsError(try whole.restore(from: path)) { XCTAssertTrue("\($0)".contains("micro_batch"), "\($0)") }
    }
}
