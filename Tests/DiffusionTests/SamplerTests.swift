import Foundation
import TestSupport
import XCTest
@testable import Diffusion
import Formats
import Networks
import Tensors

final class SamplerTests: XCTestCase {
    func testTimesAndCoefficientsMatchReference() throws {
        let f = try SafeTensors.read("\(fixtures)/schedule/tensors.safetensors")
        let schedule = NoiseSchedule(kind: .linear, timesteps: 1000)
        for steps in [1000, 250, 100, 50, 10, 2] {
            XCTAssertEqual(
                AncestralSampler.times(timesteps: 1000, steps: steps), try f.array("ddim.times_\(steps)").integers!,
                "steps \(steps)")
        }
        for steps in [1000, 10] {
            let sampler = AncestralSampler(schedule: schedule, steps: steps)
            let std = try f.tensor("ddim.eta1.std_\(steps)").data,
                coef = try f.tensor("ddim.eta1.coef_eps_\(steps)").data
            let prev = try f.tensor("ddim.eta1.sqrt_alpha_cumprod_prev_\(steps)").data
            for i in 0..<(steps - 1) {
                let c = sampler.coefficients(i)
                XCTAssertEqual(c.std, std[i], accuracy: max(1e-7, 1e-6 * std[i]), "std[\(i)] of \(steps)")
                XCTAssertEqual(c.coefEps, coef[i], accuracy: max(1e-7, 1e-6 * coef[i]), "coef[\(i)] of \(steps)")
                XCTAssertEqual(c.sqrtAlphaPrev, prev[i], accuracy: max(1e-7, 1e-6 * prev[i]))
            }
        }
    }

    /// The recorded 10-step run: feed the reference's initial state and noise.
    func testTenStepSamplingRunMatchesReference() throws {
        let fixture = Fixture("sample-iddpm-1x16x16-nearest-steps10")
        let f = try fixture.tensors()
        let config = try fixture.config()
        let net = try ScoreNetwork(makeArchitecture(config), checkpoint: f)
        let sampler = AncestralSampler(schedule: NoiseSchedule(kind: .linear, timesteps: 1000), steps: 10)
        XCTAssertEqual(sampler.times, try f.array("sample.times").integers!)
        let noise = try f.tensor("sample.noise")  // (9, 4, 1, 16, 16)
        let per = noise.count / 9
        let out = sampler.sample(network: net, initial: try f.tensor("sample.init")) { i in
            Tensor(shape: [4, 1, 16, 16], data: Array(noise.data[(i * per)..<((i + 1) * per)]))
        }
        let ref = try f.tensor("sample.out")
        XCTAssertLessThanOrEqual(out.maxAbsDifference(ref), 1e-4 * max(1, ref.data.map(abs).max()!))
    }

    /// Our own noise streams: a sample does not depend on the batch it is drawn in (up to
    /// rounding: BLAS may round a row differently in a GEMM of another height).
    func testSamplesIndependentOfBatching() throws {
        let config = try NetworkConfig.parse(
            Array(
                (#"{"shape": [1, 4, 4], "learning_rate": 1e-3, "grad_clip": 1, "diffuser": {"T": 1000, "#
                    + #""linear": true, "model": {"type": "mlp", "hidden": [16], "time_embedding_dim": 8}}}"#)
                    .utf8))
        let net = ScoreNetwork(makeArchitecture(config), seed: 4)
        let sampler = AncestralSampler(schedule: NoiseSchedule(kind: .linear, timesteps: 1000), steps: 20)
        let a = try sampler.sample(network: net, count: 7, seed: 9, batchSize: 7)
        let b = try sampler.sample(network: net, count: 7, seed: 9, batchSize: 3)
        XCTAssertLessThanOrEqual(a.maxAbsDifference(b), 1e-4 * a.data.map(abs).max()!)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        XCTAssertEqual(
            try sampler.sample(network: net, count: 7, seed: 9, batchSize: 3), b, "bitwise for any thread count")
    }
}
