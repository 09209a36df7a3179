import ArgumentParser
import Networks

/// How a command picks a network family: a config file plus the reference's overrides.
struct NetworkOptions: ParsableArguments {
    @Option(help: "Network configuration (reference JSON format, e.g. configs/1x16x16-iddpm.json, or builtin:1x28x28-iddpm).")
    var config: String

    @Option(help: "U-Net downsampling: nearest (stride-2 conv) or area (conv + 2×2 average).")
    var interpolation: String?

    @Option(help: "DiT patch size (default 2).")
    var patchSize: Int?

    @Option(help: "Initialisation scheme: reference, zero-init, symmetric.")
    var initScheme: String = "reference"

    func load() throws -> NetworkConfig {
        var interp: Interpolation?
        if let interpolation {
            guard let i = Interpolation(rawValue: interpolation) else {
                throw ValidationError("--interpolation: expected nearest or area, found '\(interpolation)'")
            }
            interp = i
        }
        return try BuiltinConfigs.resolve(config).with(interpolation: interp, patchSize: patchSize)
    }

    func scheme() throws -> InitScheme { try InitScheme.parse(initScheme) }
}
