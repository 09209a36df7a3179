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

extension FormatError {
    /// The finite check for values read from a file: throws naming the file, the field and the
    /// first non-finite element (``FiniteCheck`` is the same check for computed tensors).
    public static func requireFinite<S: Collection>(_ values: S, file: String, field: String) throws
    where S.Element: BinaryFloatingPoint {
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw FormatError(
                file: file, field: field, expected: "finite values",
                found: "\(values[bad]) at element \(values.distance(from: values.startIndex, to: bad))")
        }
    }
}
