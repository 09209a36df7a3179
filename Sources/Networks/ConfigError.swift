/// An invalid network configuration: names the file, the field (a JSON path such as
/// `diffuser.model.num_heads`), what was expected and what was found.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let field: String
    public let expected: String
    public let found: String

    public init(file: String, field: String, expected: String, found: String) {
        self.file = file
        self.field = field
        self.expected = expected
        self.found = found
    }

    public var description: String { "\(file): \(field): expected \(expected), found \(found)" }
}
