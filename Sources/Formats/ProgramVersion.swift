/// The package version: written into every run identity, manifest and report. A resumed or
/// merged run must have been computed by the same version (its arithmetic may differ).
///
/// 0.3.0: training batches larger than 64 run in micro-batches (``MicroBatching``), which
/// changes the order of the gradient's sum over samples.
///
/// 0.4.0: 3×3 convolutions over 512 to 1,023 output positions use Winograd instead of im2col
/// (``WinogradConv/minimumPositions``), which changes their float32 rounding.
///
/// 0.5.0: the Winograd weight gradient's long sums (``WinogradConv/usesDirectGradientGEMM``:
/// 28×28 and 32×32 planes) run in CKernels/GemmNT.c instead of BLAS, in another sum order.
public enum ProgramVersion {
    public static let current = "0.5.0"
}
