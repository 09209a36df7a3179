import Tensors

/// Throughput of the numerical core, reported against the machine's own measured peaks, so
/// the figures travel across machines: compute-bound kernels as a fraction of the sgemm
/// rate on the shapes our networks use, memory-bound ones as a fraction of the measured
/// memory bandwidth (``MemoryBandwidth``).
public struct EngineBenchmark {
    public struct Result: Sendable {
        public var threads: Int
        public var sgemmGFLOPsOneCore: Double
        public var sgemmGFLOPsAllThreads: Double
        public var conv2dForwardGFLOPs: Double
        public var conv2dBackwardGFLOPs: Double
        public var conv2dForwardSeconds: Double
        public var conv2dBackwardSeconds: Double
        public var bandwidthOneCore: MemoryBandwidth.Result
        public var bandwidthAllThreads: MemoryBandwidth.Result
        /// GB/s of the inference SiLU(GroupNorm(x)) over the conv benchmark's activations,
        /// counting one read of x and one write of y.
        public var groupNormSiLUGBs: Double
        public var normalsPerSecondOneCore: Double
        public var eigenSeconds: [(n: Int, float32: Double, float64: Double)]
    }

    public var convBatch = 1000
    public var eigenSizes = [256, 3136]
    public var repetitions = 3
    /// Floats per array of the bandwidth measurement.
    public var bandwidthCount = MemoryBandwidth.defaultCount

    public init() {}

    /// The conv-sized GEMM: (32 × 288) · (288 × 256) — a 32→32 3×3 conv on one 16×16 image.
    static let gemmShape = (m: 32, k: 288, n: 256)

    /// GFLOP/s of back-to-back conv-shaped SGEMMs on `threads` threads (each thread its own
    /// operands, as in our batch-parallel layers).
    public static func sgemmGFLOPs(threads: Int, repetitions: Int) -> Double {
        let (m, k, n) = gemmShape
        let perThread = 400
        let a = RandomStream(seed: 1, purpose: .test, index: 0).normals(m * k)
        let b = RandomStream(seed: 1, purpose: .test, index: 1).normals(k * n)
        var c = [Float](repeating: 0, count: threads * m * n)
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        let seconds = Stopwatch.best(repetitions: repetitions) {
            c.withUnsafeMutableBufferPointer { pc in
                let base = SharedPointer(pc.baseAddress!)
                Parallel.forEach(threads) { t in
                    for _ in 0..<perThread {
                        BLAS.sgemm(
                            .none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n,
                            c: base.base + t * m * n, ldc: n)
                    }
                }
            }
        }
        return 2 * Double(m * n * k) * Double(perThread * threads) / seconds / 1e9
    }

    public func run(log: (String) -> Void = { print($0) }) throws -> Result {
        let threads = Parallel.threadCount
        log("threads: \(threads) (SAD_THREADS or --threads to change); BLAS single-threaded inside")
        let one = Self.sgemmGFLOPs(threads: 1, repetitions: repetitions)
        let all = threads > 1 ? Self.sgemmGFLOPs(threads: threads, repetitions: repetitions) : one
        log(
            String(
                format:
                    "sgemm 32×288·288×256 (conv-shaped): %.1f GFLOP/s on 1 core, %.1f GFLOP/s on %d threads (peak "
                    + "reference)",
                one, all, threads))
        let memOne = MemoryBandwidth.measure(threads: 1, repetitions: repetitions, count: bandwidthCount)
        let memAll =
            threads > 1
            ? MemoryBandwidth.measure(threads: threads, repetitions: repetitions, count: bandwidthCount) : memOne
        log(
            String(
                format:
                    "memory bandwidth (STREAM copy / triad, %.3g MiB arrays): %.1f / %.1f GB/s on 1 core, %.1f / %.1f "
                    + "GB/s on %d threads (bandwidth reference: copy)",
                Double(bandwidthCount * MemoryLayout<Float>.size) / 1_048_576, memOne.copy, memOne.triad, memAll.copy,
                memAll.triad, threads))

        // conv2d 32→32 3×3 pad 1 at 16×16, batch convBatch.
        let x = RandomStream(seed: 2, purpose: .test, index: 0).normalTensor([convBatch, 32, 16, 16])
        let w = RandomStream(seed: 2, purpose: .test, index: 1).normalTensor([32, 32, 3, 3], std: 0.06)
        let bias = Tensor(zeros: [32])
        let geometry = Conv2d.Geometry(input: x.shape, weight: w.shape, stride: 1, padding: 1)
        let flops = geometry.forwardFLOPs(batch: convBatch)
        var y = Tensor(zeros: [1])
        let fwd = Stopwatch.best(repetitions: repetitions) { y = Conv2d.forward(x, weight: w, bias: bias, padding: 1) }
        let dy = RandomStream(seed: 2, purpose: .test, index: 2).normalTensor(y.shape)
        let bwd = Stopwatch.best(repetitions: repetitions) {
            _ = Conv2d.backward(x, weight: w, hasBias: true, padding: 1, dy)
        }
        let fwdG = flops / fwd / 1e9, bwdG = 2 * flops / bwd / 1e9
        log(
            String(
                format:
                    "conv2d 32→32 3×3 16×16 batch %d: forward %.1f GFLOP/s (%.0f ms, %.0f%% of sgemm peak), "
                    + "backward %.1f GFLOP/s (%.0f ms, %.0f%% of peak)",
                convBatch, fwdG, fwd * 1e3, 100 * fwdG / all, bwdG, bwd * 1e3, 100 * bwdG / all))

        // The U-Net's memory-bound op on the same activations: SiLU(GroupNorm(x)), 32 groups,
        // for inference (nothing kept). Its least traffic is one read of x and one write of y;
        // the moments' passes over a group reread it from L1.
        let gamma = RandomStream(seed: 2, purpose: .test, index: 3).normalTensor([32])
        let beta = RandomStream(seed: 2, purpose: .test, index: 4).normalTensor([32])
        let norm = Stopwatch.best(repetitions: repetitions) {
            y = GroupNorm.forward(x, groups: 32, weight: gamma, bias: beta, saving: false, fusedSiLU: true).0
        }
        let normGBs = 2 * Double(x.count * MemoryLayout<Float>.size) / norm / 1e9
        log(
            String(
                format:
                    "SiLU(GroupNorm) 32 groups, (%d, 32, 16, 16), inference: %.1f GB/s (%.1f ms, %.0f%% of the "
                    + "copy bandwidth)",
                convBatch, normGBs, norm * 1e3, 100 * normGBs / memAll.copy))

        // RNG: standard normals on one core.
        let count = 1 << 24
        var buffer = [Float](repeating: 0, count: count)
        let stream = RandomStream(seed: 3, purpose: .test)
        let rng = Stopwatch.best(repetitions: repetitions) {
            buffer.withUnsafeMutableBufferPointer { stream.fillNormal($0) }
        }
        let normalsPerSecond = Double(count) / rng
        log(String(format: "RNG Philox4x32-10 + Box–Muller: %.0f M normals/s on 1 core", normalsPerSecond / 1e6))

        var eig: [(Int, Double, Double)] = []
        for n in eigenSizes {
            // A random symmetric matrix with a spread spectrum (a Wishart-like G_F stand-in).
            let a = RandomStream(seed: 4, purpose: .test, index: UInt64(n)).normals(n * n)
            var s = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in i..<n { let v = Double(a[i * n + j]); s[i * n + j] = v; s[j * n + i] = v } }
            let sf = s.map { Float($0) }
            let reps = n > 1000 ? 1 : repetitions
            var fail: Error?
            let t32 = Stopwatch.best(repetitions: reps, warmUp: n <= 1000) {
                do { _ = try SymmetricEigen<Float>(symmetric: sf, n: n) } catch { fail = error }
            }
            let t64 = Stopwatch.best(repetitions: reps, warmUp: n <= 1000) {
                do { _ = try SymmetricEigen<Double>(symmetric: s, n: n) } catch { fail = error }
            }
            if let fail { throw fail }
            eig.append((n, t32, t64))
            log(
                String(
                    format:
                        "symmetric eigendecomposition n = %d: %.3f s (Float32 ssyevd_work), %.3f s (Float64 "
                        + "dsyevd_work), 1 core",
                    n, t32, t64))
        }
        return Result(
            threads: threads, sgemmGFLOPsOneCore: one, sgemmGFLOPsAllThreads: all,
            conv2dForwardGFLOPs: fwdG, conv2dBackwardGFLOPs: bwdG,
            conv2dForwardSeconds: fwd, conv2dBackwardSeconds: bwd,
            bandwidthOneCore: memOne, bandwidthAllThreads: memAll, groupNormSiLUGBs: normGBs,
            normalsPerSecondOneCore: normalsPerSecond, eigenSeconds: eig)
    }
}
