/// An error in a file a user supplied: names the file, the field, what was expected and
/// what was found. Readers throw it instead of trapping, whatever the bytes are.
public struct FormatError: Error, CustomStringConvertible, Equatable, Sendable {
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
