import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Deterministic parallel loops.
///
/// Work is cut into a fixed list of chunks that does **not** depend on the number of
/// threads; threads pull chunks in any order, but every chunk writes only its own output
/// (or its own partial sum), and partial sums are combined in chunk order afterwards. So a
/// result is bitwise the same for 1, 2 or 64 threads. BLAS stays single-threaded
/// (see ``BLAS/configureSingleThreaded()``): parallelism is ours, over networks and samples.
public enum Parallel {
    /// Threads used by ``forEach(_:_:)``. Defaults to `SAD_THREADS` or the core count.
    nonisolated(unsafe) public static var threadCount: Int = defaultThreadCount()

    static func defaultThreadCount() -> Int {
        if let raw = getenv("SAD_THREADS"), let n = Int(String(cString: raw)), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Whether the loops of this thread run serially: set inside a loop whose bodies are
    /// themselves whole pieces of work (``serially(_:)``), so that their inner loops do not
    /// fan out again. Results do not depend on it (see above).
    @TaskLocal static var isSerial: Bool = false

    /// Runs `body` with every loop it starts on this thread serial. Used by outer loops over
    /// independent pieces of work (e.g. micro-batches of a network evaluation), whose inner
    /// per-op loops would otherwise oversubscribe the cores.
    public static func serially<R>(_ body: () throws -> R) rethrows -> R {
        try $isSerial.withValue(true, operation: body)
    }

    /// Calls `body(i)` once for every `i` in `0..<count`, on up to ``threadCount`` threads.
    /// `body` must only write state owned by index `i`.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let threads = isSerial ? 1 : min(threadCount, count)
        if threads <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        // Static round-robin assignment; determinism does not depend on it (see above).
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                var i = worker
                while i < count {
                    body(i)
                    i += threads
                }
            }
        }
    }

    /// Splits `0..<total` into chunks of at most `chunkSize` (a property of the work, never
    /// of the thread count) and calls `body(chunkIndex, range)` for each.
    public static func forEachChunk(total: Int, chunkSize: Int, _ body: (Int, Range<Int>) -> Void) {
        precondition(chunkSize > 0)
        let chunks = (total + chunkSize - 1) / chunkSize
        forEach(chunks) { c in
            let start = c * chunkSize
            body(c, start..<min(total, start + chunkSize))
        }
    }

    /// Number of chunks ``forEachChunk(total:chunkSize:_:)`` makes.
    public static func chunkCount(total: Int, chunkSize: Int) -> Int { (total + chunkSize - 1) / chunkSize }
}

extension Parallel {
    /// Deterministic parallel sum of per-chunk partial results.
    ///
    /// `body(chunk, range, partial)` adds chunk `chunk`'s contribution (elements `range` of
    /// the work) into `partial`, a zeroed buffer of `resultCount` floats private to that
    /// chunk. The partials are then summed in chunk order, so the result is bitwise the same
    /// for any thread count. Used for weight gradients summed over a batch.
    public static func sumOverChunks(
        total: Int, chunkSize: Int, resultCount: Int,
        _ body: (Int, Range<Int>, UnsafeMutablePointer<Float>) -> Void
    ) -> [Float] {
        let chunks = chunkCount(total: total, chunkSize: chunkSize)
        var result = [Float](repeating: 0, count: resultCount)
        if chunks == 0 || resultCount == 0 { return result }
        var partials = [Float](repeating: 0, count: chunks * resultCount)
        partials.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            forEachChunk(total: total, chunkSize: chunkSize) { c, range in
                body(c, range, base + c * resultCount)
            }
        }
        result.withUnsafeMutableBufferPointer { r in
            partials.withUnsafeBufferPointer { p in
                for c in 0..<chunks {
                    let src = p.baseAddress! + c * resultCount
                    for i in 0..<resultCount { r[i] += src[i] }
                }
            }
        }
        return result
    }
}

/// A pointer that may be shared across the deterministic parallel loops, whose chunks
/// write disjoint elements. (Swift cannot see that disjointness, hence the wrapper.)
public struct SharedPointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}
