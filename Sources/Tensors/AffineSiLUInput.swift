import CKernels

/// SiLU(scale · x + shift) with one (scale, shift) per (image, channel) plane — a group norm's
/// affine step and the SiLU after it — applied to a convolution's input as the Winograd input
/// transform takes it (``WinogradConv/forward(_:weight:flippedKernel:bias:_:adding:input:)``),
/// for inference.
///
/// `conv(SiLU(GroupNorm(x)))` otherwise writes the whole activation (2 MiB for a 62-sample
/// micro-batch of (32, 16, 16)) and reads it back; here each channel's planes of a chunk are
/// formed into an L1-sized stage just before their transform. The stage holds exactly what
/// ``groupNormSiLU(_:groups:weight:bias:eps:)`` writes (the same `sad_affine_silu` on the same
/// plane with the same coefficients, ``GroupNorm/affineCoefficients(_:groups:weight:bias:eps:)``),
/// so the convolution's output is bitwise that of the two ops apart.
struct AffineSiLUInput {
    /// (N·C) each, sample-major.
    let scale: [Float]
    let shift: [Float]

    /// The planes of `channel` (of `channels`) of `images` of x (N, C, H·W) → `stage` (m, H·W).
    func stage(
        _ x: UnsafePointer<Float>, images: Range<Int>, channel: Int, channels: Int, planeSize: Int,
        into stage: UnsafeMutablePointer<Float>
    ) {
        for (j, i) in images.enumerated() {
            let plane = i * channels + channel
            sad_affine_silu(x + plane * planeSize, planeSize, scale[plane], shift[plane], nil, stage + j * planeSize)
        }
    }
}
