/// The reference configs, compiled in so that `sad demo` and `sad reproduce` run from any
/// directory. Identical to the files in configs/ (a test compares them).
public enum BuiltinConfigs {
    public static let json: [String: String] = [
        "1x128x128-iddpm": #"""
        {
          "shape": [1, 128, 128],
          "learning_rate": 1e-3,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "base_channels": 32,
              "num_res_attn_blocks": 2,
              "channel_mults": [1, 1, 1, 1],
              "is_attn": [false, false, false, false, false],
              "num_heads": 4,
              "dropout": 0.0,
              "use_scale_shift_norm": false
            }
          }
        }
        """#,
        "3x64x64-iddpm": #"""
        {
          "shape": [3, 64, 64],
          "learning_rate": 1e-4,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "base_channels": 64,
              "num_res_attn_blocks": 2,
              "channel_mults": [2, 2, 2],
              "is_attn": [false, false, true, false],
              "num_heads": 4,
              "dropout": 0.0,
              "use_scale_shift_norm": false
            }
          }
        }
        """#,
        "1x16x16-dit": #"""
        {
          "shape": [1, 16, 16],
          "learning_rate": 1e-4,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "hidden_size": 48,
              "depth": 8,
              "num_heads": 4,
              "mlp_ratio": 2
            }
          }
        }
        """#,
        "1x16x16-iddpm": #"""
        {
          "shape": [1, 16, 16],
          "learning_rate": 1e-4,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "base_channels": 32,
              "num_res_attn_blocks": 1,
              "channel_mults": [1, 1],
              "is_attn": [false, false, false],
              "num_heads": 4,
              "dropout": 0.0,
              "use_scale_shift_norm": false
            }
          }
        }
        """#,
        "1x16x16-linear": #"""
        {
          "shape": [1, 16, 16],
          "learning_rate": 1e-3,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "type": "linear",
              "features": 256,
              "theta_std": 0.01
            }
          }
        }
        """#,
        "1x16x16-mlp": #"""
        {
          "shape": [1, 16, 16],
          "learning_rate": 1e-4,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "type": "mlp",
              "hidden": [512, 512],
              "time_embedding_dim": 32
            }
          }
        }
        """#,
        "1x28x28-iddpm": #"""
        {
          "shape": [1, 28, 28],
          "learning_rate": 1e-3,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "base_channels": 32,
              "num_res_attn_blocks": 2,
              "channel_mults": [1, 1],
              "is_attn": [false, false, false],
              "num_heads": 4,
              "dropout": 0.0,
              "use_scale_shift_norm": false
            }
          }
        }
        """#,
        "1x56x56-iddpm": #"""
        {
          "shape": [1, 56, 56],
          "learning_rate": 1e-3,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "base_channels": 32,
              "num_res_attn_blocks": 2,
              "channel_mults": [1, 1, 1],
              "is_attn": [false, false, false, false],
              "num_heads": 4,
              "dropout": 0.0,
              "use_scale_shift_norm": false
            }
          }
        }
        """#,
        "3x32x32-iddpm": #"""
        {
          "shape": [3, 32, 32],
          "learning_rate": 1e-3,
          "grad_clip": 1.0,
          "diffuser": {
            "T": 1000,
            "linear": true,
            "model": {
              "base_channels": 32,
              "num_res_attn_blocks": 2,
              "channel_mults": [1, 1, 1],
              "is_attn": [false, false, false, false],
              "num_heads": 4,
              "dropout": 0.0,
              "use_scale_shift_norm": false
            }
          }
        }
        """#,
    ]

    /// A built-in config by name (e.g. "1x16x16-iddpm"), with a `builtin:` source label.
    public static func load(_ name: String) throws -> NetworkConfig {
        guard let text = json[name] else {
            throw ConfigError(
                file: "builtin", field: "config", expected: json.keys.sorted().joined(separator: ", "), found: name)
        }
        return try NetworkConfig.parse(Array(text.utf8), file: "builtin:\(name)")
    }

    /// A config from a command-line source: `builtin:NAME` (the label run manifests record) or a
    /// path to a JSON file in the reference's format.
    public static func resolve(_ source: String) throws -> NetworkConfig {
        if source.hasPrefix("builtin:") {
            return try load(String(source.dropFirst("builtin:".count)))
        }
        return try NetworkConfig.load(source)
    }
}
