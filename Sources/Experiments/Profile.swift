/// How big a recipe runs.
/// * `quick` — seconds to minutes on 2 cores; tiny settings, used by the tests; shows the
///   machinery, not the effect.
/// * `cpu` — a faithful reduced scale that shows the effect in hours on 2 cores (each recipe
///   states its settings in the run manifest and report).
/// * `paper` — the paper's settings (Table 1, Appendix A: 10k samples, 64·D projections,
///   5 seeds, 1M networks per geometry, 1000 sampling steps).
public enum Profile: String, CaseIterable, Codable, Sendable {
    case quick, cpu, paper
}
