// Shape glossary used across the package:
//   N batch, C channels, H/W spatial, D = C·H·W, T tokens, E embedding width.

/// A dense, row-major Float32 tensor.
///
/// Storage is a Swift array, so copies are copy-on-write: `reshaped(_:)` and passing a
/// tensor around never copy the elements until one side mutates them. Accumulations that
/// need more precision (norm statistics, reductions, geometry sums) are done in Float64 by
/// the ops themselves; the stored values stay Float32, like the reference's PyTorch code.
public struct Tensor: Sendable, Equatable {
    /// Extent of every axis, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major (C) order; `data.count == shape.product`.
    public var data: [Float]

    /// Wraps `data` (row-major) as a tensor of `shape`.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(
            Tensor.elementCount(shape) == data.count,
            "shape \(shape) needs \(Tensor.elementCount(shape)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: Tensor.elementCount(shape)))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// A tensor whose elements are unspecified: for kernels that overwrite every element
    /// (it skips zeroing a buffer that is about to be written anyway).
    public init(uninitialized shape: [Int]) {
        self.init(shape: shape) { _ in }
    }

    /// A rank-0 tensor holding one value.
    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// Builds a tensor by calling `body` with an uninitialised buffer of `shape`'s size.
    /// `body` must write every element.
    public init(shape: [Int], unsafeUninitialized body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = Tensor.elementCount(shape)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            body(buffer)
            initialized = n
        }
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Number of axes.
    public var rank: Int { shape.count }
    /// Row-major strides, in elements.
    public var strides: [Int] { Tensor.rowMajorStrides(shape) }

    /// The single value of a one-element tensor.
    public var scalarValue: Float {
        precondition(count == 1, "scalarValue of a tensor with \(count) elements")
        return data[0]
    }

    /// The same elements seen with another shape (no copy). One extent may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: Tensor.resolve(newShape, count: count), data: data)
    }

    /// Element at a multi-index (slow; for tests and diagnostics).
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of bounds for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    // MARK: - Shape arithmetic

    /// Product of the extents (1 for a scalar).
    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides for `shape`.
    public static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = s
            s *= shape[axis]
        }
        return strides
    }

    /// Replaces a single -1 extent so that the shape holds `count` elements.
    static func resolve(_ shape: [Int], count: Int) -> [Int] {
        let unknown = shape.indices.filter { shape[$0] == -1 }
        precondition(unknown.count <= 1, "at most one -1 in reshape, got \(shape)")
        var result = shape
        if let axis = unknown.first {
            let known = shape.enumerated().filter { $0.offset != axis }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(count) elements to \(shape)")
            result[axis] = count / known
        }
        precondition(elementCount(result) == count, "cannot reshape \(count) elements to \(shape)")
        return result
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), data: [\(head)\(count > 8 ? ", …" : "")])"
    }
}

extension Tensor {
    /// Largest absolute elementwise difference (for tests and diagnostics).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }

    /// Euclidean norm, accumulated in Float64.
    public var norm: Double {
        var s = 0.0
        for v in data { s += Double(v) * Double(v) }
        return s.squareRoot()
    }
}
