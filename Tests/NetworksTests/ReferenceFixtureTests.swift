import Foundation
import TestSupport
import XCTest
@testable import Networks
import Formats
import Tensors

let fixtureRoot = TestPaths.fixtures

/// A reference fixture folder: manifest.json + tensors.safetensors (see Tests/Fixtures/README.md).
struct Fixture {
    let name: String
    let manifest: [String: Any]
    let tensors: SafeTensors.File

    init(_ name: String) throws {
        self.name = name
        let dir = "\(fixtureRoot)/\(name)"
        manifest =
            try JSONSerialization.jsonObject(with: Data(try AtomicFile.read("\(dir)/manifest.json"))) as! [String: Any]
        tensors = try SafeTensors.read("\(dir)/tensors.safetensors")
    }

    /// The config exactly as the reference mutated it, through our parser.
    func config() throws -> NetworkConfig {
        let data = try JSONSerialization.data(withJSONObject: manifest["config_after_mutation"]!)
        return try NetworkConfig.parse(Array(data), file: "\(name)/manifest.json")
    }

    func network() throws -> ScoreNetwork {
        try ScoreNetwork(makeArchitecture(try config()), checkpoint: tensors)
    }

    func tensor(_ key: String) throws -> Tensor { try tensors.tensor(key) }
    func ints(_ key: String) throws -> [Int] { try tensors.array(key).integers! }
}

/// max|a − b| ≤ tolerance, with a message giving the ratio.
func assertClose(
    _ a: Tensor, _ b: Tensor, tolerance: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    guard a.shape == b.shape else { return }
    let err = a.maxAbsDifference(b)
    XCTAssertLessThanOrEqual(
        err, tolerance, "\(what): max|a−b| = \(err), tolerance \(tolerance)", file: file, line: line)
}

func maxAbs(_ t: Tensor) -> Float { t.data.reduce(0) { max($0, abs($1)) } }

final class ReferenceFixtureTests: XCTestCase {
    /// Outputs, geometry probes, DSM loss and every parameter gradient, with the manifests'
    /// tolerances.
    func check(_ name: String, training: Bool = true, probes: Bool = true) throws {
        let fx = try Fixture(name)
        let net = try fx.network()
        XCTAssertEqual(net.parameters.totalCount, fx.manifest["num_parameters"] as? Int, "\(name) parameter count")
        XCTAssertEqual(
            net.parameters.trainableCount, fx.manifest["num_trainable_parameters"] as? Int, "\(name) trainable count")

        // Forward: max|a−b| ≤ 1e-5·max(1, max|ref|).
        let x = try fx.tensor("input.x_t")
        let t = try fx.ints("input.t").map(Float.init)
        let eps = net.epsilon(x, timesteps: t)
        let ref = try fx.tensor("output.eps")
        assertClose(eps, ref, tolerance: 1e-5 * max(1, maxAbs(ref)), "\(name) output.eps")

        if probes {
            let probeT = try fx.ints("probe.t")
            let sigma = try fx.tensor("sqrt_one_minus_alphas_cumprod")
            let refEps = try fx.tensor("probe.eps"), refF = try fx.tensor("probe.F")
            let d = refEps.count / probeT.count
            for (i, ti) in probeT.enumerated() {
                let zero = Tensor(zeros: [1] + net.architecture.inputShape)
                let e = net.epsilon(zero, timesteps: [Float(ti)])
                let r = Tensor(shape: e.shape, data: Array(refEps.data[(i * d)..<((i + 1) * d)]))
                // At x = 0 the U-Net's first maps are exactly constant and GroupNorm amplifies
                // rounding by 1/√eps ≈ 316 twice (an input change of 1e-9 moves ε̂ by 3e-4): the
                // reference's own ε̂(0, t) varies by ~5e-5 relative with t through rounding alone
                // (fixture README, finding 1). We therefore hold probe.eps to the manifest's
                // probe.F criterion, 1e-4 relative, rather than the 1e-5 of generic inputs; we
                // measure 2–5e-5.
                assertClose(e, r, tolerance: 1e-4 * maxAbs(refEps), "\(name) probe.eps t=\(ti)")
                let f = Tensor(shape: e.shape, data: e.data.map { $0 / sigma.data[ti] })
                let rf = Tensor(shape: e.shape, data: Array(refF.data[(i * d)..<((i + 1) * d)]))
                assertClose(f, rf, tolerance: 1e-4 * maxAbs(refF), "\(name) probe.F t=\(ti)")
            }
        }

        if training {
            let xt = try fx.tensor("train.x_t"), target = try fx.tensor("train.eps_target")
            let tt = try fx.ints("train.t").map(Float.init)
            let (loss, prediction, grads) = net.lossAndGradients(xt: xt, timesteps: tt, target: target)
            let refLoss = try fx.tensor("output.loss").data[0]
            XCTAssertEqual(loss, refLoss, accuracy: 1e-5 * abs(refLoss), "\(name) loss")
            let refPred = try fx.tensor("train.eps_pred")
            assertClose(prediction, refPred, tolerance: 1e-5 * max(1, maxAbs(refPred)), "\(name) train.eps_pred")
            let train = fx.manifest["train"] as! [String: Any]
            let globalMax = Float((train["global_max_abs_grad"] as! NSNumber).doubleValue)
            var checked = 0
            for spec in net.parameters.specs where spec.trainable {
                let refGrad = try fx.tensor("grad." + spec.name)
                let g = grads[spec.name]!
                assertClose(
                    g, refGrad, tolerance: 1e-4 * maxAbs(refGrad) + 1e-6 * globalMax, "\(name) grad.\(spec.name)")
                checked += 1
            }
            XCTAssertEqual(
                checked, fx.tensors.names.filter { $0.hasPrefix("grad.") }.count, "\(name): every gradient compared")
        }
    }

    func testUNet1x16x16Nearest() throws { try check("iddpm-1x16x16-nearest") }
    func testUNet1x16x16Area() throws { try check("iddpm-1x16x16-area") }
    func testDiTPatch2() throws { try check("dit-1x16x16-p2") }
    func testDiTPatch4() throws { try check("dit-1x16x16-p4") }
    func testDiTPatch2Perturbed() throws { try check("dit-1x16x16-p2-perturbed") }
    func testDiTPatch4Perturbed() throws { try check("dit-1x16x16-p4-perturbed") }
    func testUNet1x28x28() throws { try check("iddpm-1x28x28", training: false, probes: false) }
    func testUNet3x32x32() throws { try check("iddpm-3x32x32", training: false, probes: false) }

    /// Parameter names and order equal the reference state_dict's model.* keys.
    func testStateDictNamesAndOrder() throws {
        for name in ["iddpm-1x16x16-nearest", "dit-1x16x16-p2", "iddpm-1x28x28", "iddpm-3x32x32"] {
            let fx = try Fixture(name)
            let keys = (fx.manifest["state_dict_keys"] as? [String] ?? fx.tensors.names).filter {
                $0.hasPrefix("model.")
            }
            let specs = makeArchitecture(try fx.config()).parameterSpecs(scheme: .reference)
            XCTAssertEqual(specs.map(\.name), keys, name)
        }
    }
}
