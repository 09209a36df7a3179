import Networks

/// The architectures of the paper's figures, from the built-in reference configs.
public struct Architecture: Hashable, Sendable, CustomStringConvertible {
    public var name: String          // "iddpm-nearest"
    public var configName: String    // "1x16x16-iddpm"
    public var interpolation: Interpolation?
    public var patchSize: Int?

    public static let iddpmNearest = Architecture(name: "iddpm-nearest", configName: "1x16x16-iddpm", interpolation: .nearest)
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

    public static func named(_ name: String) throws -> Architecture {
        guard let a = all.first(where: { $0.name == name }) else {
            throw RecipeError("unknown architecture '\(name)': expected \(all.map(\.name).joined(separator: ", "))")
        }
        return a
    }

    public func config() throws -> NetworkConfig {
        try BuiltinConfigs.load(configName).with(interpolation: interpolation, patchSize: patchSize)
    }

    public var isDiT: Bool { patchSize != nil }
    public var description: String { name }
}
