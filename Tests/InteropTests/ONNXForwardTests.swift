import Formats
import Interop
import Networks
import Tensors
import TestSupport
import XCTest

let onnxFixtures = TestPaths.onnxFixtures

func fixture(_ name: String, seed: Int) -> String { "\(onnxFixtures)/\(name).seed\(seed).onnx" }

/// Every copied export run through the importer against PyTorch's outputs (Tests/Fixtures/onnx).
final class ONNXForwardTests: XCTestCase {
    func check(_ name: String, seeds: [Int], probeTolerance: Float) throws {
        let io = try SafeTensors.read("\(onnxFixtures)/\(name).io.safetensors")
        for k in seeds {
            let net = try ImportedNetwork.load(
                [fixture(name, seed: k)], options: ImportOptions(inferInitialisation: false))
            let p = net.instance(0).parameters
            for (prefix, output, tolerance) in [("input", "output", Float(1e-5)), ("probe", "probe", probeTolerance)] {
                let x = try io.tensor("\(prefix).x")
                let t = try io.array("\(prefix).t").doubles.map { Float($0) }
                let reference = try io.tensor("seed\(k).\(output).eps")
                let eps = try GradientMode.withoutGradients {
                    try net.evaluate(Variable(x), timesteps: t) { p[$0].map { Variable($0) } }.value
                }
                XCTAssertEqual(eps.shape, reference.shape)
                var worst: Float = 0
                for (a, b) in zip(eps.data, reference.data) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
                XCTAssertLessThanOrEqual(worst, tolerance, "\(name) seed \(k) \(prefix): max relative error \(worst)")
            }
        }
    }

    // The probe x = 0 of the reference U-Net: GroupNorm of constant maps amplifies rounding (the
    // export's Reshape → InstanceNormalization → Mul/Add; onnxruntime itself is 1.1e-2 off there).
    func testReferenceUNetNearest() throws { try check("iddpm-1x16x16-nearest", seeds: [0, 1], probeTolerance: 1e-2) }
    func testReferenceUNetArea() throws { try check("iddpm-1x16x16-area", seeds: [0], probeTolerance: 1e-2) }
    func testReferenceDiTEmbeddedTensors() throws { try check("dit-1x16x16-p2", seeds: [0, 1], probeTolerance: 3e-5) }
    func testDiffusersUNet() throws { try check("diffusers-unet2d-16", seeds: [0, 1], probeTolerance: 3e-5) }

    /// PyTorch's `squeeze()` exported without axes would drop the batch axis at batch 1; the
    /// importer fixes its axes at batch 2, so batch 1 gives the rows of a larger batch.
    func testBatchOneEqualsRowsOfLargerBatch() throws {
        let net = try ImportedNetwork.load(
            [fixture("iddpm-1x16x16-nearest", seed: 0)],
            options: ImportOptions(inferInitialisation: false))
        let io = try SafeTensors.read("\(onnxFixtures)/iddpm-1x16x16-nearest.io.safetensors")
        let x = try io.tensor("input.x"), p = net.instance(0).parameters
        let all = net.instance(0).epsilon(x, timesteps: [0, 3, 500, 999])
        let one = net.instance(0).epsilon(x.reshaped([4, 256]).sliceRows(2), timesteps: [500])
        // Equal up to the kernels' batch-dependent blocking (GEMM, Winograd at larger batches).
        XCTAssertLessThan(
            Tensor(shape: [256], data: Array(all.data[512..<768])).maxAbsDifference(
                Tensor(shape: [256], data: one.data)), 1e-5)
        _ = p
    }
}

extension Tensor {
    func sliceRows(_ i: Int) -> Tensor {
        let d = count / shape[0]
        return Tensor(shape: [1, 1, 16, 16], data: Array(data[(i * d)..<((i + 1) * d)]))
    }
}
