import ArgumentParser
import Networks

/// How a command picks a network family: a config file plus the reference's overrides.
struct NetworkOptions: ParsableArguments {
    @Option(
        help:
            "Network configuration (reference JSON format, e.g. configs/1x16x16-iddpm.json, or builtin:1x28x28-iddpm).")
    var config: String?

    @Option(help: "U-Net downsampling: nearest (stride-2 conv) or area (conv + 2×2 average).")
    var interpolation: Interpolation?

    @Option(help: "DiT patch size (default 2).")
    var patchSize: Int?

    @Option(help: "Initialisation scheme: reference, zero-init, symmetric.")
    var initScheme: InitScheme = .reference

    func validate() throws {
        if let patchSize { try Check.range(patchSize, 1...4096, "--patch-size") }
    }

    /// The config's path (validated present by ``load()``).
    var configPath: String { config ?? "" }

    func load() throws -> NetworkConfig {
        guard let config else { throw ValidationError("--config is required (or --onnx where the command takes it)") }
        return try BuiltinConfigs.resolve(config).with(interpolation: interpolation, patchSize: patchSize)
    }
}
