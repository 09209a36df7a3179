import Foundation
import TestSupport
import XCTest
@testable import Diffusion
import Formats
import Networks
import Tensors

/// `sad forward`'s computation on a fixture file used as checkpoint, inputs and batch.
final class ForwardEvaluationTests: XCTestCase {
    func testFixtureRoundTripThroughForwardEvaluation() throws {
        let fixture = Fixture("dit-1x16x16-p2-perturbed")
        let file = try fixture.tensors()
        let config = try fixture.config()
        let net = try ScoreNetwork(makeArchitecture(config), checkpoint: file)
        let results = Dictionary(
            try ForwardEvaluation.run(config: config, network: net, inputs: file, dsmBatch: file),
            uniquingKeysWith: { a, _ in a })
        let eps = try results["output.eps"]!.tensor(), ref = try file.tensor("output.eps")
        XCTAssertLessThanOrEqual(eps.maxAbsDifference(ref), 1e-5 * max(1, ref.data.map(abs).max()!))
        let loss = try results["output.loss"]!.tensor().data[0], refLoss = try file.tensor("output.loss").data[0]
        XCTAssertEqual(loss, refLoss, accuracy: 1e-5 * refLoss)
        XCTAssertLessThanOrEqual(
            try results["train.x_t"]!.tensor().maxAbsDifference(try file.tensor("train.x_t")), 1e-6)
        let gradKeys = results.keys.filter { $0.hasPrefix("grad.") }
        XCTAssertEqual(Set(gradKeys), Set(file.names.filter { $0.hasPrefix("grad.") }))
        let g = try results["grad.model.blocks.3.attn.qkv.weight"]!.tensor(),
            rg = try file.tensor("grad.model.blocks.3.attn.qkv.weight")
        XCTAssertLessThanOrEqual(g.maxAbsDifference(rg), 1e-4 * rg.data.map(abs).max()! + 1e-6)
    }

    func testBadInputsAreNamedErrors() throws {
        let file = try SafeTensors.read("\(fixtures)/dit-1x16x16-p2/tensors.safetensors")
        let config = try NetworkConfig.parse(
            Array(
                (#"{"shape": [1, 16, 16], "learning_rate": 1e-4, "grad_clip": 1.0, "diffuser": {"T": 1000, "#
                    + #""linear": true, "model": {"hidden_size": 48, "depth": 8, "num_heads": 4, "mlp_ratio": 2}}}"#)
                    .utf8))
        let net = try ScoreNetwork(makeArchitecture(config), checkpoint: file)
        let badT = SafeTensors.File(
            arrays: [
                ("input.x_t", NDArray(Tensor(zeros: [2, 1, 16, 16]))),
                ("input.t", NDArray(shape: [2], int64: [3, 1000])),
            ], path: "in.safetensors")
        XCTAssertThrowsError(try ForwardEvaluation.run(config: config, network: net, inputs: badT, dsmBatch: nil)) {
            XCTAssertTrue("\($0)".contains("input.t") && "\($0)".contains("1000"), "\($0)")
        }
        let badShape = SafeTensors.File(
            arrays: [
                ("input.x_t", NDArray(Tensor(zeros: [2, 3, 16, 16]))),
                ("input.t", NDArray(shape: [2], int64: [3, 4])),
            ], path: "in.safetensors")
        XCTAssertThrowsError(try ForwardEvaluation.run(config: config, network: net, inputs: badShape, dsmBatch: nil)) {
            XCTAssertTrue("\($0)".contains("input.x_t"), "\($0)")
        }
    }
}
