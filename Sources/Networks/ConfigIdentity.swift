import Formats

extension NetworkConfig {
    /// Every field of the resolved configuration (shape, optimiser settings, schedule, every
    /// architecture field of the model block after command-line overrides) as `path = value`
    /// pairs, for run identities. Built by reflection, so that a field added to a config type
    /// can never be left out of the identity; `source` (where the file was) is not part of the
    /// computation and is left out.
    public var identityFields: [(String, String)] {
        var out: [(String, String)] = []
        func walk(_ value: Any, _ path: String) {
            let mirror = Mirror(reflecting: value)
            switch mirror.displayStyle {
            case .struct?, .class?:
                for child in mirror.children {
                    guard let label = child.label, label != "source" else { continue }
                    walk(child.value, path.isEmpty ? label : path + "." + label)
                }
            case .enum? where !mirror.children.isEmpty:
                for child in mirror.children { walk(child.value, path + "." + (child.label ?? "case")) }
            case .optional?:
                if let child = mirror.children.first { walk(child.value, path) } else { out.append((path, "nil")) }
            case .collection?, .tuple?:
                out.append((path, "[" + mirror.children.map { "\($0.value)" }.joined(separator: ", ") + "]"))
            default:
                out.append((path, "\(value)"))
            }
        }
        walk(self, "config")
        return out
    }
}
