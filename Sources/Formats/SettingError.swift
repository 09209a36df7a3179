/// An invalid setting handed to the library (a count, a size, a scale): names the setting in
/// the library's own terms (`networks`, `chunkSize`, `checkpointEvery` …), what was expected
/// and what was found. The command-line tool maps the setting to its flag (`--networks`);
/// the library never speaks of flags.
public struct SettingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let setting: String
    public let expected: String
    public let found: String

    public init(setting: String, expected: String, found: String) {
        self.setting = setting
        self.expected = expected
        self.found = found
    }

    public var description: String { "\(setting): expected \(expected), found \(found)" }

    /// Checks `value ∈ range` before any arithmetic uses it.
    public static func check<T: Comparable & CustomStringConvertible>(
        _ value: T, in range: ClosedRange<T>,
        _ setting: String, _ meaning: String = ""
    ) throws {
        guard range.contains(value) else {
            throw SettingError(
                setting: setting, expected: "\(range.lowerBound)…\(range.upperBound)" + meaning, found: "\(value)")
        }
    }

    /// Checks that a floating-point setting is finite and in `range`.
    public static func check(_ value: Double, in range: ClosedRange<Double>, _ setting: String) throws {
        guard value.isFinite, range.contains(value) else {
            throw SettingError(
                setting: setting, expected: "a finite number in \(range.lowerBound)…\(range.upperBound)",
                found: "\(value)")
        }
    }
}
