import Foundation

/// Everything that determines a run's numbers, as an ordered list of named fields (the full
/// resolved network config, every option that changes arithmetic, seeds, the identity of the
/// data, the program version), and its SHA-256 over a canonical encoding.
///
/// Every state, checkpoint and sweep file stores both. Resume and merge compare the stored
/// identity with the one of the computation asked for and refuse a mismatch with an error
/// naming the first differing field — never a silent mix of two computations.
public struct RunIdentity: Equatable, Sendable, CustomStringConvertible {
    /// (field, canonical value), in a fixed order.
    public private(set) var fields: [(String, String)]

    public init(_ fields: [(String, String)] = []) { self.fields = fields }

    public static func == (a: RunIdentity, b: RunIdentity) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public mutating func add(_ field: String, _ value: String) { fields.append((field, value)) }
    public mutating func add<T: LosslessStringConvertible>(_ field: String, _ value: T) {
        fields.append((field, value.description))
    }
    public mutating func add(_ field: String, _ value: Double) { fields.append((field, Self.canonical(value))) }

    /// Doubles by their exact bit pattern in a readable form (round-trip decimal).
    public static func canonical(_ v: Double) -> String { "\(v)" }

    /// The canonical text: one `field=value` line per field, `\` and newlines escaped.
    public var canonicalText: String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "\n")
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "=", with: "\\=")
    }

    /// SHA-256 of ``canonicalText``.
    public var hash: String { SHA256.hex(Array(canonicalText.utf8)) }

    public var description: String { "run \(hash.prefix(12))" }

    /// As stored in file metadata: a JSON object {"hash": …, "fields": [[name, value], …]}.
    public var json: String {
        let object: [String: Any] = ["hash": hash, "fields": fields.map { [$0.0, $0.1] }]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads ``json`` back; `file` and `field` name where it came from in errors. The stored hash
    /// must match the stored fields (an edited identity is refused).
    public static func parse(_ text: String?, file: String, field: String) throws -> RunIdentity {
        guard let text else {
            throw FormatError(
                file: file, field: field, expected: "a run identity (written by this version of sad)",
                found: "none (written by an older version or another program: start a new run)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let hash = object["hash"] as? String, let list = object["fields"] as? [Any]
        else {
            throw FormatError(
                file: file, field: field, expected: "a run identity {hash, fields}", found: "unparseable text")
        }
        var identity = RunIdentity()
        for entry in list {
            guard let pair = entry as? [Any], pair.count == 2, let k = pair[0] as? String, let v = pair[1] as? String
            else {
                throw FormatError(
                    file: file, field: field + ".fields", expected: "[name, value] string pairs", found: "\(entry)")
            }
            identity.add(k, v)
        }
        guard identity.hash == hash else {
            throw FormatError(
                file: file, field: field + ".hash",
                expected: "the hash of the stored fields (\(identity.hash.prefix(12)))",
                found: "\(hash.prefix(12)) (the file was edited or corrupted)")
        }
        return identity
    }

    /// Throws unless `stored` (read from `file`) is this identity, naming the first differing field.
    public func require(matches stored: RunIdentity, file: String, action: String) throws {
        guard stored != self else { return }
        let theirs = Dictionary(stored.fields, uniquingKeysWith: { a, _ in a })
        let mine = Dictionary(fields, uniquingKeysWith: { a, _ in a })
        for (k, v) in fields where theirs[k] != v {
            throw RunMismatchError(file: file, action: action, field: k, expected: v, found: theirs[k] ?? "(absent)")
        }
        for (k, v) in stored.fields where mine[k] == nil {
            throw RunMismatchError(file: file, action: action, field: k, expected: "(absent)", found: v)
        }
        throw RunMismatchError(file: file, action: action, field: "(field order)", expected: hash, found: stored.hash)
    }
}

/// Resume or merge met a file of a different computation.
public struct RunMismatchError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let action: String
    public let field: String
    public let expected: String
    public let found: String

    public var description: String {
        "\(file): cannot \(action): it belongs to a different run: \(field): expected \(expected) (this run), "
            + "found \(found)"
            + " — use another output directory or the same settings"
    }
}
