import Foundation
import Formats

/// How the U-Net downsamples (the reference's `--interpolation` flag).
public enum Interpolation: String, Sendable, CaseIterable {
    /// `downsample_with_pool = true`: a stride-2 3×3 conv (zero padding on the top/left only
    /// affects the output), no pooling despite the name.
    case nearest
    /// A stride-1 3×3 conv followed by 2×2 average pooling.
    case area
}

/// A configuration file in the reference's format (`configs/*.json`):
/// `{"shape": [C, H, W], "learning_rate", "grad_clip", "diffuser": {"T", "linear", "model": {…}}}`.
/// The model block is a U-Net when it has `channel_mults`, otherwise a DiT. The reference
/// patches `interpolation`, `downsample_with_pool` and `patch_size` into the model block from
/// the command line; files that already contain them (the fixtures' configs) are accepted.
public struct NetworkConfig: Equatable, Sendable {
    public var shape: [Int]
    public var learningRate: Double
    public var gradClip: Double
    public var timesteps: Int
    public var linearSchedule: Bool
    public var model: Model
    /// Where it came from, for error messages.
    public var source: String

    public enum Model: Equatable, Sendable {
        case unet(UNetConfig)
        case dit(DiTConfig)
        /// Not in the reference: `"type": "mlp"` (Proposition 1).
        case mlp(MLPConfig)
        /// Not in the reference: `"type": "linear"` (Theorem 1's Ω = ΦΘ).
        case linear(LinearModelConfig)
    }

    /// The largest data dimension D = C·H·W a config may declare (4096² pixels).
    public static let maxDimension = 16_777_216

    public var channels: Int { shape[0] }
    public var dimension: Int { shape.reduce(1, *) }

    public static func load(_ path: String) throws -> NetworkConfig {
        try parse(try AtomicFile.read(path), file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String = "<config>") throws -> NetworkConfig {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            throw ConfigError(file: file, field: "(file)", expected: "valid JSON", found: "unparseable text")
        }
        var reader = JSONReader(file: file)
        var root = try reader.object(json, "(root)")
        try reader.onlyKeys(
            root, ["shape", "learning_rate", "grad_clip", "diffuser", "image_size", "in_channels"], "(root)")
        try resolveImageSize(&root, reader: &reader)
        let shape = try reader.ints(root["shape"], "shape")
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 && $0 <= 4096 }) else {
            throw ConfigError(
                file: file, field: "shape", expected: "[C, H, W] with extents in 1…4096", found: "\(shape)")
        }
        // D = C·H·W sizes every tensor (and D² the geometry): bounded before anything multiplies it.
        guard shape[0] * shape[1] * shape[2] <= maxDimension else {
            throw ConfigError(
                file: file, field: "shape", expected: "C·H·W ≤ \(maxDimension)",
                found: "\(shape) (D = \(shape[0] * shape[1] * shape[2]))")
        }
        // Float32 settings: refuse what would round to infinity or zero when converted.
        let learningRate = try reader.double(root["learning_rate"], "learning_rate", in: 1e-30...10)
        let gradClip = try reader.double(root["grad_clip"], "grad_clip", in: 1e-30...1e30)
        let diffuser = try reader.alias(
            try reader.object(root["diffuser"] as Any, "diffuser"), "unet", as: "model", "diffuser")
        try reader.onlyKeys(diffuser, ["T", "linear", "model"], "diffuser")
        let t = try reader.int(diffuser["T"], "diffuser.T")
        guard t >= 2 && t <= 100_000 else {
            throw ConfigError(file: file, field: "diffuser.T", expected: "2…100000", found: "\(t)")
        }
        let linear = try reader.bool(diffuser["linear"], "diffuser.linear")
        let modelBlock = try reader.alias(
            try reader.object(diffuser["model"] as Any, "diffuser.model"), "num_channels", as: "base_channels",
            "diffuser.model")
        let model: Model
        if let type = modelBlock["type"] {
            switch type as? String {
            case "mlp": model = .mlp(try MLPConfig(modelBlock, reader: &reader))
            case "linear": model = .linear(try LinearModelConfig(modelBlock, reader: &reader))
            default:
                throw ConfigError(
                    file: file, field: "diffuser.model.type",
                    expected: "\"mlp\" or \"linear\" (omit it for the reference U-Net/DiT)",
                    found: "\(type)")
            }
        } else if modelBlock["channel_mults"] != nil {
            model = .unet(try UNetConfig(modelBlock, shape: shape, reader: &reader))
        } else {
            model = .dit(try DiTConfig(modelBlock, shape: shape, reader: &reader))
        }
        let config = NetworkConfig(
            shape: shape, learningRate: learningRate, gradClip: gradClip, timesteps: t,
            linearSchedule: linear, model: model, source: file)
        try config.checkSize(file: file)
        return config
    }

    /// The authors' sibling repositories give the side as `image_size` (square images): it
    /// must agree with `shape` when both are given, or come with `in_channels` when alone (the
    /// channels are not implied).
    static func resolveImageSize(_ root: inout [String: Any], reader: inout JSONReader) throws {
        guard let sizeValue = root.removeValue(forKey: "image_size") else {
            if root["in_channels"] != nil {
                throw ConfigError(
                    file: reader.file, field: "in_channels", expected: "image_size beside it (or use shape)",
                    found: "in_channels alone")
            }
            return
        }
        let size = try reader.int(sizeValue, "image_size")
        let channelsValue = root.removeValue(forKey: "in_channels")
        if let shapeValue = root["shape"] {
            let shape = try reader.ints(shapeValue, "shape")
            guard shape.count == 3, shape[1] == size, shape[2] == size else {
                throw ConfigError(
                    file: reader.file, field: "image_size", expected: "the H = W of shape \(shape)", found: "\(size)")
            }
            if let channelsValue, try reader.int(channelsValue, "in_channels") != shape[0] {
                throw ConfigError(
                    file: reader.file, field: "in_channels", expected: "the C of shape \(shape)",
                    found: "\(channelsValue)")
            }
            return
        }
        guard let channelsValue else {
            throw ConfigError(
                file: reader.file, field: "image_size",
                expected: "shape [C, H, W], or in_channels beside image_size (the channels are ambiguous)",
                found: "image_size \(size) alone")
        }
        root["shape"] = [try reader.int(channelsValue, "in_channels"), size, size]
    }

    /// Applies the reference's command-line overrides (`--interpolation`, `--patch_size`),
    /// re-validating the result.
    public func with(interpolation: Interpolation? = nil, patchSize: Int? = nil) throws -> NetworkConfig {
        var c = self
        switch model {
        case var .unet(u):
            if let interpolation { u.interpolation = interpolation }
            c.model = .unet(u)
        case var .dit(d):
            if let patchSize {
                d.patchSize = patchSize
                try d.validate(shape: shape, file: source)
            }
            c.model = .dit(d)
            try c.checkSize(file: source)
        case .mlp, .linear: break
        }
        return c
    }

    /// A short human-readable name, e.g. "iDDPM U-Net 1x16x16 (nearest)".
    public var summary: String {
        let dims = shape.map(String.init).joined(separator: "x")
        switch model {
        case let .unet(u): return "iDDPM U-Net \(dims) (\(u.interpolation.rawValue))"
        case let .dit(d): return "DiT/\(d.patchSize) \(dims)"
        case let .mlp(m): return "MLP \(m.hidden) \(dims)"
        case let .linear(l): return "linear ΦΘ (K = \(l.features)) \(dims)"
        }
    }
}

/// U-Net keys of the model block.
public struct UNetConfig: Equatable, Sendable {
    public var baseChannels: Int
    public var resBlocksPerLevel: Int
    /// The config's `channel_mults`; the network uses [1] + this.
    public var channelMults: [Int]
    public var numHeads: Int
    public var interpolation: Interpolation
    /// `is_attn`: an AttentionBlock after every ResBlock of level i (input and output side),
    /// iDDPM's `attention_resolutions` = {2^i : is_attn[i]}. All false in the reference configs.
    public var attentionLevels: [Bool]

    /// channel multipliers per level, as the reference constructs them.
    public var levelMults: [Int] { [1] + channelMults }

    init(_ block: [String: Any], shape: [Int], reader: inout JSONReader) throws {
        let file = reader.file
        try reader.onlyKeys(
            block,
            [
                "base_channels", "num_res_attn_blocks", "channel_mults", "is_attn", "num_heads", "dropout",
                "use_scale_shift_norm", "downsample_with_pool", "interpolation", "patch_size",
                "conv_resample", "skip_connections", "padding_mode",
            ], "diffuser.model")
        baseChannels = try reader.int(block["base_channels"], "diffuser.model.base_channels")
        resBlocksPerLevel = try reader.int(block["num_res_attn_blocks"], "diffuser.model.num_res_attn_blocks")
        channelMults = try reader.ints(block["channel_mults"], "diffuser.model.channel_mults")
        numHeads = try reader.int(block["num_heads"], "diffuser.model.num_heads")
        let isAttn = try reader.bools(block["is_attn"], "diffuser.model.is_attn")
        let dropout = try reader.double(block["dropout"], "diffuser.model.dropout", in: 0...1)
        let scaleShift = try reader.bool(block["use_scale_shift_norm"], "diffuser.model.use_scale_shift_norm")
        if let text = block["interpolation"] {
            guard let s = text as? String, let i = Interpolation(rawValue: s) else {
                throw ConfigError(
                    file: file, field: "diffuser.model.interpolation", expected: "\"nearest\" or \"area\"",
                    found: "\(text)")
            }
            interpolation = i
        } else {
            interpolation = .nearest
        }
        if let pool = block["downsample_with_pool"] {
            let p = try reader.bool(pool, "diffuser.model.downsample_with_pool")
            guard p == (interpolation == .nearest) else {
                throw ConfigError(
                    file: file, field: "diffuser.model.downsample_with_pool",
                    expected: "\(interpolation == .nearest) (it is derived from interpolation)", found: "\(p)")
            }
        }
        if let v = block["conv_resample"] {
            guard try reader.bool(v, "diffuser.model.conv_resample") else {
                throw ConfigError(
                    file: file, field: "diffuser.model.conv_resample", expected: "true (the only variant implemented)",
                    found: "false")
            }
        }
        if let v = block["skip_connections"] {
            guard try reader.bool(v, "diffuser.model.skip_connections") else {
                throw ConfigError(
                    file: file, field: "diffuser.model.skip_connections",
                    expected: "true (the only variant implemented)", found: "false")
            }
        }
        if let v = block["padding_mode"] {
            guard (v as? String) == "zeros" else {
                throw ConfigError(
                    file: file, field: "diffuser.model.padding_mode", expected: "\"zeros\"", found: "\(v)")
            }
        }
        if let v = block["patch_size"] { _ = try reader.int(v, "diffuser.model.patch_size") }

        func fail(_ field: String, _ expected: String, _ found: Any) -> ConfigError {
            ConfigError(file: file, field: "diffuser.model." + field, expected: expected, found: "\(found)")
        }
        guard dropout == 0 else {
            throw fail("dropout", "0 (dropout is not implemented; the reference configs use 0)", dropout)
        }
        guard !scaleShift else {
            throw fail("use_scale_shift_norm", "false (the scale-shift variant is not implemented)", true)
        }
        // All false (the reference configs) is accepted at any length, as the reference does.
        guard isAttn.allSatisfy({ !$0 }) || isAttn.count == channelMults.count + 1 else {
            throw fail("is_attn", "one flag per level (\(channelMults.count + 1))", isAttn)
        }
        attentionLevels = isAttn.allSatisfy({ !$0 }) ? [] : isAttn
        guard resBlocksPerLevel >= 1 && resBlocksPerLevel <= 8 else {
            throw fail("num_res_attn_blocks", "1…8", resBlocksPerLevel)
        }
        guard !channelMults.isEmpty && channelMults.count <= 6 && channelMults.allSatisfy({ $0 >= 1 && $0 <= 8 }) else {
            throw fail("channel_mults", "1 to 6 multipliers in 1…8", channelMults)
        }
        guard baseChannels >= 32 && baseChannels <= 1024 else { throw fail("base_channels", "32…1024", baseChannels) }
        for m in levelMults where (baseChannels * m) % 32 != 0 {
            throw fail(
                "base_channels", "channels (\(baseChannels)·\(m)) divisible by the 32 groups of GroupNorm32",
                baseChannels * m)
        }
        guard numHeads >= 1 && (baseChannels * levelMults.last!) % numHeads == 0 else {
            throw fail(
                "num_heads", "a divisor of the middle-block channels \(baseChannels * levelMults.last!)", numHeads)
        }
        for (level, on) in attentionLevels.enumerated() where on && (baseChannels * levelMults[level]) % numHeads != 0 {
            throw fail(
                "num_heads",
                "a divisor of the channels \(baseChannels * levelMults[level]) of attention level \(level)",
                numHeads)
        }
        let factor = 1 << (levelMults.count - 1)
        guard shape[1] % factor == 0 && shape[2] % factor == 0 else {
            throw ConfigError(
                file: file, field: "shape",
                expected: "H and W divisible by 2^\(levelMults.count - 1) = \(factor) (one halving per level)",
                found: "\(shape)")
        }
    }
}

/// DiT keys of the model block (the patch size comes from the command line).
public struct DiTConfig: Equatable, Sendable {
    public var hiddenSize: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    public var patchSize: Int

    init(_ block: [String: Any], shape: [Int], reader: inout JSONReader) throws {
        try reader.onlyKeys(
            block,
            [
                "hidden_size", "depth", "num_heads", "mlp_ratio", "downsample_with_pool", "interpolation",
                "patch_size",
            ], "diffuser.model")
        hiddenSize = try reader.int(block["hidden_size"], "diffuser.model.hidden_size")
        depth = try reader.int(block["depth"], "diffuser.model.depth")
        numHeads = try reader.int(block["num_heads"], "diffuser.model.num_heads")
        mlpRatio = try reader.double(block["mlp_ratio"], "diffuser.model.mlp_ratio", in: 1e-6...64)
        patchSize = block["patch_size"] == nil ? 2 : try reader.int(block["patch_size"], "diffuser.model.patch_size")
        try validate(shape: shape, file: reader.file)
    }

    public var mlpHidden: Int { Int(Double(hiddenSize) * mlpRatio) }

    func validate(shape: [Int], file: String) throws {
        func fail(_ field: String, _ expected: String, _ found: Any) -> ConfigError {
            ConfigError(file: file, field: field, expected: expected, found: "\(found)")
        }
        guard hiddenSize >= 4 && hiddenSize % 4 == 0 && hiddenSize <= 4096 else {
            throw fail("diffuser.model.hidden_size", "a multiple of 4 (2-D sin-cos positions) up to 4096", hiddenSize)
        }
        guard numHeads >= 1 && hiddenSize % numHeads == 0 else {
            throw fail("diffuser.model.num_heads", "a divisor of hidden_size \(hiddenSize)", numHeads)
        }
        guard depth >= 0 && depth <= 64 else { throw fail("diffuser.model.depth", "0…64", depth) }
        guard mlpRatio.isFinite, mlpRatio > 0, mlpRatio <= 64 else {
            throw fail("diffuser.model.mlp_ratio", "a number in (0, 64]", mlpRatio)
        }
        guard mlpHidden >= 1 else { throw fail("diffuser.model.mlp_ratio", "hidden_size·mlp_ratio ≥ 1", mlpRatio) }
        guard shape[1] == shape[2] else { throw fail("shape", "a square image (the positional grid is G×G)", shape) }
        guard patchSize >= 1 && shape[1] % patchSize == 0 else {
            throw fail("patch_size", "a divisor of the image size \(shape[1])", patchSize)
        }
    }
}

/// MLP keys: `{"type": "mlp", "hidden": [512, 512], "time_embedding_dim": 32}`.
public struct MLPConfig: Equatable, Sendable {
    public var hidden: [Int]
    public var timeEmbeddingDim: Int

    init(_ block: [String: Any], reader: inout JSONReader) throws {
        try reader.onlyKeys(block, ["type", "hidden", "time_embedding_dim"], "diffuser.model")
        hidden = try reader.ints(block["hidden"], "diffuser.model.hidden")
        timeEmbeddingDim =
            block["time_embedding_dim"] == nil
            ? 32 : try reader.int(block["time_embedding_dim"], "diffuser.model.time_embedding_dim")
        guard !hidden.isEmpty, hidden.allSatisfy({ $0 >= 1 && $0 <= 65536 }) else {
            throw ConfigError(
                file: reader.file, field: "diffuser.model.hidden", expected: "one or more widths in 1…65536",
                found: "\(hidden)")
        }
        guard timeEmbeddingDim >= 0 && timeEmbeddingDim % 2 == 0 && timeEmbeddingDim <= 4096 else {
            throw ConfigError(
                file: reader.file, field: "diffuser.model.time_embedding_dim", expected: "an even number in 0…4096",
                found: "\(timeEmbeddingDim)")
        }
    }
}

/// Linear-model keys: `{"type": "linear", "features": K, "theta_std": 0.01}`.
public struct LinearModelConfig: Equatable, Sendable {
    public var features: Int
    public var thetaStd: Float

    init(_ block: [String: Any], reader: inout JSONReader) throws {
        try reader.onlyKeys(block, ["type", "features", "theta_std"], "diffuser.model")
        features = try reader.int(block["features"], "diffuser.model.features")
        thetaStd = Float(
            block["theta_std"] == nil
                ? 0.01 : try reader.double(block["theta_std"], "diffuser.model.theta_std", in: 1e-30...1e3))
        guard features >= 1 && features <= 100_000 else {
            throw ConfigError(
                file: reader.file, field: "diffuser.model.features", expected: "1…100000", found: "\(features)")
        }
    }
}

/// Typed access to JSONSerialization output with errors naming the field.
struct JSONReader {
    let file: String

    func object(_ value: Any, _ field: String) throws -> [String: Any] {
        guard let o = value as? [String: Any] else {
            throw ConfigError(file: file, field: field, expected: "an object", found: "\(value)")
        }
        return o
    }

    /// Renames key `alias` (the authors' sibling-repository spelling) to `canonical`; both
    /// present is refused unless they agree.
    func alias(_ o: [String: Any], _ alias: String, as canonical: String, _ field: String) throws -> [String: Any] {
        guard let value = o[alias] else { return o }
        var out = o
        out.removeValue(forKey: alias)
        if let existing = o[canonical] {
            guard (existing as? NSObject)?.isEqual(value) == true else {
                throw ConfigError(
                    file: file, field: field + "." + alias, expected: "the same value as \(canonical) (an alias)",
                    found: "\(value) beside \(canonical) \(existing)")
            }
            return out
        }
        out[canonical] = value
        return out
    }

    func onlyKeys(_ o: [String: Any], _ allowed: Set<String>, _ field: String) throws {
        let unknown = Set(o.keys).subtracting(allowed)
        if let key = unknown.sorted().first {
            throw ConfigError(
                file: file, field: field == "(root)" ? key : field + "." + key,
                expected: "one of \(allowed.sorted().joined(separator: ", "))", found: "unknown key '\(key)'")
        }
    }

    func number(_ value: Any?, _ field: String, kind: String = "a number") throws -> NSNumber {
        guard let value else {
            throw ConfigError(file: file, field: field, expected: kind, found: "nothing (missing key)")
        }
        guard let n = value as? NSNumber, !JSONValues.isBoolean(n) else {
            throw ConfigError(file: file, field: field, expected: kind, found: "\(value)")
        }
        return n
    }

    func int(_ value: Any?, _ field: String) throws -> Int {
        let n = try number(value, field, kind: "an integer")
        guard let i = Int(exactly: n.doubleValue), Double(i) == n.doubleValue else {
            throw ConfigError(file: file, field: field, expected: "an integer", found: "\(n)")
        }
        return i
    }

    /// A finite number in `range` (config floats become Float32: a range keeps them finite and
    /// non-zero after conversion).
    func double(_ value: Any?, _ field: String, in range: ClosedRange<Double>) throws -> Double {
        let d = try number(value, field).doubleValue
        guard d.isFinite, range.contains(d) else {
            throw ConfigError(
                file: file, field: field, expected: "a number in \(range.lowerBound)…\(range.upperBound)", found: "\(d)"
            )
        }
        return d
    }

    func bool(_ value: Any?, _ field: String) throws -> Bool {
        guard let value else {
            throw ConfigError(file: file, field: field, expected: "true or false", found: "nothing (missing key)")
        }
        guard let n = value as? NSNumber, JSONValues.isBoolean(n) else {
            throw ConfigError(file: file, field: field, expected: "true or false", found: "\(value)")
        }
        return n.boolValue
    }

    func ints(_ value: Any?, _ field: String) throws -> [Int] {
        guard let list = value as? [Any] else {
            throw ConfigError(file: file, field: field, expected: "a list of integers", found: "\(value ?? "nothing")")
        }
        return try list.enumerated().map { try int($0.element, "\(field)[\($0.offset)]") }
    }

    func bools(_ value: Any?, _ field: String) throws -> [Bool] {
        guard let list = value as? [Any] else {
            throw ConfigError(file: file, field: field, expected: "a list of booleans", found: "\(value ?? "nothing")")
        }
        return try list.enumerated().map { try bool($0.element, "\(field)[\($0.offset)]") }
    }
}

extension UNetConfig {
    /// Whether level `level` (resolution ÷ 2^level) has attention after its ResBlocks.
    public func attends(level: Int) -> Bool { level < attentionLevels.count && attentionLevels[level] }
}
