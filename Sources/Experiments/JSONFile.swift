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

/// Codable values as the Foundation objects a JSONObject holds (until results are typed
/// end to end): snake_case keys, nil fields left out.
public enum JSONCoding {
    public static func object<T: Encodable>(_ value: T) throws -> Any {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return try JSONSerialization.jsonObject(with: encoder.encode(value), options: [.fragmentsAllowed])
    }

    public static func decode<T: Decodable>(_ type: T.Type, from object: Any) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(
            type, from: JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]))
    }

    /// The same for a value read from `file`: a mismatch is a FormatError naming the field
    /// (its coding path), what was expected and what was found.
    public static func decode<T: Decodable>(_ type: T.Type, from object: Any, file: String) throws -> T {
        do { return try decode(type, from: object) } catch let error as DecodingError {
            func field(_ path: [CodingKey], _ key: CodingKey? = nil) -> String {
                let keys = (path + (key.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }
                return keys.isEmpty ? "(file)" : keys.joined(separator: ".")
            }
            switch error {
            case let .keyNotFound(key, context):
                throw FormatError(
                    file: file, field: field(context.codingPath, key), expected: "a value of \(T.self)",
                    found: "nothing")
            case let .typeMismatch(expected, context):
                throw FormatError(
                    file: file, field: field(context.codingPath), expected: "\(expected)",
                    found: context.debugDescription)
            case let .valueNotFound(expected, context):
                throw FormatError(
                    file: file, field: field(context.codingPath), expected: "\(expected)", found: "null")
            case let .dataCorrupted(context):
                throw FormatError(
                    file: file, field: field(context.codingPath), expected: "a valid \(T.self)",
                    found: context.debugDescription)
            @unknown default:
                throw FormatError(file: file, field: "(file)", expected: "a valid \(T.self)", found: "\(error)")
            }
        }
    }
}
