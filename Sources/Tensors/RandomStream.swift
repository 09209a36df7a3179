import CKernels

/// What a stream of random numbers is for. Streams with different purposes never overlap,
/// so adding, say, more probe draws can never change the network initialisations.
public struct RandomPurpose: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let initialization = RandomPurpose(rawValue: 1)
    public static let timestep = RandomPurpose(rawValue: 2)
    public static let probe = RandomPurpose(rawValue: 3)
    public static let data = RandomPurpose(rawValue: 4)
    public static let shuffle = RandomPurpose(rawValue: 5)
    public static let noise = RandomPurpose(rawValue: 6)
    public static let sampling = RandomPurpose(rawValue: 7)
    public static let projections = RandomPurpose(rawValue: 8)
    /// Draws made by experiment recipes themselves (random orthogonal W, SGD in Fig. 4).
    public static let experiment = RandomPurpose(rawValue: 9)
    /// The Gaussian test matrix of a matrix-free geometry sketch.
    public static let sketch = RandomPurpose(rawValue: 10)
    public static let test = RandomPurpose(rawValue: 0xFFFF_FFFF)

    public var description: String {
        switch rawValue {
        case 1: return "initialization"
        case 2: return "timestep"
        case 3: return "probe"
        case 4: return "data"
        case 5: return "shuffle"
        case 6: return "noise"
        case 7: return "sampling"
        case 8: return "projections"
        case 9: return "experiment"
        case 10: return "sketch"
        default: return "purpose(\(rawValue))"
        }
    }
}

/// A reproducible stream of random numbers keyed by (seed, purpose, index).
///
/// Philox blocks are generated eight at a time (by the vectorised C kernel
/// `sad_philox_fill`; `Philox.block` is the scalar reference), and element `i` of the stream is
///   word ⌊(i mod 32)/8⌋ of block 8·⌊i/32⌋ + (i mod 8),
/// so that a group of 32 elements is four contiguous 8-lane vector stores. Each block has
///   key     = (seed low 32 bits, seed high 32 bits)
///   counter = (block, purpose, index low 32 bits, index high 32 bits).
/// `index` is the unit of work (network number, sample number, step, …). Because every
/// element is a pure function of its position, filling a range gives the same numbers
/// whatever chunking or thread count produced it. A stream holds 2³⁴ values.
public struct RandomStream: Sendable, Hashable {
    public let seed: UInt64
    public let purpose: RandomPurpose
    public let index: UInt64

    public init(seed: UInt64, purpose: RandomPurpose, index: UInt64 = 0) {
        self.seed = seed
        self.purpose = purpose
        self.index = index
    }

    @usableFromInline var key: Philox.Key {
        Philox.Key(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// Philox block `block` of this stream.
    public func block(_ block: UInt32) -> SIMD4<UInt32> {
        Philox.block(
            counter: SIMD4(
                block, purpose.rawValue, UInt32(truncatingIfNeeded: index),
                UInt32(truncatingIfNeeded: index >> 32)), key: key)
    }

    /// Raw 32-bit words `offset ..< offset + out.count` of the stream.
    public func fillBits(_ out: UnsafeMutableBufferPointer<UInt32>, offset: Int = 0) {
        for i in 0..<out.count { out[i] = word(at: offset + i) }
    }

    /// The raw word at stream position `position` (scalar; see the layout above).
    public func word(at position: Int) -> UInt32 {
        let group = position / 32, within = position % 32
        return block(UInt32(8 * group + within % 8))[within / 8]
    }

    /// Uniform Float32 in the open interval (0, 1): (top 23 bits + ½)·2⁻²³.
    public func fillUniform(_ out: UnsafeMutableBufferPointer<Float>, offset: Int = 0) {
        fill(out, offset: offset, mode: 0, mean: 0, std: 1)
    }

    /// Standard normal Float32 by Box–Muller on pairs of uniforms: words (0, 1) of a block
    /// give the normals at the positions of words 0 and 1, words (2, 3) those of words 2
    /// and 3. `u ∈ (0, 1)` keeps log finite.
    public func fillNormal(
        _ out: UnsafeMutableBufferPointer<Float>, offset: Int = 0,
        mean: Float = 0, std: Float = 1
    ) {
        fill(out, offset: offset, mode: 1, mean: mean, std: std)
    }

    /// Convenience: `count` uniforms from the start of the stream.
    public func uniforms(_ count: Int, offset: Int = 0) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            fillUniform(buf, offset: offset); n = count
        }
    }

    /// Convenience: `count` standard normals from the start of the stream.
    public func normals(_ count: Int, offset: Int = 0, mean: Float = 0, std: Float = 1) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            fillNormal(buf, offset: offset, mean: mean, std: std); n = count
        }
    }

    /// A tensor of iid N(mean, std²).
    public func normalTensor(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        Tensor(shape: shape, data: normals(Tensor.elementCount(shape), mean: mean, std: std))
    }

    /// A tensor of iid U(low, high).
    public func uniformTensor(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        let u = uniforms(Tensor.elementCount(shape))
        return Tensor(shape: shape, data: u.map { low + (high - low) * $0 })
    }

    /// Uniform integer in 0..<bound for element `position` (multiply-shift; bias ≤ bound/2³²).
    public func integer(below bound: Int, at position: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max))
        return Int((UInt64(word(at: position)) &* UInt64(bound)) >> 32)
    }

    // MARK: - Internals

    /// Calls the vectorised C kernel for every group of 32 elements covering
    /// `offset ..< offset + out.count`; partial groups at either end go through a
    /// 32-element scratch buffer.
    func fill(_ out: UnsafeMutableBufferPointer<Float>, offset: Int, mode: Int32, mean: Float, std: Float) {
        precondition(offset >= 0, "negative stream offset")
        let n = out.count
        guard n > 0, let base = out.baseAddress else { return }
        let firstGroup = offset / 32, lastGroup = (offset + n - 1) / 32
        precondition(lastGroup < Int(UInt32.max / 8), "random stream exhausted (2³⁴ values)")
        let k = key, c1 = purpose.rawValue
        let c2 = UInt32(truncatingIfNeeded: index), c3 = UInt32(truncatingIfNeeded: index >> 32)
        var scratch = [Float](repeating: 0, count: 32)
        var g = firstGroup
        while g <= lastGroup {
            let start = g * 32 - offset  // position of the group's element 0 in `out`
            if start >= 0 && start + 32 <= n {
                // As many whole groups as fit, straight into the output.
                let whole = (n - start) / 32
                sad_philox_fill(c1, c2, c3, k[0], k[1], UInt64(g), whole, mode, mean, std, base + start)
                g += whole
            } else {
                scratch.withUnsafeMutableBufferPointer { s in
                    sad_philox_fill(c1, c2, c3, k[0], k[1], UInt64(g), 1, mode, mean, std, s.baseAddress!)
                }
                for e in max(0, -start)..<min(32, n - start) { base[start + e] = scratch[e] }
                g += 1
            }
        }
    }
}
