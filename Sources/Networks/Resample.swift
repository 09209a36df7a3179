import Tensors

/// iDDPM Downsample with conv_resample: "nearest" → Conv3×3 stride 2, pad 1 (size ⌈n/2⌉;
/// output row i reads rows 2i−1…2i+1, so only the top/left border meets padding);
/// "area" → Conv3×3 stride 1, pad 1, then 2×2 average (size ⌊n/2⌋). Parameter: `op`.
struct Downsample {
    let prefix: String
    let channels: Int
    let interpolation: Interpolation

    func specs() -> [ParameterSpec] { LayerSpecs.conv(prefix + ".op", out: channels, in: channels, kernel: 3) }

    func forward(_ x: Variable, _ p: ParameterBindings) -> Variable {
        switch interpolation {
        case .nearest: return p.conv(x, prefix + ".op", stride: 2, padding: 1)
        case .area: return p.conv(x, prefix + ".op", stride: 1, padding: 1).avgPool2x2()
        }
    }
}

/// iDDPM Upsample: ×2 nearest-neighbour (identical to "area" at ×2), then Conv3×3 pad 1.
/// Parameter: `conv`.
struct Upsample2x {
    let prefix: String
    let channels: Int

    func specs() -> [ParameterSpec] { LayerSpecs.conv(prefix + ".conv", out: channels, in: channels, kernel: 3) }

    func forward(_ x: Variable, _ p: ParameterBindings) -> Variable {
        p.conv(x.upsampleNearest2x(), prefix + ".conv", padding: 1)
    }
}
