/// The package version: written into every run identity, manifest and report. A resumed or
/// merged run must have been computed by the same version (its arithmetic may differ).
public enum ProgramVersion {
    public static let current = "0.2.0"
}
