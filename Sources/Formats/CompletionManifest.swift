import Foundation

/// The completion marker of a multi-file result directory: `complete.json`, written **last**,
/// lists every file of the result with its size and SHA-256. A directory is complete exactly
/// when the marker exists and every listed file is present with its recorded hash; anything
/// else (a kill between two files, a file edited or truncated since) is incomplete, and the
/// caller recomputes it instead of failing on every rerun or reading half a result.
public enum CompletionManifest {
    public static let fileName = "complete.json"

    /// Writes the marker for `files` (names inside `directory`), with the run's identity hash.
    public static func write(directory: String, files: [String], identity: String) throws {
        var entries: [[String: Any]] = []
        for name in files {
            let bytes = try AtomicFile.read(directory + "/" + name)
            entries.append(["file": name, "bytes": bytes.count, "sha256": SHA256.hex(bytes)])
        }
        let object: [String: Any] = ["format": "sad-complete-1", "identity": identity, "files": entries]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data) + [10], to: directory + "/" + fileName)
    }

    /// Whether `directory` holds a complete result (of `identity`, when given).
    public static func isComplete(_ directory: String, identity: String? = nil) -> Bool {
        guard let bytes = try? AtomicFile.read(directory + "/" + fileName),
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            object["format"] as? String == "sad-complete-1", let entries = object["files"] as? [[String: Any]]
        else {
            return false
        }
        if let identity, object["identity"] as? String != identity { return false }
        for entry in entries {
            guard let name = entry["file"] as? String, !name.contains("/"), let hash = entry["sha256"] as? String,
                let content = try? AtomicFile.read(directory + "/" + name), SHA256.hex(content) == hash
            else {
                return false
            }
        }
        return true
    }

    /// Removes the marker (before a result is rewritten).
    public static func invalidate(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory + "/" + fileName)
    }
}
