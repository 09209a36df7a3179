import Formats
@testable import Interop
import Tensors
import XCTest

/// Every op beyond the exported networks, one small graph each (Tests/Fixtures/onnx/ops, made
/// with onnx.helper; outputs from onnxruntime 1.32): forward values, and finite-difference
/// gradients with respect to the input and every float initializer (the imported ops are
/// compositions of the engine's differentiable primitives; this checks the compositions).
final class ONNXOpTests: XCTestCase {
    let dir = onnxFixtures + "/ops"

    func cases() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".onnx") }
            .map { String($0.dropLast(5)) }.sorted()
    }

    func testForwardMatchesOnnxruntime() throws {
        let io = try SafeTensors.read(dir + "/ops.io.safetensors")
        let names = try cases()
        XCTAssertGreaterThanOrEqual(names.count, 33)
        for name in names {
            let graph = try ONNXGraph(try ONNXModel.load("\(dir)/\(name).onnx"))
            let a = try io.tensor(name + ".a"), expected = try io.tensor(name + ".y")
            let out = try GradientMode.withoutGradients {
                try graph.run(feeds: ["a": .float(Variable(a))], parameter: { _ in nil })
            }
            guard case let .float(y)? = out["y"] else { XCTFail("\(name): no float output"); continue }
            XCTAssertEqual(y.shape, expected.shape, name)
            guard y.shape == expected.shape else { continue }
            var worst: Float = 0
            for (p, q) in zip(y.value.data, expected.data) { worst = max(worst, abs(p - q) / max(1, abs(q))) }
            XCTAssertLessThanOrEqual(worst, 2e-5, "\(name): max relative error \(worst)")
        }
    }

    func testGradientsByFiniteDifferences() throws {
        let io = try SafeTensors.read(dir + "/ops.io.safetensors")
        // Integer round trips and value selections by equality have no useful derivative.
        let skip: Set<String> = ["cast-int-roundtrip"]
        for name in try cases() where !skip.contains(name) {
            let model = try ONNXModel.load("\(dir)/\(name).onnx")
            let graph = try ONNXGraph(model)
            // Float initializers that are weights (Resize's scales are settings, not weights).
            let weights = model.graph.initializers.filter { $0.isFloat && $0.count > 1 && $0.name != "sc" }
            let inputs = [try io.tensor(name + ".a")] + weights.map { Tensor(shape: $0.dims, data: $0.floats!) }
            let report = GradientCheck.check(inputs) { vars in
                let bound = Dictionary(uniqueKeysWithValues: zip(weights.map(\.name), vars.dropFirst()))
                let out = try! graph.run(feeds: ["a": .float(vars[0])], parameter: { bound[$0] })
                guard case let .float(y)? = out["y"] else { fatalError("no output") }
                return y
            }
            XCTAssertLessThan(report.worst, 2e-2, "\(name): \(report)")
        }
    }
}
