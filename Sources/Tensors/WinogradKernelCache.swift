import Foundation

/// Winograd-transformed kernels U (16, O, C) (``WinogradConv/transformWeights(_:outChannels:channels:)``),
/// kept per weight buffer so that the micro-batches of one step (``MicroBatching``: 16 per U-Net
/// 1x16x16 step at batch 1000), and the ∂x pass of each of them, transform each kernel once
/// instead of once per call.
///
/// Soundness: an entry is keyed by the address of the weight tensor's storage and holds a
/// reference to that storage. While the entry lives the buffer cannot be freed (so its address
/// cannot be reused by other weights), and any write through another reference copies it first
/// (copy-on-write: the buffer is not uniquely referenced), so the same address always means the
/// same values. A hit returns exactly what the transform would compute (it is a pure function),
/// so results never depend on the cache.
///
/// Memory: bounded by ``capacity`` floats (transformed kernels plus the weights they pin); the
/// least recently used entries go first. Thread-safe: the micro-batches run on several threads.
final class WinogradKernelCache: @unchecked Sendable {
    /// The cache every convolution uses.
    static let shared = WinogradKernelCache(capacity: 8 << 20)

    /// Most floats held (32 MiB at 8 Mi): every 3×3 kernel of the U-Nets of configs/ at once —
    /// forward and flipped — for the 1x16x16 and 1x28x28 networks.
    let capacity: Int

    private struct Key: Hashable {
        let address: UInt
        let outChannels: Int, channels: Int
        /// The flipped, channel-swapped kernel of ∂x (``Conv2d/flippedTransposedKernel(_:)``).
        let flipped: Bool
    }

    private struct Entry {
        /// (O, C, 3, 3), held so that its buffer outlives the entry's key.
        let weights: [Float]
        /// (16, O′, C′).
        let kernels: [Float]
        var lastUse: UInt64
        var floats: Int { weights.count + kernels.count }
    }

    private var entries: [Key: Entry] = [:]
    private var held = 0
    private var clock: UInt64 = 0
    private let lock = NSLock()

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// U (16, O, C) of `weight` (O, C, 3, 3), or with `flipped` U (16, C, O) of its flipped,
    /// channel-swapped kernel.
    func kernels(_ weight: Tensor, flipped: Bool) -> [Float] {
        precondition(weight.shape.count == 4 && weight.shape[2] == 3 && weight.shape[3] == 3)
        let o = weight.shape[0], c = weight.shape[1]
        let address = weight.data.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let key = Key(address: address, outChannels: o, channels: c, flipped: flipped)
        if let hit = lookUp(key) { return hit }
        let source = flipped ? Conv2d.flippedTransposedKernel(weight) : weight
        let u = source.data.withUnsafeBufferPointer {
            WinogradConv.transformWeights(
                $0.baseAddress!, outChannels: source.shape[0], channels: source.shape[1])
        }
        insert(key, Entry(weights: weight.data, kernels: u, lastUse: 0))
        return u
    }

    /// Entries held now (for tests).
    var count: Int { lock.withLock { entries.count } }

    private func lookUp(_ key: Key) -> [Float]? {
        lock.withLock {
            guard var entry = entries[key] else { return nil }
            clock += 1
            entry.lastUse = clock
            entries[key] = entry
            return entry.kernels
        }
    }

    private func insert(_ key: Key, _ entry: Entry) {
        guard entry.floats <= capacity else { return }
        lock.withLock {
            var entry = entry
            clock += 1
            entry.lastUse = clock
            if let old = entries.updateValue(entry, forKey: key) { held -= old.floats }
            held += entry.floats
            while held > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                held -= oldest.value.floats
                entries.removeValue(forKey: oldest.key)
            }
        }
    }
}
