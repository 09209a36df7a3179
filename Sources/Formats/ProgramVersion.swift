/// The package version: written into every run identity, manifest and report. A resumed or
/// merged run must have been computed by the same version (its arithmetic may differ).
///
/// 0.3.0: training batches larger than 64 run in micro-batches (``MicroBatching``), which
/// changes the order of the gradient's sum over samples.
///
/// 0.4.0: 3×3 convolutions over 512 to 1,023 output positions use Winograd instead of im2col
/// (``WinogradConv/minimumPositions``), which changes their float32 rounding.
public enum ProgramVersion {
    public static let current = "0.4.0"
}
