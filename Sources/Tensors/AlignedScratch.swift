/// Uninitialised Float scratch on 64-byte (cache-line) boundaries, for buffers that C kernels
/// read and write in whole 16-lane vectors.
///
/// A Swift array's elements start 32 bytes into a 16-byte-aligned heap block, so a vector
/// access to them crosses a cache line as often as not: measured alone (one core, 4 images
/// of 32 channels), the Winograd input transform of a 16×16 plane took 77 ns into V on a
/// 64-byte boundary and 100 ns into V 16 bytes past one.
enum AlignedScratch {
    /// Bytes of alignment: one cache line, which is also one 16-float vector.
    static let alignment = 64

    /// Runs `body` on `count` uninitialised floats starting on a cache line; the memory is
    /// freed when it returns, so `body` must not let the pointer escape.
    static func withFloats<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        precondition(count >= 0, "scratch of \(count) floats")
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: alignment)
        defer { raw.deallocate() }
        return try body(raw.bindMemory(to: Float.self, capacity: max(count, 1)))
    }
}
