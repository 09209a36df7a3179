import ArgumentParser
import Interop

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what an imported ONNX network is: graph, inputs and the inferred initialisation of every "
            + "initializer (fixed or random, family, scale, evidence).")

    @OptionGroup var onnx: ONNXOptions

    func validate() throws {
        guard onnx.isGiven else { throw ValidationError("give --onnx FILE (twice for two initialisations)") }
    }

    func run() throws {
        print(try onnx.load().initialisationTable)
    }
}
