import Foundation
import TestSupport
import XCTest
@testable import Diffusion
import Formats
import Tensors

let fixtures = TestPaths.fixtures

final class NoiseScheduleTests: XCTestCase {
    /// Float32 buffers within the manifest's abs 1e-7 / rel 1e-6; Float64 originals to 1e-12.
    func testMatchesReferenceBuffers() throws {
        let file = try SafeTensors.read("\(fixtures)/schedule/tensors.safetensors")
        let linear = NoiseSchedule(kind: .linear, timesteps: 1000)
        let buffers: [(String, [Float])] = [
            ("betas", linear.betas), ("sqrt_betas", linear.sqrtBetas), ("alphas", linear.alphas),
            ("alphas_cumprod", linear.alphasCumprod), ("one_minus_alphas_cumprod", linear.oneMinusAlphasCumprod),
            ("sqrt_alphas", linear.sqrtAlphas), ("sqrt_alphas_cumprod", linear.sqrtAlphasCumprod),
            ("sqrt_one_minus_alphas_cumprod", linear.sqrtOneMinusAlphasCumprod),
        ]
        for (name, ours) in buffers {
            let ref = try file.tensor("linear." + name).data
            for i in 0..<1000 {
                XCTAssertLessThanOrEqual(abs(ours[i] - ref[i]), max(1e-7, 1e-6 * abs(ref[i])), "\(name)[\(i)]")
            }
        }
        let b64 = try file.array("linear.betas_f64").doubles, a64 = try file.array("linear.alphas_cumprod_f64").doubles
        for i in 0..<1000 {
            XCTAssertEqual(linear.betas64[i], b64[i], accuracy: 1e-12 * b64[i])
            XCTAssertEqual(linear.alphasCumprod64[i], a64[i], accuracy: 1e-12 * a64[i])
        }
        let cosine = NoiseSchedule(kind: .cosine, timesteps: 1000)
        for (name, ours) in [
            ("betas", cosine.betas), ("alphas_cumprod", cosine.alphasCumprod),
            ("sqrt_alphas_cumprod", cosine.sqrtAlphasCumprod),
            ("sqrt_one_minus_alphas_cumprod", cosine.sqrtOneMinusAlphasCumprod),
        ] {
            let ref = try file.tensor("cosine." + name).data
            for i in 0..<1000 {
                XCTAssertLessThanOrEqual(abs(ours[i] - ref[i]), max(1e-7, 1e-6 * abs(ref[i])), "cosine \(name)[\(i)]")
            }
        }
        XCTAssertEqual(linear.meanInverseVariance, 32.054, accuracy: 5e-4)
    }

    /// x_t and the rebuilt target of a reference DSM batch, abs 1e-6.
    func testDSMBatchMatchesReference() throws {
        let file = try SafeTensors.read("\(fixtures)/iddpm-1x16x16-nearest/tensors.safetensors")
        let batch = DSMBatch(
            schedule: NoiseSchedule(kind: .linear, timesteps: 1000), x0: try file.tensor("train.x0"),
            noise: try file.tensor("train.noise"), timesteps: try file.array("train.t").integers!)
        XCTAssertLessThanOrEqual(batch.xt.maxAbsDifference(try file.tensor("train.x_t")), 1e-6)
        XCTAssertLessThanOrEqual(batch.target.maxAbsDifference(try file.tensor("train.eps_target")), 1e-6)
    }
}
