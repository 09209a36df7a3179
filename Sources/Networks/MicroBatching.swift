import Tensors

/// How a network evaluation over a large batch is cut into micro-batches.
///
/// Evaluating a batch of 1000 layer by layer streams every activation (33 MB for a
/// (1000, 32, 16, 16) map) through main memory once per element-wise op: GroupNorm, SiLU, the
/// residual adds, the copies of concat and the Winograd tile transforms together take longer
/// than the GEMMs. Running the whole network over micro-batches of a few dozen samples keeps a
/// block's activations in the cores' caches instead (and the recorded graph 15× smaller).
/// Each micro-batch runs on one thread with its inner loops serial (``Parallel/serially(_:)``);
/// the threads take whole micro-batches.
///
/// Determinism: the cut depends only on the batch (``samples``), never on the thread count, so
/// every result is bitwise the same for any thread count. Every op of an architecture with
/// ``ScoreArchitecture/samplesAreIndependent`` is per sample, so ε̂ of a sample equals its
/// whole-batch value up to float32 rounding (a GEMM over fewer rows may take other kernel
/// paths: ≤ 1e-5 of the output scale, tested), not bit for bit. Gradients are sums over
/// samples: each of a fixed number of ``groups`` adds its micro-batches' gradients in order,
/// and the groups are added in group order — the whole-batch gradient up to the order of the
/// sum (docs/DIVERGENCES.md).
public struct MicroBatching: Sendable, Equatable {
    /// Samples per micro-batch (the last one may be smaller).
    public let samples: Int

    /// Gradient accumulators, each owning a contiguous run of micro-batches. Fixed, so that the
    /// summation order never depends on the thread count; 8 keeps 2–8 threads busy.
    public static let groups = 8

    /// A cut into micro-batches of `samples`; `samples` must be positive.
    public init(samples: Int) {
        precondition(samples > 0, "micro-batch size must be positive")
        self.samples = samples
    }

    /// The default cut for an architecture: 64 samples. Measured with `sad bench --micro-batch
    /// N` (2 cores, batch 1000 / 500; docs/PERFORMANCE.md): 64 was the fastest or within noise
    /// of the fastest for every benchmarked network — U-Net 1×16×16, 1×28×28 and 3×32×32, DiT/2
    /// and DiT/4 — while 8 and 128 were slower for the 1×16×16 U-Net. Below about 32 samples
    /// the per-op overheads (graph nodes, small GEMMs) outweigh the cache gain.
    public static func `default`(for architecture: any ScoreArchitecture) -> MicroBatching {
        MicroBatching(samples: 64)
    }

    /// No cut: every op runs over the whole batch at once.
    public static let wholeBatch = MicroBatching(samples: Int.max)

    /// The cut a `--micro-batch N` option asks for: micro-batches of `samples`, or the whole
    /// batch at once for 0 (the caller has range-checked `samples` ≥ 0).
    public static func option(_ samples: Int) -> MicroBatching {
        samples == 0 ? .wholeBatch : MicroBatching(samples: samples)
    }

    /// The micro-batches of a batch of `n`: ⌈n / samples⌉ contiguous sample ranges in order,
    /// of sizes that differ by at most one (1000 at 64 → 16 of 62–63), so that no tail
    /// micro-batch falls below the size where a convolution switches algorithm (Winograd at
    /// ≥ 8 samples) while the others run above it.
    public func ranges(_ n: Int) -> [Range<Int>] {
        guard n > 0 else { return [] }
        let k = (n - 1) / samples + 1
        return (0..<k).map { (($0 * n) / k)..<((($0 + 1) * n) / k) }
    }
}

extension ScoreArchitecture {
    public var samplesAreIndependent: Bool { false }
}

extension ScoreNetwork {
    /// ε̂(x, t) over micro-batches: the whole-batch evaluation up to float32 rounding.
    func epsilonMicroBatched(_ x: Tensor, timesteps: [Float], cut: MicroBatching) -> Tensor {
        let n = x.shape[0]
        let ranges = cut.ranges(n)
        let d = n == 0 ? 0 : x.count / n
        var out = Tensor(uninitialized: x.shape)  // (N, C, H, W); every row written by its micro-batch
        out.data.withUnsafeMutableBufferPointer { o in
            let shared = SharedPointer(o.baseAddress!)
            Parallel.forEach(ranges.count) { c in
                let r = ranges[c]
                let y = Parallel.serially {
                    epsilonWholeBatch(Concat.slice(x, axis: 0, range: r), timesteps: Array(timesteps[r]))
                }
                y.data.withUnsafeBufferPointer { src in
                    (shared.base + r.lowerBound * d).update(from: src.baseAddress!, count: src.count)
                }
            }
        }
        return out
    }

    /// The DSM loss and gradients over micro-batches: each micro-batch's loss is weighted by
    /// its share of the batch, m_c / N, so the sum is the whole batch's mean.
    func lossAndGradientsMicroBatched(
        xt: Tensor, timesteps: [Float], target: Tensor, cut: MicroBatching
    ) -> (loss: Float, prediction: Tensor, gradients: [String: Tensor]) {
        let n = xt.shape[0]
        let ranges = cut.ranges(n)
        let groups = min(MicroBatching.groups, ranges.count)
        let d = n == 0 ? 0 : xt.count / n
        var prediction = Tensor(uninitialized: xt.shape)  // (N, C, H, W); every row written below
        var groupLoss = [Double](repeating: 0, count: groups)
        var groupGradients = [[String: Tensor]](repeating: [:], count: groups)
        prediction.data.withUnsafeMutableBufferPointer { p in
            groupLoss.withUnsafeMutableBufferPointer { l in
                groupGradients.withUnsafeMutableBufferPointer { g in
                    let out = SharedPointer(p.baseAddress!), losses = SharedPointer(l.baseAddress!)
                    let grads = SharedPointer(g.baseAddress!)
                    Parallel.forEach(groups) { group in
                        // Group `group` owns micro-batches [c0, c1): a contiguous run, in order.
                        let c0 = group * ranges.count / groups, c1 = (group + 1) * ranges.count / groups
                        let bindings = ParameterBindings(parameters, requiringGradients: true)
                        var loss = 0.0
                        Parallel.serially {
                            for r in ranges[c0..<c1] {
                                let y = architecture.forward(
                                    Variable(Concat.slice(xt, axis: 0, range: r)), timesteps: Array(timesteps[r]),
                                    parameters: bindings)
                                let l = mse(y, Variable(Concat.slice(target, axis: 0, range: r)))
                                let weight = Float(r.count) / Float(n)
                                // Leaf gradients add up across the group's backward sweeps.
                                l.backward(seed: Tensor(repeating: weight, shape: l.value.shape))
                                loss += Double(l.value.scalarValue) * Double(weight)
                                y.value.data.withUnsafeBufferPointer { src in
                                    (out.base + r.lowerBound * d).update(from: src.baseAddress!, count: src.count)
                                }
                            }
                        }
                        losses.base[group] = loss
                        grads.base[group] = bindings.gradients(parameters)
                    }
                }
            }
        }
        // The groups' gradients added in group order.
        var gradients = groupGradients[0]
        for group in 1..<groups {
            for (name, g) in groupGradients[group] { gradients[name]!.add(g) }
        }
        return (Float(groupLoss.reduce(0, +)), prediction, gradients)
    }
}
