import Formats
import Interop
import Tensors
import XCTest

/// Malformed and unsupported ONNX files are errors that say what is wrong, never a trap or a
/// wrong result (Tests/Fixtures/onnx/malformed, made with onnx.helper; see its README).
final class MalformedONNXTests: XCTestCase {
    let dir = onnxFixtures + "/malformed"

    func refusal(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try ImportedNetwork.load([path], options: ImportOptions(inferInitialisation: false))
            XCTFail("\(path) was accepted", file: file, line: line)
            return ""
        } catch { return "\(error)" }
    }

    func testTinyModelRunsAndMatchesOnnxruntime() throws {
        let net = try ImportedNetwork.load([dir + "/tiny.seed0.onnx", dir + "/tiny.seed1.onnx"])
        let eps = net.instance(0).epsilon(Tensor(repeating: 1, shape: [2, 1, 4, 4]), timesteps: [10, 500])
        // onnxruntime 1.32 on the same inputs.
        for (a, b) in zip(eps.data.prefix(4), [Float(0.62476265), 0.4985224, 0.4985224, 0.34563488]) {
            XCTAssertEqual(a, b, accuracy: 1e-6)
        }
        XCTAssertEqual(net.initialisation.first { $0.name == "conv.weight" }?.family, "uniform")
    }

    func testUnknownOpNamesNodeAndSupportedOps() {
        let text = refusal(dir + "/unknown-op.onnx")
        XCTAssertTrue(text.contains("FooBar") && text.contains("supported ops") && text.contains("Conv"), text)
    }

    func testCycleIsRefused() {
        let text = refusal(dir + "/cycle.onnx")
        XCTAssertTrue(text.contains("cycle"), text)
    }

    func testShapeMismatchNamesNode() {
        let text = refusal(dir + "/shape-mismatch.onnx")
        XCTAssertTrue(text.contains("Add") && text.contains("broadcast"), text)
    }

    func testMissingExternalFileIsNamed() {
        let text = refusal(dir + "/missing-external.onnx")
        XCTAssertTrue(text.contains("missing-external.onnx.data") && text.contains("no such file"), text)
    }

    func testTruncationsWrongWireTypesAndLyingLengthsAreErrors() throws {
        let bytes = try AtomicFile.read(dir + "/tiny.seed0.onnx")
        var refused = 0
        for cut in stride(from: 0, to: bytes.count - 1, by: 3) {
            if (try? ONNXModel.decode(Array(bytes[..<cut]), path: "cut.onnx")).map({ try? ONNXGraph($0) }) == nil {
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, bytes.count / 6)
        // Every single-byte corruption either decodes to something or is refused: no trap.
        for i in 0..<bytes.count {
            for v: UInt8 in [0x00, 0x02, 0x07, 0x7f, 0xff] {
                var b = bytes
                b[i] = v
                if let m = try? ONNXModel.decode(b, path: "mutant.onnx") { _ = try? ONNXGraph(m) }
            }
        }
        // A lying length: the graph field (7, length-delimited) claims more than the file has.
        let lying = bytes + [0x3a, 0xff, 0xff, 0x03, 0x00, 0x00]
        XCTAssertThrowsError(try ONNXModel.decode(lying, path: "lying.onnx")) { error in
            XCTAssertTrue("\(error)".contains("length"), "\(error)")
        }
        // A wrong wire type for ir_version (field 1 as length-delimited).
        var wire = bytes
        wire[0] = 0x0a
        XCTAssertThrowsError(try ONNXModel.decode(wire, path: "wire.onnx"))
    }
}
