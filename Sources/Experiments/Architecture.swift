import Interop
import Networks

/// The architectures of the paper's figures, from the built-in reference configs.
public struct Architecture: Hashable, Sendable, CustomStringConvertible {
    public var name: String  // "iddpm-nearest"
    public var configName: String  // "1x16x16-iddpm"
    public var interpolation: Interpolation?
    public var patchSize: Int?
    /// An imported network instead of a config: its ONNX files and init overrides, and the
    /// graph and init hashes that identify it (in the recipe's settings, hence the sweep identity).
    public var onnx: [String]?
    public var initOverrides: String?
    public var importedIdentity: String?

    public static let iddpmNearest = Architecture(
        name: "iddpm-nearest", configName: "1x16x16-iddpm", interpolation: .nearest)
    public static let iddpmArea = Architecture(name: "iddpm-area", configName: "1x16x16-iddpm", interpolation: .area)
    public static let dit2 = Architecture(name: "dit-p2", configName: "1x16x16-dit", patchSize: 2)
    public static let dit4 = Architecture(name: "dit-p4", configName: "1x16x16-dit", patchSize: 4)
    public static let all = [iddpmNearest, iddpmArea, dit2, dit4]

    public init(name: String, configName: String, interpolation: Interpolation? = nil, patchSize: Int? = nil) {
        self.name = name
        self.configName = configName
        self.interpolation = interpolation
        self.patchSize = patchSize
    }

    /// A built-in architecture by name (imported ones are found in the recipe's own list).
    public static func named(_ name: String) throws -> Architecture {
        guard let a = all.first(where: { $0.name == name }) else {
            throw RecipeError("unknown architecture '\(name)': expected \(all.map(\.name).joined(separator: ", "))")
        }
        return a
    }

    /// The user's network from ONNX exports (≥ 2 instances; see docs/ONNX.md).
    public static func imported(_ files: [String], initOverrides: String?) throws -> Architecture {
        var a = Architecture(name: "onnx", configName: "(onnx)")
        a.onnx = files
        a.initOverrides = initOverrides
        let net = try a.importedNetwork()
        a.importedIdentity = "graph \(net.graphSHA256), init \(net.initSHA256)"
        return a
    }

    func importedNetwork() throws -> ImportedNetwork {
        guard let onnx else { throw RecipeError("architecture \(name) is not imported") }
        return try ImportedNetwork.load(
            onnx, options: ImportOptions(overrides: try initOverrides.map { try InitOverrides.load($0) }))
    }

    /// The network family with its training settings, native or imported.
    public func resolve() throws -> ResolvedArchitecture {
        if onnx != nil { return ResolvedArchitecture(imported: try importedNetwork()) }
        return ResolvedArchitecture(config: try config())
    }

    public var isImported: Bool { onnx != nil }

    public func config() throws -> NetworkConfig {
        try BuiltinConfigs.load(configName).with(interpolation: interpolation, patchSize: patchSize)
    }

    public var isDiT: Bool { patchSize != nil }
    public var description: String { name }
}
