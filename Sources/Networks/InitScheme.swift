import Formats
import Tensors

/// Initialisation schemes a network can be built with.
public enum InitScheme: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The authors' reference code: PyTorch defaults for the U-Net (nothing zeroed), DiT
    /// with adaLN-Zero but a xavier final linear weight. The default everywhere.
    case reference
    /// Stock iDDPM / DiT: additionally zero the U-Net's last conv of every ResBlock, the
    /// attention projection and the output conv, and the DiT's final linear weight. The
    /// network's output is then identically 0 and its geometry G_F = 0: geometry code must
    /// refuse it.
    case zeroInit = "zero-init"
    /// Reference draws, then every spatial kernel averaged over the 8 symmetries of the
    /// square (dihedral group D4) and every bias zeroed, so the network commutes with flips
    /// and transposes up to boundary effects (the paper's Fig. 3 impulse responses).
    case symmetric

    public var description: String { rawValue }

    /// Parses a user-supplied name, with an error listing the choices.
    public static func parse(_ text: String) throws -> InitScheme {
        guard let scheme = InitScheme(rawValue: text) else {
            throw SettingError(
                setting: "initScheme", expected: allCases.map(\.rawValue).joined(separator: ", "), found: text)
        }
        return scheme
    }
}

extension Tensor {
    /// The average of a (…, k, k) kernel stack over the 8 symmetries of the square.
    func symmetrizedOverSquare() -> Tensor {
        precondition(rank >= 2 && shape[rank - 1] == shape[rank - 2], "square kernels expected, got \(shape)")
        let k = shape[rank - 1]
        let planes = count / (k * k)
        var out = self
        for p in 0..<planes {
            let base = p * k * k
            for i in 0..<k {
                for j in 0..<k {
                    // The orbit of (i, j) under D4: rotations and reflections.
                    let a = k - 1 - i, b = k - 1 - j
                    let orbit = [(i, j), (j, i), (a, j), (i, b), (a, b), (b, a), (j, a), (b, i)]
                    var s: Float = 0
                    for (y, x) in orbit { s += data[base + y * k + x] }
                    out.data[base + i * k + j] = s / 8
                }
            }
        }
        return out
    }
}
