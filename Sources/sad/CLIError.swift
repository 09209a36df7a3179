import ArgumentParser
import Formats
import Foundation
import Tensors

/// Maps the library's own errors to the command line's words: a ``SettingError`` names a
/// library setting (`chunkSize`), the user typed a flag (`--chunk-size`).
enum CLIError {
    /// Library setting → flag, where the flag is not the kebab-case of the setting.
    static let flags: [String: String] = ["initScheme": "--init-scheme", "seeds": "--seeds", "data": "--data"]

    static func flag(for setting: String) -> String {
        if let f = flags[setting] { return f }
        var out = "--"
        for c in setting {
            if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
        }
        return out
    }

    /// The error as the user should see it.
    static func translate(_ error: Error) -> Error {
        if let e = error as? SettingError {
            return Message(text: "\(flag(for: e.setting)): expected \(e.expected), found \(e.found)")
        }
        return error
    }

    struct Message: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }
}

/// Process-wide settings read from the environment, checked before any command runs.
enum Environment {
    /// `SAD_THREADS` must be an integer in 1…1024 when set (an unparseable value is an error,
    /// not silently the core count).
    static func validate() throws {
        let env = ProcessInfo.processInfo.environment
        if let raw = env["SAD_THREADS"] {
            guard let n = Int(raw.trimmingCharacters(in: .whitespaces)), (1...1024).contains(n) else {
                throw CLIError.Message(text: "SAD_THREADS: expected an integer in 1…1024, found '\(raw.prefix(40))'")
            }
            Parallel.threadCount = n
        }
        if let raw = env["SAD_MAX_MEMORY_MB"] {
            guard let n = Int(raw), n >= 1, n <= 1 << 30 else {
                throw CLIError.Message(
                    text: "SAD_MAX_MEMORY_MB: expected an integer in 1…\(1 << 30), found '\(raw.prefix(40))'")
            }
        }
    }
}
