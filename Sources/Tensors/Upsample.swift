/// Nearest-neighbour ×2 upsampling (`F.interpolate(scale_factor=2, mode="nearest")`):
/// (N, C, H, W) → (N, C, 2H, 2W), out[y][x] = in[⌊y/2⌋][⌊x/2⌋].
/// VJP: the sum of the four upstream gradients of each 2×2 block.
public enum Upsample {
    public static func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "upsample2x expects (N, C, H, W), got \(x.shape)")
        let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        return Tensor(shape: [x.shape[0], x.shape[1], 2 * h, 2 * w]) { o in
            x.data.withUnsafeBufferPointer { p in
                for c in 0..<planes {
                    let src = p.baseAddress! + c * h * w, dst = o.baseAddress! + c * 4 * h * w
                    for y in 0..<(2 * h) {
                        for xx in 0..<(2 * w) { dst[y * 2 * w + xx] = src[(y / 2) * w + xx / 2] }
                    }
                }
            }
        }
    }

    public static func backward(inputShape: [Int], _ dy: Tensor) -> Tensor {
        let planes = inputShape[0] * inputShape[1], h = inputShape[2], w = inputShape[3]
        return Tensor(shape: inputShape) { o in
            dy.data.withUnsafeBufferPointer { g in
                for c in 0..<planes {
                    let src = g.baseAddress! + c * 4 * h * w, dst = o.baseAddress! + c * h * w
                    for y in 0..<h {
                        for xx in 0..<w {
                            let r0 = 2 * y * 2 * w + 2 * xx, r1 = r0 + 2 * w
                            dst[y * w + xx] = (src[r0] + src[r0 + 1]) + (src[r1] + src[r1 + 1])
                        }
                    }
                }
            }
        }
    }
}

extension Variable {
    /// Nearest-neighbour ×2 upsampling.
    public func upsampleNearest2x() -> Variable {
        let shape = value.shape
        return Variable.record(Upsample.forward(value), [self]) { { dy in [Upsample.backward(inputShape: shape, dy)] } }
    }
}
