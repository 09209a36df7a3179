import ArgumentParser
import Diffusion
import Formats
import Interop
import Networks

struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a network on given inputs (and optionally one DSM batch) from a checkpoint.",
        discussion: """
            Key names are the reference fixtures': INPUTS holds input.x_t (N,C,H,W) float32 and input.t (N) \
            int64; OUTPUT gets output.eps. With --dsm-batch (train.x0, train.noise, train.t) it also gets \
            output.loss, train.x_t, train.eps_target, train.eps_pred and grad.<parameter> for every parameter. \
            A fixture folder's tensors.safetensors works as checkpoint, inputs and batch at once.
            """)

    @OptionGroup var network: NetworkOptions
    @OptionGroup var onnx: ONNXOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Weights with the reference's state_dict names (model.*); with --onnx, the first file's own.")
    var checkpoint: String?

    @Option(help: "Safetensors file with input.x_t and input.t.")
    var inputs: String

    @Option(help: "Optional safetensors file with train.x0, train.noise, train.t.")
    var dsmBatch: String?

    @Option(help: "Where to write the results (safetensors, written atomically).")
    var output: String

    func validate() throws {
        guard onnx.isGiven != (network.config != nil) else { throw ValidationError("give either --config or --onnx") }
        guard onnx.isGiven || checkpoint != nil else { throw ValidationError("--checkpoint is required with --config") }
        guard !onnx.isGiven || (checkpoint == nil && dsmBatch == nil) else {
            throw ValidationError(
                "with --onnx the weights are the first file's; --checkpoint and --dsm-batch do not apply")
        }
    }

    func run() throws {
        try threadOptions.apply()
        if onnx.isGiven {
            let imported = try onnx.load(inferInitialisation: false)
            let results = try imported.forwardEvaluation(inputs: try SafeTensors.read(inputs))
            try SafeTensors.write(
                results, metadata: ["producer": "sad \(sadVersion) forward", "onnx": imported.files[0]], to: output)
            print("wrote \(results.count) tensors to \(output)")
            return
        }
        let config = try network.load()
        let net = try ScoreNetwork(makeArchitecture(config), checkpoint: try SafeTensors.read(checkpoint!))
        let results = try ForwardEvaluation.run(
            config: config, network: net, inputs: try SafeTensors.read(inputs),
            dsmBatch: try dsmBatch.map { try SafeTensors.read($0) })
        try SafeTensors.write(
            results, metadata: ["producer": "sad \(sadVersion) forward", "config": config.summary], to: output)
        print("wrote \(results.count) tensors to \(output)")
    }
}
