import Foundation
import Formats

/// A JSON object as Foundation reads and writes it.
public typealias JSONObject = [String: Any]

/// Deterministic JSON files (sorted keys, so equal results are equal bytes), written atomically.
public enum JSONFile {
    public static func write(_ object: Any, to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data) + [10], to: path)
    }

    public static func read(_ path: String) throws -> JSONObject {
        let bytes = try AtomicFile.read(path)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? JSONObject else {
            throw FormatError(file: path, field: "(file)", expected: "a JSON object", found: "unparseable text")
        }
        return object
    }

    /// A finite Double for JSON (NaN and infinity are not JSON): non-finite → NSNull.
    public static func number(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
}

extension Dictionary where Key == String, Value == Any {
    /// A numeric field of a unit result (NSNull → NaN).
    public func double(_ key: String) -> Double { (self[key] as? NSNumber)?.doubleValue ?? .nan }
}
