import Formats
import Interop
import Networks
import Tensors
import XCTest

/// The inferred initialisation of the reference exports equals the native reference init,
/// name by name where the exporter kept the names.
final class InitInferenceTests: XCTestCase {
    func compare(_ name: String, config: String) throws {
        let net = try ImportedNetwork.load([fixture(name, seed: 0), fixture(name, seed: 1)])
        let native = makeArchitecture(try BuiltinConfigs.resolve(config)).parameterSpecs(scheme: .reference)
        let byName = Dictionary(uniqueKeysWithValues: native.map { ($0.name, $0) })
        var matched = 0
        for e in net.initialisation where e.name.hasPrefix("d.model.") {
            guard let spec = byName[String(e.name.dropFirst(2))] else { continue }
            matched += 1
            XCTAssertEqual(e.shape, spec.shape, e.name)
            switch (e.initializer, spec.initializer) {
            case let (.uniform(a), .uniform(b)): XCTAssertEqual(a, b, accuracy: b * 1e-6, e.name)
            case let (.uniform(a), .xavierUniform(fi, fo)):
                XCTAssertEqual(a, (6 / Float(fi + fo)).squareRoot(), accuracy: a * 1e-5, "\(e.name): \(e.evidence)")
            case let (.xavierUniform(a, b), .xavierUniform(c, d)): XCTAssertEqual(a + b, c + d, e.name)
            case let (.normal(a), .normal(b)): XCTAssertEqual(a, b, e.name)
            case (.zeros, .zeros), (.ones, .ones): break
            case let (.fixed(a), .fixed(b)): XCTAssertLessThan(a.maxAbsDifference(b), 1e-6, e.name)
            default: XCTFail("\(e.name): inferred \(e.initializer), native \(spec.initializer) (\(e.evidence))")
            }
        }
        XCTAssertGreaterThan(matched, 10, "too few names kept to compare")
    }

    func testReferenceUNet() throws { try compare("iddpm-1x16x16-nearest", config: "builtin:1x16x16-iddpm") }
    func testReferenceDiT() throws { try compare("dit-1x16x16-p2", config: "builtin:1x16x16-dit") }

    /// A MatMul weight drawn N(0, 0.02²) truncated at ±0.04 (numpy rejection sampling, two
    /// seeds; Tests/Fixtures/onnx/malformed/truncated.seed*.onnx): not the PyTorch default, not
    /// uniform, not normal (no value beyond 2σ) — fitted as the truncated normal it is.
    func testTruncatedNormalIsFittedAndDrawn() throws {
        let dir = onnxFixtures + "/malformed"
        let net = try ImportedNetwork.load([dir + "/truncated.seed0.onnx", dir + "/truncated.seed1.onnx"])
        let w = try XCTUnwrap(net.initialisation.first { $0.name == "W" })
        XCTAssertEqual(w.initializer, .truncatedNormal(std: 0.02, bound: 0.04), w.evidence)
        XCTAssertEqual(net.initialisation.first { $0.name == "W2" }?.family, "uniform")
        // Fresh draws have the family's moments and respect the bound.
        let drawn = ScoreNetwork(net, seed: 3).parameters["W"]!.data.map(Double.init)
        XCTAssertLessThanOrEqual(drawn.map { abs($0) }.max()!, 0.04)
        let variance = drawn.reduce(0) { $0 + $1 * $1 } / Double(drawn.count)
        XCTAssertEqual(variance, w.variance, accuracy: 0.05 * w.variance)
        XCTAssertEqual(TruncatedNormal.quantile(TruncatedNormal.cdf(1.3)), 1.3, accuracy: 1e-9)
    }

    func testOneInstanceIsRefusedWithAdvice() throws {
        XCTAssertThrowsError(try ImportedNetwork.load([fixture("diffusers-unet2d-16", seed: 0)])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("one instance") && text.contains("--init-overrides"), text)
        }
    }

    func testOverridesWin() throws {
        let path = NSTemporaryDirectory() + "overrides-\(getpid()).json"
        try #"{"m.conv_out.*": "normal:0.5", "m.conv_in.weight": "zeros"}"#.write(
            toFile: path, atomically: true,
            encoding: .utf8)
        let net = try ImportedNetwork.load(
            [fixture("diffusers-unet2d-16", seed: 0), fixture("diffusers-unet2d-16", seed: 1)],
            options: ImportOptions(overrides: try InitOverrides.load(path)))
        let entries = Dictionary(uniqueKeysWithValues: net.initialisation.map { ($0.name, $0) })
        XCTAssertEqual(entries["m.conv_in.weight"]?.initializer, .zeros)
        XCTAssertEqual(entries["m.conv_out.weight"]?.initializer, .normal(std: 0.5))
        XCTAssertEqual(entries["m.conv_out.bias"]?.initializer, .normal(std: 0.5))
        try #"{"m.conv_in.weight": "uniform:-1"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try InitOverrides.load(path))
    }
}
