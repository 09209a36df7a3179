import Foundation
import Formats
import Networks
import Tensors

/// User-given initialisations for an imported network's initializers: a JSON object from
/// a name or glob pattern (`*` matches any run of characters) to a rule:
/// `fixed` (keep the exported value), `zeros`, `ones`, `uniform:B`, `normal:S`, `truncated-normal:S:B`,
/// `xavier-uniform` or `kaiming-uniform` (PyTorch's default, U(±1/√fan_in)).
/// Exact names win over patterns; among patterns the first in the file that matches.
public struct InitOverrides: Sendable {
    public struct Rule: Sendable {
        public let pattern: String
        public let rule: String

        func initializer(
            shape: [Int], value: [Float], fans: (Int, Int)?
        ) throws
            -> (ParameterInitializer, String, Double?)
        {
            func number(_ prefix: String) throws -> Double {
                guard let v = Double(rule.dropFirst(prefix.count)), v.isFinite, v > 0, v < 1e6 else {
                    throw SettingError(
                        setting: "initOverrides", expected: "\(prefix)X with 0 < X < 10⁶",
                        found: "'\(rule)' for '\(pattern)'")
                }
                return v
            }
            switch rule {
            case "fixed": return (.fixed(Tensor(shape: shape, data: value)), "fixed", nil)
            case "zeros": return (.zeros, "zeros", nil)
            case "ones": return (.ones, "ones", nil)
            case "xavier-uniform", "kaiming-uniform":
                guard let (fi, fo) = fans ?? (shape.count == 1 ? (shape[0], shape[0]) : nil) else {
                    throw SettingError(
                        setting: "initOverrides", expected: "a tensor of rank ≥ 2 for \(rule)",
                        found: "'\(pattern)' of shape \(shape)")
                }
                let b = rule == "xavier-uniform" ? (6 / Double(fi + fo)).squareRoot() : 1 / Double(fi).squareRoot()
                return (.uniform(bound: Float(b)), rule == "xavier-uniform" ? "xavier-uniform" : "uniform", b)
            default:
                if rule.hasPrefix("uniform:") {
                    let b = try number("uniform:")
                    return (.uniform(bound: Float(b)), "uniform", b)
                }
                if rule.hasPrefix("truncated-normal:") {
                    let parts = rule.dropFirst("truncated-normal:".count).split(separator: ":").map { Double($0) }
                    guard parts.count == 2, let sd = parts[0], let b = parts[1], sd > 0, b > 0, sd < 1e6, b < 1e6 else {
                        throw SettingError(
                            setting: "initOverrides", expected: "truncated-normal:S:B with S, B > 0",
                            found: "'\(rule)' for '\(pattern)'")
                    }
                    return (.truncatedNormal(std: Float(sd), bound: Float(b)), "truncated-normal", sd)
                }
                if rule.hasPrefix("normal:") {
                    let s = try number("normal:")
                    return (.normal(std: Float(s)), "normal", s)
                }
                throw SettingError(
                    setting: "initOverrides",
                    expected: "fixed, zeros, ones, uniform:B, normal:S, xavier-uniform or kaiming-uniform",
                    found: "'\(rule)' for '\(pattern)'")
            }
        }
    }

    public let path: String
    public let rules: [Rule]

    /// Reads an override file; every rule is checked here.
    public static func load(_ path: String) throws -> InitOverrides {
        let bytes = try AtomicFile.read(path)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw FormatError(
                file: path, field: "(top level)", expected: "a JSON object {name or pattern: rule}",
                found: "other JSON or invalid text")
        }
        // JSONSerialization does not keep key order: patterns are tried longest first.
        var rules: [Rule] = []
        for key in object.keys.sorted(by: { ($0.count, $0) > ($1.count, $1) }) {
            guard let rule = object[key] as? String else {
                throw FormatError(file: path, field: key, expected: "a rule string", found: "\(type(of: object[key]!))")
            }
            let r = Rule(pattern: key, rule: rule)
            _ = try r.initializer(shape: [2, 2], value: [0, 0, 0, 0], fans: (2, 2))
            rules.append(r)
        }
        guard rules.count <= 100_000 else {
            throw FormatError(
                file: path, field: "(top level)", expected: "at most 100000 rules", found: "\(rules.count)")
        }
        return InitOverrides(path: path, rules: rules)
    }

    func rule(for name: String) -> Rule? {
        rules.first { $0.pattern == name } ?? rules.first { Self.matches(name, $0.pattern) }
    }

    /// Glob match with `*` only.
    static func matches(_ name: String, _ pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return name == pattern }
        var rest = Substring(name)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (i, part) in parts.enumerated().dropFirst() {
            if i == parts.count - 1 { return rest.hasSuffix(part) }
            guard let r = rest.range(of: part) else { return false }
            rest = rest[r.upperBound...]
        }
        return true
    }
}
