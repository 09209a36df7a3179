import Formats
import Networks

/// Which matrix a geometry run estimates.
///
/// * `auto` (default): the factored block K when the architecture's output layer is
///   replicated across its output features (``MarginalFactorization``), else the full matrix;
/// * `full`: always the full D×D matrix (validation: the factored estimate must agree);
/// * `factored`: the block K, refused where the structure does not hold.
///
/// Factored and full estimates have the same expectation. For the marginal estimator they are
/// equal per network (to rounding); for the reference and importance estimators the factored
/// one is the full one averaged over the output features (Σ_g P_gᵀ Ĝ P_g / groups): the
/// projection onto the structure that E[Ĝ] has exactly, so it only removes noise.
public enum GeometryStructure: String, CaseIterable, Sendable {
    case auto, full, factored

    public static func parse(_ text: String) throws -> GeometryStructure {
        guard let s = GeometryStructure(rawValue: text) else {
            throw SettingError(
                setting: "structure", expected: allCases.map(\.rawValue).joined(separator: ", "), found: text)
        }
        return s
    }

    /// The factorization a run over `architecture` with `scheme` uses (nil: the full matrix).
    func resolve(_ architecture: any ScoreArchitecture, scheme: InitScheme) throws -> MarginalFactorization? {
        let found = (architecture as? OutputLayerMarginalizable)?.marginalFactorization(scheme: scheme)
        switch self {
        case .full: return nil
        case .auto: return found
        case .factored:
            guard let found else {
                throw SettingError(
                    setting: "structure",
                    expected: "auto or full: the output layer is not replicated across its features here",
                    found: "factored")
            }
            return found
        }
    }

}
