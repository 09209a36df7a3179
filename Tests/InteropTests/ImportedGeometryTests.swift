import Formats
import Geometry
import Interop
import Networks
import Tensors
import XCTest

/// Imported networks through the geometry engine, against the native engine and PyTorch.
final class ImportedGeometryTests: XCTestCase {
    func state(_ run: GeometryRun) throws -> SADs {
        let dir = NSTemporaryDirectory() + "onnx-geometry-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try SADs(state: try run.run(statePath: "\(dir)/state.safetensors"))
    }

    /// The exported reference U-Net declares its parameters in the native order with the native
    /// distributions, so the same seed draws the same networks: the two estimates agree far
    /// inside their standard errors (up to the x = 0 rounding of the exported GroupNorm).
    func testReferenceUNetAgreesWithNative() throws {
        let net = try ImportedNetwork.load([
            fixture("iddpm-1x16x16-nearest", seed: 0),
            fixture("iddpm-1x16x16-nearest", seed: 1),
        ])
        let spec = try GeometryRun.makeSpec(
            architecture: net, model: "onnx", source: "test", identityFields: net.identityFields,
            estimator: .marginal, probe: .zero, seed: 3, networks: 128, chunkSize: 16)
        let imported = try state(GeometryRun(spec: spec, architecture: net))
        let config = try BuiltinConfigs.resolve("builtin:1x16x16-iddpm")
        let nativeSpec = try GeometryRun.makeSpec(
            config: config, configPath: "builtin", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: .marginal, probe: .zero, seed: 3, networks: 128, chunkSize: 16, symmetry: .none)
        let native = try state(GeometryRun(spec: nativeSpec, config: config))
        var diff = 0.0, norm = 0.0
        for (a, b) in zip(imported.geometry, native.geometry) {
            diff += (a - b) * (a - b)
            norm += b * b
        }
        XCTAssertLessThan((diff / norm).squareRoot(), 1e-3)
    }

    /// diffusers.UNet2DModel, a network nobody here wrote: the marginal estimate at 1,024 networks
    /// against the PyTorch ground truth (16,384 networks, Tests/Fixtures/onnx/README.md).
    func testDiffusersAgainstPyTorchGroundTruth() throws {
        let net = try ImportedNetwork.load([
            fixture("diffusers-unet2d-16", seed: 0),
            fixture("diffusers-unet2d-16", seed: 1),
        ])
        let spec = try GeometryRun.makeSpec(
            architecture: net, model: "onnx", source: "test", identityFields: net.identityFields,
            estimator: .marginal, probe: .zero, seed: 0, networks: 1024, chunkSize: 32)
        let sads = try state(GeometryRun(spec: spec, architecture: net))
        let truthVals = try Npy.read("\(onnxFixtures)/diffusers-unet2d-16.truth-vals.npy").doubles
        let truthVecs = try Npy.read("\(onnxFixtures)/diffusers-unet2d-16.truth-extreme-vecs.npy").doubles
        let trace = sads.eigen.values.reduce(0, +), truthTrace = truthVals.reduce(0, +)
        XCTAssertEqual(trace / truthTrace, 1, accuracy: 0.03)
        XCTAssertEqual(sads.eigen.values[0] / truthVals[0], 1, accuracy: 0.03)
        let d = 256
        func overlap(_ ours: Range<Int>, _ truthRows: Range<Int>) -> Double {
            var s = 0.0
            for i in ours {
                for j in truthRows {
                    var dot = 0.0
                    for q in 0..<d { dot += sads.eigen.vectors[i * d + q] * truthVecs[j * d + q] }
                    s += dot * dot
                }
            }
            return s / Double(ours.count)
        }
        XCTAssertGreaterThan(overlap(0..<8, 0..<8), 0.9)
        XCTAssertGreaterThan(overlap((d - 8)..<d, 8..<16), 0.9)
    }

    /// A t-dependent network: the importance sampler stays unbiased (it draws t ∝ 1/σ_t² and
    /// evaluates the network at that t), so it agrees with the reference estimator's mean.
    func testImportanceAgreesWithReferenceForTimeDependentNetwork() throws {
        let net = try ImportedNetwork.load([
            fixture("diffusers-unet2d-16", seed: 0),
            fixture("diffusers-unet2d-16", seed: 1),
        ])
        var traces: [(Double, Double)] = []
        for estimator in [Estimator.importance, .marginal] {
            let spec = try GeometryRun.makeSpec(
                architecture: net, model: "onnx", source: "test", identityFields: net.identityFields,
                estimator: estimator, probe: .zero, seed: 1, networks: 512, chunkSize: 32)
            let s = try state(GeometryRun(spec: spec, architecture: net))
            traces.append((s.diagnostics.trace, s.diagnostics.traceStandardError))
        }
        let (a, sa) = traces[0], (b, sb) = traces[1]
        XCTAssertLessThan(
            abs(a - b), 4 * (sa * sa + sb * sb).squareRoot(), "importance \(a) ± \(sa), marginal \(b) ± \(sb)")
    }
}
