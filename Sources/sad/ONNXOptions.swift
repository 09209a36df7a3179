import ArgumentParser
import Interop

/// How a command imports a user's network from ONNX instead of a config.
struct ONNXOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "An ONNX export of the score network (repeat for independent initialisations of the same "
                + "architecture: two or more are needed to infer the init distribution).",
            valueName: "file.onnx"))
    var onnx: [String] = []

    @Option(
        help: ArgumentHelp(
            "JSON {initializer name or glob: fixed|zeros|ones|uniform:B|normal:S|truncated-normal:S:B|"
                + "xavier-uniform|kaiming-uniform}."))
    var initOverrides: String?

    @Option(help: "Name of the graph's image input (default x).")
    var onnxX: String?

    @Option(help: "Name of the graph's timestep input (default t).")
    var onnxT: String?

    @Option(help: "Name of the graph output that is ε̂ (default: the first output).")
    var onnxOutput: String?

    var isGiven: Bool { !onnx.isEmpty }

    func validate() throws {
        try Check.range(onnx.count, 0...64, "--onnx (number of files)")
        if !isGiven && (initOverrides != nil || onnxX != nil || onnxT != nil || onnxOutput != nil) {
            throw ValidationError("--init-overrides, --onnx-x, --onnx-t and --onnx-output need --onnx")
        }
    }

    /// - Parameter inferInitialisation: false for commands that only run the files' own weights.
    func load(inferInitialisation: Bool = true) throws -> ImportedNetwork {
        let overrides = try initOverrides.map { try InitOverrides.load($0) }
        return try ImportedNetwork.load(
            onnx,
            options: ImportOptions(
                xName: onnxX, tName: onnxT, outputName: onnxOutput, overrides: overrides,
                inferInitialisation: inferInitialisation))
    }
}
