import Tensors

/// The machine's measured memory bandwidth, the reference for memory-bound kernels as the
/// sgemm peak is for compute-bound ones: STREAM's copy (b = a) and triad (a = b + s·c) over
/// arrays far larger than any cache, on one core and on every thread (each thread its own
/// contiguous slice, as our batch-parallel loops work).
///
/// Bytes are counted the way STREAM counts them: 2 × 4 bytes per copied element and
/// 3 × 4 per triad element. The write-allocate read of the destination that a cache
/// without streaming stores also makes is not counted, so a kernel that reads n bytes and
/// writes n bytes can reach 100% of the copy figure, not more.
public enum MemoryBandwidth {
    public struct Result: Sendable, Equatable {
        /// GB/s (10⁹ bytes per second) of the copy and triad kernels.
        public var copy: Double
        public var triad: Double
    }

    /// Floats per array: 64 MiB, beyond the last-level cache of any machine we run on (so
    /// that the figure is DRAM's), while three of them stay a bounded 192 MiB.
    public static let defaultCount = 1 << 24

    /// Best-of-`repetitions` copy and triad rates on `threads` threads, over arrays of
    /// `count` floats (≥ 1024 · threads).
    public static func measure(threads: Int, repetitions: Int, count: Int = defaultCount) -> Result {
        precondition(threads >= 1 && count >= 1024 * threads, "MemoryBandwidth: \(count) floats for \(threads) threads")
        var a = [Float](repeating: 1, count: count)
        var b = [Float](repeating: 2, count: count)
        var c = [Float](repeating: 3, count: count)
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        // Each thread's slice, whole 1024-float blocks but the last.
        let slice = (count / threads) / 1024 * 1024
        func bounds(_ t: Int) -> Range<Int> { t * slice..<(t == threads - 1 ? count : (t + 1) * slice) }
        var copySeconds = 0.0, triadSeconds = 0.0
        a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    let sa = SharedPointer(pa.baseAddress!), sb = SharedPointer(pb.baseAddress!)
                    let sc = SharedPointer(pc.baseAddress!)
                    copySeconds = Stopwatch.best(repetitions: repetitions) {
                        Parallel.forEach(threads) { t in
                            for i in bounds(t) { sb.base[i] = sa.base[i] }
                        }
                    }
                    triadSeconds = Stopwatch.best(repetitions: repetitions) {
                        Parallel.forEach(threads) { t in
                            for i in bounds(t) { sa.base[i] = sb.base[i] + 3 * sc.base[i] }
                        }
                    }
                }
            }
        }
        // Keep the stores observable, so that no loop can be dropped as dead.
        precondition(a[count - 1].isFinite && b[0].isFinite, "MemoryBandwidth: non-finite result")
        let bytes = Double(count) * Double(MemoryLayout<Float>.size)
        return Result(copy: 2 * bytes / copySeconds / 1e9, triad: 3 * bytes / triadSeconds / 1e9)
    }
}
